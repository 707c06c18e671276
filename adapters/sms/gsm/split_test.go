package gsm

import (
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// checkSplit asserts what Split promises for any text and returns the
// parts: they join back to text, their count is Analyze's Segments, each
// fits the per-part capacity under the whole text's encoding, and every
// cut falls on a rune boundary of text.
func checkSplit(t *testing.T, text string) []string {
	t.Helper()
	parts := Split(text)
	info := Analyze(text)
	if got := strings.Join(parts, ""); got != text {
		t.Fatalf("join(Split(%q)): got %q", text, got)
	}
	if len(parts) != info.Segments {
		t.Errorf("len(Split): got %d, want Analyze().Segments %d", len(parts), info.Segments)
	}
	starts := map[int]bool{len(text): true}
	for i := range text {
		starts[i] = true
	}
	off, total := 0, 0
	for i, p := range parts {
		if p == "" && text != "" {
			t.Errorf("part %d: empty", i)
		}
		u := Units(p, info.Encoding)
		if u > info.PerSegment {
			t.Errorf("part %d: got %d units, want <= %d (%v)", i, u, info.PerSegment, info.Encoding)
		}
		total += u
		off += len(p)
		if !starts[off] {
			t.Errorf("part %d: ends at byte %d, inside a rune", i, off)
		}
	}
	if total != info.Units {
		t.Errorf("sum of part units: got %d, want %d", total, info.Units)
	}
	return parts
}

func TestSplitProperties(t *testing.T) {
	t.Parallel()
	for _, tc := range analyzeTests {
		t.Run(tc.name, func(t *testing.T) {
			checkSplit(t, tc.text)
		})
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"empty is one empty part", "", []string{""}},
		{"fits one", "hello", []string{"hello"}},
		{"160 septets fit one", rep("€", 80), []string{rep("€", 80)}},
		{"plain 161 at the limit", rep("a", 161), []string{rep("a", 153), rep("a", 8)}},
		{"euro pair is not cut", rep("a", 152) + "€" + rep("b", 10),
			[]string{rep("a", 152), "€" + rep("b", 10)}},
		{"euro 153 is 76+76+1", rep("€", 153),
			[]string{rep("€", 76), rep("€", 76), "€"}},
		{"surrogate pair is not cut", rep("a", 66) + "😀" + rep("b", 10),
			[]string{rep("a", 66), "😀" + rep("b", 10)}},
		{"chinese at the limit", rep("中", 71), []string{rep("中", 67), rep("中", 4)}},
		{"break after a space in the last fifth", rep("a", 140) + " " + rep("b", 20),
			[]string{rep("a", 140) + " ", rep("b", 20)}},
		{"last of several spaces", rep("a", 135) + " x " + rep("b", 30),
			[]string{rep("a", 135) + " x ", rep("b", 30)}},
		{"newline is a break", rep("a", 130) + "\n" + rep("b", 30),
			[]string{rep("a", 130) + "\n", rep("b", 30)}},
		{"space in the second half", rep("a", 100) + " " + rep("b", 60),
			[]string{rep("a", 100) + " ", rep("b", 60)}},
		{"space in the first half is ignored", rep("a", 60) + " " + rep("b", 100),
			[]string{rep("a", 60) + " " + rep("b", 92), rep("b", 8)}},
		{"sentence end preferred to a later space", rep("a", 100) + ". " + rep("b", 40) + " " + rep("c", 20),
			[]string{rep("a", 100) + ". ", rep("b", 40) + " " + rep("c", 20)}},
		{"line break preferred to a later sentence end", rep("a", 90) + "\n" + rep("b", 20) + ". " + rep("c", 50),
			[]string{rep("a", 90) + "\n", rep("b", 20) + ". " + rep("c", 50)}},
		// Breaking after the space would leave 176 septets: three parts.
		{"word break never costs a part", rep("a", 129) + " " + rep("b", 176),
			[]string{rep("a", 129) + " " + rep("b", 23), rep("b", 153)}},
		{"ucs2 breaks after a space too", rep("中", 60) + " " + rep("文", 20),
			[]string{rep("中", 60) + " ", rep("文", 20)}},
		{"ideographic space is a break", rep("中", 60) + "\u3000" + rep("文", 20),
			[]string{rep("中", 60) + "\u3000", rep("文", 20)}},
		{"no-break space is not", rep("中", 60) + "\u00a0" + rep("文", 20),
			[]string{rep("中", 60) + "\u00a0" + rep("文", 6), rep("文", 14)}},
		{"combining mark stays with its base", rep("x", 66) + "e\u0301" + rep("y", 10),
			[]string{rep("x", 66), "e\u0301" + rep("y", 10)}},
		// Keeping e+U+0301 whole would need a third part: the mark is cut.
		{"combining mark cut rather than add a part", rep("x", 66) + "e\u0301" + rep("y", 66),
			[]string{rep("x", 66) + "e", "\u0301" + rep("y", 66)}},
		// U+0301 after a space is a standalone accent: the space is its base.
		{"space before a combining mark is not a break", rep("x", 66) + " \u0301" + rep("y", 10),
			[]string{rep("x", 66), " \u0301" + rep("y", 10)}},
		{"crlf stays together", rep("a", 152) + "\r\n" + rep("b", 10),
			[]string{rep("a", 152), "\r\n" + rep("b", 10)}},
		{"hangul jamo stay together", rep("x", 65) + "\u1100\u1161\u11a8" + rep("z", 5),
			[]string{rep("x", 65), "\u1100\u1161\u11a8" + rep("z", 5)}},
		{"zwj sequence stays together", rep("x", 64) + "👩\u200d💻" + rep("z", 5),
			[]string{rep("x", 64), "👩\u200d💻" + rep("z", 5)}},
		{"skin tone stays with its emoji", rep("x", 65) + "👍🏽" + rep("z", 5),
			[]string{rep("x", 65), "👍🏽" + rep("z", 5)}},
		{"flag pair stays together", rep("x", 65) + "🇫🇷🇩🇪" + rep("z", 5),
			[]string{rep("x", 65), "🇫🇷🇩🇪" + rep("z", 5)}},
		{"flags break between pairs", rep("x", 63) + "🇫🇷🇩🇪" + rep("z", 5),
			[]string{rep("x", 63) + "🇫🇷", "🇩🇪" + rep("z", 5)}},
		{"invalid bytes split byte-exact", rep("\xff", 80),
			[]string{rep("\xff", 67), rep("\xff", 13)}},
		{"truncated euro split between its bytes", rep("a", 66) + "\xe2\x82" + rep("b", 10),
			[]string{rep("a", 66) + "\xe2", "\x82" + rep("b", 10)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := checkSplit(t, tc.text)
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
				t.Errorf("Split:\ngot  %q\nwant %q", got, tc.want)
			}
		})
	}
}

