package gsm

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var rep = strings.Repeat

// protocolsAlphabet is the default alphabet exactly as docs/protocols.md D.2
// prints it, with the escape code spelled <ESC>.
const protocolsAlphabet = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ<ESC>ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

func TestDefaultAlphabetMatchesProtocols(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for code, r := range defaultAlphabet {
		if code == escape {
			b.WriteString("<ESC>")
			continue
		}
		b.WriteRune(r)
	}
	if got := b.String(); got != protocolsAlphabet {
		t.Errorf("default alphabet:\ngot  %q\nwant %q", got, protocolsAlphabet)
	}
	// Spot checks docs/protocols.md calls out.
	for code, want := range map[int]rune{0x00: '@', 0x02: '$', 0x09: 'Ç', 0x24: '¤', 0x40: '¡', 0x60: '¿'} {
		if got := defaultAlphabet[code]; got != want {
			t.Errorf("defaultAlphabet[%#02x]: got %q, want %q", code, got, want)
		}
	}
}

func TestExtensionTable(t *testing.T) {
	t.Parallel()
	want := map[int]rune{0x0A: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2F: '\\', 0x3C: '[', 0x3D: '~', 0x3E: ']', 0x40: '|', 0x65: '€'}
	for code, r := range extension {
		if w, ok := want[code]; ok {
			if r != w {
				t.Errorf("extension[%#02x]: got %q, want %q", code, r, w)
			}
		} else if r != 0 {
			t.Errorf("extension[%#02x]: got %q, want unassigned", code, r)
		}
	}
}

// TestSeptetsAgreesWithTables walks every code point: exactly the 127
// default characters cost 1 and the 10 extension characters cost 2.
func TestSeptetsAgreesWithTables(t *testing.T) {
	t.Parallel()
	want := map[rune]int{}
	for code, r := range defaultAlphabet {
		if code != escape {
			want[r] = 1
		}
	}
	for _, r := range extension {
		if r != 0 {
			want[r] = 2
		}
	}
	if len(want) != 137 {
		t.Fatalf("distinct table characters: got %d, want 137", len(want))
	}
	for r := rune(-2); r <= utf8.MaxRune+2; r++ {
		n, ok := Septets(r)
		if w := want[r]; n != w || ok != (w != 0) {
			t.Errorf("Septets(%U): got (%d, %v), want (%d, %v)", r, n, ok, w, w != 0)
		}
	}
}

func TestSeptets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		r    rune
		n    int
		ok   bool
		name string
	}{
		{'a', 1, true, "ascii letter"},
		{'@', 1, true, "at is 0x00"},
		{'$', 1, true, "dollar is 0x02"},
		{'\n', 1, true, "line feed"},
		{'\r', 1, true, "carriage return"},
		{'Ç', 1, true, "capital C cedilla is 0x09"},
		{'ç', 0, false, "small c cedilla is not in the table"},
		{'Δ', 1, true, "greek capital delta"},
		{'€', 2, true, "euro is ESC 0x65"},
		{'\f', 2, true, "form feed is ESC 0x0A"},
		{'^', 2, true, "caret"},
		{'|', 2, true, "pipe"},
		{'`', 0, false, "no backtick"},
		{0x1B, 0, false, "escape is not a character"},
		{'\t', 0, false, "tab"},
		{'中', 0, false, "han"},
		{'😀', 0, false, "emoji"},
		{utf8.RuneError, 0, false, "replacement character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, ok := Septets(tc.r)
			if n != tc.n || ok != tc.ok {
				t.Errorf("Septets(%q): got (%d, %v), want (%d, %v)", tc.r, n, ok, tc.n, tc.ok)
			}
		})
	}
}

func TestEncodingString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		e    Encoding
		want string
	}{{GSM7, "gsm7"}, {UCS2, "ucs2"}, {Encoding(7), "Encoding(7)"}} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("Encoding(%d).String(): got %q, want %q", int(tc.e), got, tc.want)
		}
	}
}

