package textsplit

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzSplit checks Split's and Cut's promises on any bytes, limit,
// measure and mode (see checkParts): no panic, no part over the limit
// unless it is one rune, no rune cut, no grapheme cluster cut in a chat
// part unless it alone is over the limit, the parts joined give the text
// back (byte for byte with Exact, else but for the white space dropped at
// the cuts and ends), the fewest parts, and among the ways to send that
// many the best cuts (both checked by brute force for texts of up to 400
// runes).
func FuzzSplit(f *testing.F) {
	seeds := []string{
		"",
		" ",
		"hello",
		english,
		english + "\n\n" + english,
		"aaaa bbb\ncc dd",
		rep("这是一句话。", 60),
		rep("客服回复，内容很长。", 30),
		"Say \"stop.\" Now go away. 3.5 is a number; e.g. this.",
		rep("€", 77) + rep("a", 80),
		rep("a", 151) + "€€" + rep("{", 80),
		rep("😀", 34),
		rep("👩\u200d💻 ", 20),
		rep("🇫🇷", 40),
		rep("e\u0301", 50),
		"e" + rep("\u0301", 40),
		rep("السَّلَامُ عَلَيْكُمْ ", 8),
		rep("\u1100\u1161\u11a8한국어 ", 10),
		rep("\xff\xfe", 50),
		rep("a", 66) + "\xf0\x9f\x98" + rep("b", 10),
		rep("\xed\xa0\x80", 30),
		rep(" ", 200),
		rep("\r\n", 90),
		" \u0301" + rep("x ", 20) + " \u0301",
		rep("a\u00a0", 40),
		"\u200d\u200d\n\u0301\u3000。」 ",
	}
	for i, s := range seeds {
		f.Add(s, uint16(10+i*7), uint8(i), i%2 == 0)
	}
	f.Fuzz(func(t *testing.T, text string, limit uint16, measure uint8, exact bool) {
		sp := Splitter{Limit: int(limit % 161), Measure: []Measure{Runes, UTF16, Bytes, smsCost}[measure%4], Exact: exact}
		checkParts(t, sp, text, sp.Split(text))
		checkChoice(t, sp, text)
		checkCut(t, sp, text)
	})
}

// checkCut asserts Cut's promises: the first part fits (or is one rune),
// keeps clusters whole as a chat part does, and first and rest give the
// text back (with Exact byte for byte, else but for white space).
func checkCut(t testing.TB, sp Splitter, text string) {
	t.Helper()
	first, rest := sp.Cut(text)
	if n := Len(first, sp.measure()); n > sp.limit() && utf8.RuneCountInString(first) != 1 {
		t.Fatalf("Cut: first measures %d, over %d: %q", n, sp.limit(), first)
	}
	if sp.Exact {
		if first+rest != text {
			t.Fatalf("Cut: %q + %q, want %q", first, rest, text)
		}
		if first == "" && text != "" {
			t.Fatal("Cut: empty first part")
		}
		return
	}
	if strings.TrimFunc(text, unicode.IsSpace) != "" && first == "" {
		t.Fatalf("Cut(%q): empty first part", text)
	}
	var parts []string
	for _, p := range []string{first, rest} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	checkLayout(t, sp, text, parts)
}