const english = "Thank you for contacting the hotline. Your request has been received " +
	"and an operator will reply as soon as possible, usually within one business day. " +
	"If your matter is urgent, please call the number printed on the back of your card " +
	"and have your reference number ready. Reply STOP to stop receiving messages, or " +
	"HELP for help. Standard message and data rates may apply to every message we send."

// TestSplitPrefersWordBoundaries checks that no part of an English text
// ends mid-word while a space sits in the last fifth of its capacity,
// unless breaking there would cost an extra part. Every rune of these
// texts costs one unit, so "fits" is a plain comparison of units.
func TestSplitPrefersWordBoundaries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		text      string
		wantWords int // parts, last excluded, that must end after a space
	}{
		{"gsm7", english, 2},
		{"ucs2", english + " 中文", 3},
		{"ucs2 roomy", english[:300] + " 中文", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parts := checkSplit(t, tc.text)
			info := Analyze(tc.text)
			if len(parts) < 2 {
				t.Fatalf("parts: got %d, want a multipart text", len(parts))
			}
			tail := info.PerSegment / 5
			words, off := 0, 0
			for i, p := range parts[:len(parts)-1] {
				off += len(p)
				if last, _ := utf8.DecodeLastRuneInString(p); unicode.IsSpace(last) {
					words++
					continue
				}
				runes := []rune(p)
				window := string(runes[max(0, len(runes)-tail):])
				sp := strings.LastIndexAny(window, " \n")
				if sp < 0 {
					continue
				}
				rest := tc.text[off-len(window)+sp+1:]
				if Units(rest, info.Encoding) <= (len(parts)-i-1)*info.PerSegment {
					t.Errorf("part %d: got %q ending mid-word, want a break after the space in its last %d units", i, p, tail)
				}
			}
			if words < tc.wantWords {
				t.Errorf("parts ending after a space: got %d, want >= %d", words, tc.wantWords)
			}
		})
	}
}

func BenchmarkSplit(b *testing.B) {
	base := english + " Заявка принята. 您的请求已收到，我们会尽快回复。 Merci, à bientôt 😀 "
	mixed := []rune(rep(base, 1000/utf8.RuneCountInString(base)+1))[:1000]
	plain := []rune(rep(english+" ", 3))[:1000]
	for _, bc := range []struct {
		name string
		text string
	}{
		{"mixed-ucs2-1000", string(mixed)},
		{"gsm7-1000", string(plain)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.text)))
			for b.Loop() {
				Split(bc.text)
			}
		})
	}
}