func TestUnits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		enc  Encoding
		want int
	}{
		{"empty gsm7", "", GSM7, 0},
		{"empty ucs2", "", UCS2, 0},
		{"ascii gsm7", "hello", GSM7, 5},
		{"extension gsm7", "{€}", GSM7, 6},
		{"extension ucs2", "{€}", UCS2, 3},
		{"bmp ucs2", "中文", UCS2, 2},
		{"surrogate pair ucs2", "😀", UCS2, 2},
		{"unrepresentable under gsm7 counts one", "中😀", GSM7, 2},
		{"invalid byte is one U+FFFD", "a\xffb", UCS2, 3},
		{"truncated sequence is one per byte", "\xe2\x82", UCS2, 2},
		{"unknown encoding counts as ucs2", "€😀", Encoding(9), 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Units(tc.text, tc.enc); got != tc.want {
				t.Errorf("Units(%q, %v): got %d, want %d", tc.text, tc.enc, got, tc.want)
			}
		})
	}
}

// analyzeTests are shared with the Split tests and seed FuzzSplit.
var analyzeTests = []struct {
	name string
	text string
	want Info
}{
	{"empty", "", Info{GSM7, 0, 1, 160}},
	{"ascii", "Your code is 4821.", Info{GSM7, 18, 1, 160}},
	{"gsm7 160", rep("a", 160), Info{GSM7, 160, 1, 160}},
	{"gsm7 161", rep("a", 161), Info{GSM7, 161, 2, 153}},
	{"gsm7 306", rep("a", 306), Info{GSM7, 306, 2, 153}},
	{"gsm7 307", rep("a", 307), Info{GSM7, 307, 3, 153}},
	{"newline and carriage return", "line 1\r\nline 2\n", Info{GSM7, 15, 1, 160}},
	{"capital C cedilla", "Ça va", Info{GSM7, 5, 1, 160}},
	{"small c cedilla", "ça va", Info{UCS2, 5, 1, 70}},
	{"backtick", "`x`", Info{UCS2, 3, 1, 70}},
	{"euro 80", rep("€", 80), Info{GSM7, 160, 1, 160}},
	{"euro 81", rep("€", 81), Info{GSM7, 162, 2, 153}},
	// 306 septets, but a part holds at most 76 '€' (152 septets) because
	// the ESC pair cannot be cut: docs/protocols.md D.2 says 3 parts.
	{"euro 153", rep("€", 153), Info{GSM7, 306, 3, 153}},
	{"euro straddles 153", rep("a", 152) + "€" + rep("b", 10), Info{GSM7, 164, 2, 153}},
	{"euro just fits 153", rep("a", 151) + "€" + rep("b", 10), Info{GSM7, 163, 2, 153}},
	{"brackets", "{[~]}|^\\", Info{GSM7, 16, 1, 160}},
	{"chinese 70", rep("中", 70), Info{UCS2, 70, 1, 70}},
	{"chinese 71", rep("中", 71), Info{UCS2, 71, 2, 67}},
	{"chinese 134", rep("中", 134), Info{UCS2, 134, 2, 67}},
	{"chinese 135", rep("中", 135), Info{UCS2, 135, 3, 67}},
	{"arabic", "مرحبا، كيف حالك اليوم؟", Info{UCS2, 22, 1, 70}},
	{"arabic long", rep("السلام عليكم ", 7), Info{UCS2, 91, 2, 67}},
	{"gsm7 plus one han forces ucs2", rep("a", 100) + "中", Info{UCS2, 101, 2, 67}},
	{"emoji single", "ok 😀", Info{UCS2, 5, 1, 70}},
	{"emoji 35 fit one", rep("😀", 35), Info{UCS2, 70, 1, 70}},
	// 134 units, but a part holds at most 33 emoji (66 units).
	{"emoji 67", rep("😀", 67), Info{UCS2, 134, 3, 67}},
	{"emoji straddles 67", rep("a", 66) + "😀" + rep("b", 10), Info{UCS2, 78, 2, 67}},
	{"invalid utf-8", "caf\xe9", Info{UCS2, 4, 1, 70}},
	{"invalid utf-8 long", rep("\xff", 80), Info{UCS2, 80, 2, 67}},
}

func TestAnalyze(t *testing.T) {
	t.Parallel()
	for _, tc := range analyzeTests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Analyze(tc.text); got != tc.want {
				t.Errorf("Analyze: got %+v, want %+v", got, tc.want)
			}
			if got := Choose(tc.text); got != tc.want.Encoding {
				t.Errorf("Choose: got %v, want %v", got, tc.want.Encoding)
			}
			if got := Units(tc.text, tc.want.Encoding); got != tc.want.Units {
				t.Errorf("Units: got %d, want %d", got, tc.want.Units)
			}
		})
	}
}
