package gsm

import "testing"

// FuzzSplit checks Split's promises on any bytes: no panic, the parts join
// back to the input, each fits its capacity under the whole text's
// encoding, no rune is cut, and there are exactly Analyze's Segments of
// them (word and grapheme preferences never add a part).
func FuzzSplit(f *testing.F) {
	for _, tc := range analyzeTests {
		f.Add(tc.text)
	}
	for _, s := range []string{
		english,
		rep("€", 77) + rep("a", 80),
		rep("a", 151) + "€€" + rep("{", 80),
		rep("😀", 34),
		rep("👩\u200d💻 ", 20),
		rep("🇫🇷", 40),
		rep("e\u0301", 50),
		rep("السَّلَامُ عَلَيْكُمْ ", 8),
		rep("\xff\xfe", 50),
		rep("a", 66) + "\xf0\x9f\x98" + rep("b", 10),
		rep("\xed\xa0\x80", 30),
		rep(" ", 200),
		rep("\r\n", 90),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkSplit(t, s)
	})
}
