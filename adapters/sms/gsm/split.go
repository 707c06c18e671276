package gsm

import "hotline/textsplit"

// Split returns the parts text is sent as: one SMS each, in the encoding
// Choose picks for the whole text, so every part is sent in the same one.
// Joining the parts with "" gives back text byte for byte, invalid UTF-8
// included; whitespace at a break stays at the end of the earlier part.
//
// A text that fits one SMS is returned as a single part; the empty text is
// returned as [""], one empty SMS, matching Analyze's Segments of 1, so
// len(Split(text)) == Analyze(text).Segments for every text.
//
// Each part is at most Analyze(text).PerSegment units. No rune is cut, so
// an extension character's ESC pair and a surrogate pair always stay in one
// part. The parts are cut by package textsplit with its Exact option (see
// textsplit.Splitter) and the units of Units as its measure: within the
// rules above, and never at the price of an extra part,
//   - a part ends after a line break, else after a sentence end, else
//     after breaking whitespace, found in the second half of its capacity,
//     so words are not cut;
//   - otherwise it ends at the limit, but not inside a grapheme cluster:
//     combining marks, ZWJ sequences, emoji modifiers, tag sequences,
//     flag pairs, Hangul syllables and CR LF stay together.
//
// When a preferred break would need an extra SMS, Split cuts closer to the
// limit instead, inside a grapheme cluster if it must (the handset
// reassembles the parts before showing them): the part count is always
// the minimum, Analyze's Segments.
func Split(text string) []string {
	info := Analyze(text)
	if info.Segments == 1 {
		return []string{text}
	}
	enc := info.Encoding
	sp := textsplit.Splitter{Limit: info.PerSegment, Measure: func(r rune) int { return cost(r, enc) }, Exact: true}
	return sp.Split(text)
}
