package textsplit

import "unicode"

// clusterState follows a text rune by rune to tell where its grapheme
// clusters end, with the rules of Unicode UAX #29 that cover what
// platforms and handsets render as one glyph: CR LF (GB3), controls
// (GB4, GB5), Hangul syllables (GB6-GB8), combining and spacing marks,
// ZWJ and emoji modifiers (GB9, GB9a), ZWJ sequences (GB11, applied to
// whatever follows a ZWJ) and flag pairs (GB12, GB13). Prepended marks
// (GB9b) and Indic conjuncts (GB9c) are not handled: a cut there is the
// one a reader would take for a typo, never a broken glyph in emoji.
type clusterState struct {
	// regional is the number of regional indicators that run up to and
	// include the last rune added.
	regional int
}

func (c *clusterState) add(r rune) {
	if isRegional(r) {
		c.regional++
	} else {
		c.regional = 0
	}
}

// joins reports whether prev, the last rune added, and r belong to one
// grapheme cluster.
func (c *clusterState) joins(prev, r rune) bool {
	if r < 0x300 && prev != zwj { // no mark, joiner or jamo below U+0300
		return prev == '\r' && r == '\n' // GB3
	}
	if isControl(prev) || isControl(r) { // GB4, GB5
		return false
	}
	switch {
	case isExtend(r), r == zwj: // GB9, GB9a
		return true
	case prev == zwj && !unicode.IsSpace(r): // GB11, for any pictograph after a ZWJ
		return true
	case isRegional(r) && c.regional%2 == 1: // GB12, GB13: flags are pairs
		return true
	}
	return hangulJoins(prev, r)
}

// zwj is ZERO WIDTH JOINER, which glues emoji into one (👩‍💻); zwnj is its
// opposite, an Extend character that keeps two letters apart.
const (
	zwj  = '\u200D'
	zwnj = '\u200C'
)

func isRegional(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }

// isExtend reports Grapheme_Cluster_Break Extend or SpacingMark: marks,
// Other_Grapheme_Extend (ZWNJ, halfwidth kana voiced marks...), emoji
// skin-tone modifiers and the tag characters of subdivision flags.
func isExtend(r rune) bool {
	switch {
	case r >= 0x1F3FB && r <= 0x1F3FF, r >= 0xE0020 && r <= 0xE007F:
		return true
	}
	return unicode.Is(unicode.M, r) || unicode.Is(unicode.Other_Grapheme_Extend, r)
}

// isControl reports Grapheme_Cluster_Break Control, CR or LF: a cluster
// of its own. Format characters are, except the joiners, the tags and
// the prepended concatenation marks.
func isControl(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7F && r < 0xA0, r == '\u2028', r == '\u2029':
		return true
	case r < 0xAD, r == zwj, r == zwnj, r >= 0xE0020 && r <= 0xE007F:
		return false
	case r >= 0x600 && r <= 0x605, r == 0x6DD, r == 0x70F, r == 0x890, r == 0x891, r == 0x8E2,
		r == 0x110BD, r == 0x110CD:
		return false // Prepend
	}
	return unicode.Is(unicode.Cf, r)
}

// hangul is a rune's Hangul_Syllable_Type.
type hangul uint8

const (
	hangulNone hangul = iota
	hangulL           // leading consonant jamo
	hangulV           // vowel jamo
	hangulT           // trailing consonant jamo
	hangulLV          // precomposed syllable without a trailing consonant
	hangulLVT         // precomposed syllable with one
)

func hangulType(r rune) hangul {
	switch {
	case r >= 0xAC00 && r <= 0xD7A3:
		if (r-0xAC00)%28 == 0 {
			return hangulLV
		}
		return hangulLVT
	case r >= 0x1100 && r <= 0x115F, r >= 0xA960 && r <= 0xA97C:
		return hangulL
	case r >= 0x1160 && r <= 0x11A7, r >= 0xD7B0 && r <= 0xD7C6:
		return hangulV
	case r >= 0x11A8 && r <= 0x11FF, r >= 0xD7CB && r <= 0xD7FB:
		return hangulT
	}
	return hangulNone
}

// hangulJoins applies GB6-GB8: jamo that compose one syllable.
func hangulJoins(prev, r rune) bool {
	q := hangulType(r)
	switch hangulType(prev) {
	case hangulL:
		return q == hangulL || q == hangulV || q == hangulLV || q == hangulLVT
	case hangulLV, hangulV:
		return q == hangulV || q == hangulT
	case hangulLVT, hangulT:
		return q == hangulT
	}
	return false
}

// sentenceState follows a text rune by rune to tell how good a place to
// end a part each boundary is: after a line break, after a sentence end
// (the last rune other than white space and closing punctuation ended a
// sentence), after breaking white space.
type sentenceState struct {
	started   bool
	lastLine  bool  // the last rune added is a line break
	lastSpace bool  // it is breaking white space
	mark      uint8 // markNone, markLatin or markCJK
}

const (
	markNone uint8 = iota
	// markLatin is . ! ? ; which end a sentence only before white space.
	markLatin
	// markCJK is 。！？； which end one wherever they are.
	markCJK
)

// step returns the rank of the boundary between the last rune added and
// r (r < 0: the end of the text), and adds r.
func (st *sentenceState) step(r rune) uint8 {
	closer := isCloser(r)
	var rank uint8
	switch {
	case !st.started:
	case st.lastLine:
		rank = rankLine
	case st.lastSpace && st.mark != markNone:
		rank = rankSentence
	case st.lastSpace:
		rank = rankSpace
	case st.mark == markCJK && !closer:
		rank = rankSentence // after the mark and any closing quotes
	}
	space := breakingSpace(r)
	st.started, st.lastLine, st.lastSpace = true, isLineBreak(r), space
	switch {
	case space, closer:
		// A sentence ends after its closing quote and the space after.
	case r == '。' || r == '！' || r == '？' || r == '；':
		st.mark = markCJK
	case r == '.' || r == '!' || r == '?' || r == ';':
		st.mark = markLatin
	default:
		st.mark = markNone
	}
	return rank
}

// isCloser reports closing punctuation that belongs to the sentence
// before it: brackets, quotes (」 ” ’ » " ').
func isCloser(r rune) bool {
	switch r {
	case '"', '\'', ')', ']', '}':
		return true
	}
	return r > 0x7F && (unicode.Is(unicode.Pe, r) || unicode.Is(unicode.Pf, r))
}

func isLineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', '\u0085', '\u2028', '\u2029':
		return true
	}
	return false
}

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
