package weibo

import "hotline/textsplit"

// splitFirst cuts text after at most limit runes, for the passive reply
// that carries only one message: the first part as textsplit's chat rules
// cut it when the rest goes some other way (textsplit.Splitter.Cut), so
// preferring the last line break, then the last sentence end (。！？； or
// . ! ? ; before a space), then the last space in the second half of the
// window, never inside a grapheme cluster. first and rest are trimmed of
// white space; rest is empty when text fits.
func splitFirst(text string, limit int) (first, rest string) {
	return textsplit.Splitter{Limit: limit}.Cut(text)
}

// splitAll cuts text into the fewest parts of at most limit runes each,
// with the same preferences, as long as they cost no extra part
// (textsplit.Splitter.Split); white space at the cuts is dropped.
func splitAll(text string, limit int) []string {
	return textsplit.Splitter{Limit: limit}.Split(text)
}
