package telegram

import (
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

func TestSplit(t *testing.T) {
	emoji := "😀" // two UTF-16 units
	tests := []struct {
		name  string
		text  string
		limit int
		want  []string
	}{
		{"fits", "hello", 10, []string{"hello"}},
		{"prefers newline", "aaaa bbb\ncc dd", 10, []string{"aaaa bbb", "cc dd"}},
		{"then space", "aaaa bbbbb cc", 10, []string{"aaaa bbbbb", "cc"}},
		{"then sentence end before a later space", "Go on. And b", 10, []string{"Go on.", "And b"}},
		{"hard cut", "abcdefghijkl", 5, []string{"abcde", "fghij", "kl"}},
		{"never splits a surrogate pair", "abcd" + emoji + "ef", 5, []string{"abcd", emoji + "ef"}},
		{"counts emoji as two", emoji + emoji + emoji, 4, []string{emoji + emoji, emoji}},
		{"never splits a flag", "abc🇫🇷", 5, []string{"abc", "🇫🇷"}},
		{"never splits a letter from its accent", "abcde\u0301", 5, []string{"abcd", "e\u0301"}},
		{"only whitespace", " \n ", 5, nil},
		// The break after "a" would leave 13 units: three messages.
		{"a break never costs a message", "aaaaaa bbbbbbbbbbbbb", 10, []string{"aaaaaa bbb", "bbbbbbbbbb"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Split(tc.text, tc.limit)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	long := strings.Repeat("word ", 1000) // 5000 characters
	parts := Split(long, MaxTextUnits)
	if len(parts) != 2 || UnitLen(parts[0]) > MaxTextUnits || strings.Join(parts, " ") != strings.TrimSpace(long) {
		t.Fatalf("5000 characters: %d parts of %d and %d units", len(parts), UnitLen(parts[0]), UnitLen(parts[len(parts)-1]))
	}
}

func FuzzSplit(f *testing.F) {
	f.Add("hello world\nand more 😀😀😀", 5)
	f.Add(strings.Repeat("я😀 ", 50), 7)
	f.Add(strings.Repeat("🇫🇷👩\u200d💻e\u0301 ", 30), 6)
	f.Fuzz(func(t *testing.T, text string, limit int) {
		if limit < 2 || limit > 5000 || !utf8.ValidString(text) {
			return
		}
		for _, p := range Split(text, limit) {
			if p == "" || UnitLen(p) > limit && utf8.RuneCountInString(p) > 1 {
				t.Fatalf("part %q of %d units, limit %d", p, UnitLen(p), limit)
			}
			if u := utf16.Encode([]rune(p)); utf16.IsSurrogate(rune(u[0])) && len(u) == 1 {
				t.Fatalf("lone surrogate in %q", p)
			}
		}
	})
}
