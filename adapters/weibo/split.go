package weibo

import (
	"strings"
	"unicode"
)

// splitFirst cuts text after at most limit runes, preferring the last
// line break, then the last sentence end, then the last space in the
// second half of the window, so that no part ends mid-word when it can
// be helped. first and rest are trimmed of the whitespace at the cut;
// rest is empty when text fits.
func splitFirst(text string, limit int) (first, rest string) {
	text = strings.TrimSpace(text)
	runes := []rune(text)
	if len(runes) <= limit {
		return text, ""
	}
	cut := limit
	floor := limit / 2
	if at := lastBoundary(runes[:limit+1], floor, func(r rune, _ int) bool { return r == '\n' }); at > 0 {
		cut = at
	} else if at := lastBoundary(runes[:limit+1], floor, sentenceEnd(runes)); at > 0 {
		cut = at
	} else if at := lastBoundary(runes[:limit+1], floor, func(r rune, _ int) bool { return unicode.IsSpace(r) }); at > 0 {
		cut = at
	}
	return strings.TrimRightFunc(string(runes[:cut]), unicode.IsSpace), strings.TrimLeftFunc(string(runes[cut:]), unicode.IsSpace)
}

// lastBoundary returns the largest i >= floor with is(window[i]), or 0.
// The cut falls before window[i] (a space or line break, dropped by the
// trim) or, for sentence ends, after it: sentenceEnd reports the rune
// after the punctuation.
func lastBoundary(window []rune, floor int, is func(r rune, i int) bool) int {
	for i := len(window) - 1; i >= floor && i > 0; i-- {
		if is(window[i], i) {
			return i
		}
	}
	return 0
}

// sentenceEnd matches the position right after a full stop, question or
// exclamation mark (Chinese or Latin), so the cut keeps the mark.
// runes must extend past every i asked about.
func sentenceEnd(runes []rune) func(r rune, i int) bool {
	return func(_ rune, i int) bool {
		switch runes[i-1] {
		case '。', '！', '？', '；':
			return true
		case '.', '!', '?', ';':
			// Latin marks only before a space: not in 3.5 or a URL.
			return unicode.IsSpace(runes[i])
		}
		return false
	}
}

// splitAll cuts text into parts of at most limit runes each.
func splitAll(text string, limit int) []string {
	var parts []string
	for rest := text; ; {
		var first string
		first, rest = splitFirst(rest, limit)
		if first != "" {
			parts = append(parts, first)
		}
		if rest == "" {
			return parts
		}
	}
}
