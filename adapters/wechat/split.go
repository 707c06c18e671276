package wechat

import "hotline/textsplit"

// maxTextBytes is the customer-service API's limit on a text, in bytes
// of UTF-8 (see TextLimit).
const maxTextBytes = 2048

// Split cuts text into messages of at most limit runes and maxTextBytes
// bytes with textsplit's chat rules (see textsplit.Splitter): the fewest
// messages; no rune and no grapheme cluster (an emoji sequence, a flag, a
// letter and its accents) cut unless it alone is over the limit; each
// message ending after a line break, else a sentence end (。！？； or
// . ! ? ; before a space), else a space in its second half when that
// costs no extra message. The white space at a cut and at both ends is
// dropped; text of white space only gives no message.
//
// Both limits are kept with one measure: a rune costs the larger of
// maxTextBytes and limit times its bytes, against limit × maxTextBytes.
// A part of 1- to 3-byte runes (Latin, Chinese) so holds limit runes, as
// 600 × 3 bytes is under 2048; one of 4-byte runes (most emoji) holds
// 2048/4 = 512 of them; a mix of the two may hold a little less than
// both limits allow.
func Split(text string, limit int) []string {
	limit = min(max(limit, 1), 1<<20)
	cost := func(r rune) int { return max(maxTextBytes, limit*textsplit.Bytes(r)) }
	return textsplit.Splitter{Limit: limit * maxTextBytes, Measure: cost}.Split(text)
}
