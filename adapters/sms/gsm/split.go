package gsm

import (
	"unicode"
	"unicode/utf8"
)

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
// part. Within that, and never at the price of an extra part:
//   - a part ends after the last breaking whitespace in the final fifth of
//     its capacity, if there is one, so words are not cut;
//   - otherwise it ends at the limit, but not inside a grapheme cluster:
//     combining marks, ZWJ sequences, emoji modifiers, tag sequences,
//     flag pairs and CR LF stay together (a subset of the rules of
//     Unicode UAX #29 that covers what handsets render as one glyph;
//     Hangul jamo and prepended marks are not handled).
//
// When a preferred break would need an extra SMS, Split cuts closer to the
// limit instead: the part count is always the minimum, Analyze's Segments.
func Split(text string) []string {
	info := Analyze(text)
	if info.Segments == 1 {
		return []string{text}
	}
	capacity := info.PerSegment
	minFill := capacity - capacity/5

	// s[k] describes the boundary before rune k; s[n] is the end of text.
	s := scan(text, info.Encoding)
	n := len(s) - 1

	// left[k] (stored in s[k].left) is the fewest parts that can carry
	// text[s[k].off:]: greedy packing is optimal when the order is fixed.
	// The greedy end of a part starting at k only moves left as k does,
	// so one pointer walking down finds them all.
	g := n
	for k := n - 1; k >= 0; k-- {
		for s[g].pre-s[k].pre > capacity {
			g--
		}
		s[k].left = 1 + s[g].left
	}

	parts := make([]string, 0, info.Segments)
	remaining := info.Segments
	g = 0
	for i := 0; i < n; {
		for g < n && s[g+1].pre-s[i].pre <= capacity {
			g++
		}
		if g == n {
			parts = append(parts, text[s[i].off:])
			break
		}
		end := pickBreak(s, i, g, minFill, remaining-1)
		parts = append(parts, text[s[i].off:s[end].off])
		remaining--
		i = end
	}
	return parts
}

// pickBreak chooses where a part that starts at boundary i and can reach
// at most boundary g ends. A boundary j is only eligible if the rest of the
// text still fits in rest parts (s[j].left <= rest); since left never
// grows towards the end, scanning down from g stops at the first boundary
// that is not. g itself is always eligible: it is the greedy choice.
func pickBreak(s []boundary, i, g, minFill, rest int) int {
	grapheme := -1
	for j := g; j > i && s[j].left <= rest; j-- {
		inTail := s[j].pre-s[i].pre >= minFill
		if !inTail && grapheme >= 0 {
			break
		}
		if s[j].flags&noBreak != 0 {
			continue
		}
		if inTail && s[j].flags&afterSpace != 0 {
			return j
		}
		if grapheme < 0 {
			grapheme = j
		}
	}
	if grapheme >= 0 {
		return grapheme
	}
	return g
}

// boundary is the place before one rune of the text.
type boundary struct {
	off   int   // byte offset of the rune in the text
	pre   int   // units of the text before it
	left  int   // fewest parts for the text from here on
	flags uint8 // noBreak, afterSpace
}

const (
	// noBreak marks a boundary inside a grapheme cluster.
	noBreak uint8 = 1 << iota
	// afterSpace marks a boundary right after breaking whitespace.
	afterSpace
)

// scan returns the boundaries before each rune of text plus one at its end,
// with the units before each under enc and where breaking is unwelcome.
func scan(text string, enc Encoding) []boundary {
	s := make([]boundary, 0, utf8.RuneCountInString(text)+1)
	var prev rune = -1
	pre, regional := 0, 0
	for off, r := range text {
		var f uint8
		if prev >= 0 && joins(prev, r, regional) {
			f |= noBreak
		}
		if breakingSpace(prev) {
			f |= afterSpace
		}
		s = append(s, boundary{off: off, pre: pre, flags: f})
		pre += cost(r, enc)
		if isRegional(r) {
			regional++
		} else {
			regional = 0
		}
		prev = r
	}
	return append(s, boundary{off: len(text), pre: pre, flags: afterSpaceIf(prev)})
}

func afterSpaceIf(r rune) uint8 {
	if breakingSpace(r) {
		return afterSpace
	}
	return 0
}

// joins reports whether prev and r belong to one grapheme cluster, given
// the number of regional indicators that run up to and include prev.
func joins(prev, r rune, regional int) bool {
	if r < 0x300 && prev != zwj { // no mark or joiner below U+0300
		return prev == '\r' && r == '\n' // UAX #29 GB3
	}
	switch {
	case unicode.Is(unicode.M, r), r == zwj: // GB9, GB9a
		return true
	case r >= 0x1F3FB && r <= 0x1F3FF: // emoji skin-tone modifiers (Extend)
		return true
	case r >= 0xE0020 && r <= 0xE007F: // tag characters of subdivision flags
		return true
	case prev == zwj: // GB11, for any pictograph after a ZWJ
		return true
	case isRegional(r) && regional%2 == 1: // GB12, GB13: flags are pairs
		return true
	}
	return false
}

// zwj is ZERO WIDTH JOINER, which glues emoji into one (👩‍💻).
const zwj = '\u200D'

func isRegional(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }

// breakingSpace reports whether a line may break after r: Unicode white
// space except the no-break spaces, which exist to keep words together.
func breakingSpace(r rune) bool {
	switch r {
	case ' ', '\n', '\r', '\t', '\v', '\f':
		return true
	case '\u00A0', '\u2007', '\u202F':
		return false
	}
	return r > 0x7F && unicode.IsSpace(r)
}
