package wechat

import (
	"strings"
	"unicode"
)

// Split cuts text into parts of at most limit runes, on character
// boundaries, preferring a line break or a space in the second half of
// each window so that words stay whole when they can. Parts are trimmed
// of the whitespace at each cut.
func Split(text string, limit int) []string {
	var parts []string
	runes := []rune(strings.TrimSpace(text))
	for len(runes) > 0 {
		if len(runes) <= limit {
			parts = append(parts, string(runes))
			break
		}
		cut := limit
		for i := limit; i >= limit/2 && i > 0; i-- {
			if unicode.IsSpace(runes[i]) {
				cut = i
				break
			}
		}
		if p := strings.TrimRightFunc(string(runes[:cut]), unicode.IsSpace); p != "" {
			parts = append(parts, p)
		}
		runes = []rune(strings.TrimLeftFunc(string(runes[cut:]), unicode.IsSpace))
	}
	return parts
}
