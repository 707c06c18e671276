package textsplit

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

var rep = strings.Repeat

// smsCost is a stand-in for the GSM-7 alphabet's cost (the real one is
// in hotline/adapters/sms/gsm): ASCII one septet, a few characters of
// the extension table two, anything else as UCS-2 would count it.
func smsCost(r rune) int {
	switch {
	case r == '€' || r == '{' || r == '}' || r == '[' || r == ']' || r == '|' || r == '~' || r == '\\' || r == '^':
		return 2
	case r < 0x80:
		return 1
	}
	return UTF16(r)
}

// check asserts what Split promises for any text and returns the parts;
// see checkParts.
func check(t testing.TB, sp Splitter, text string) []string {
	t.Helper()
	parts := sp.Split(text)
	checkParts(t, sp, text, parts)
	checkChoice(t, sp, text)
	if t.Failed() {
		t.FailNow()
	}
	return parts
}

// checkParts asserts the promises every result keeps, without knowing
// where the cuts should be: a part measures at most the limit unless it
// is one rune alone, the parts are laid out as checkLayout says, and
// their count is the fewest possible (minParts, for texts of up to 400
// runes).
func checkParts(t testing.TB, sp Splitter, text string, parts []string) {
	t.Helper()
	lim, m := sp.limit(), sp.measure()
	for i, p := range parts {
		if n := Len(p, m); n > lim && utf8.RuneCountInString(p) != 1 {
			t.Errorf("part %d of %d: measures %d, want <= %d: %q", i, len(parts), n, lim, p)
		}
	}
	checkLayout(t, sp, text, parts)
	if utf8.RuneCountInString(text) <= 400 {
		if want := minParts(sp, text); len(parts) != want {
			t.Errorf("parts: got %d, want the fewest, %d", len(parts), want)
		}
	}
}

// checkLayout asserts how parts sit in text. With Exact they join back
// to text, there is at least one, and none is empty unless text is.
// Without it, each part is found in text after the previous one with only
// white space between, the parts start and end with no white space a part
// drops, and no grapheme cluster is cut unless it alone is longer than
// the limit. Either way every cut is at a rune boundary of text.
func checkLayout(t testing.TB, sp Splitter, text string, parts []string) {
	t.Helper()
	starts := runeStarts(text)
	cuts := map[int]bool{}
	if sp.Exact {
		if got := strings.Join(parts, ""); got != text {
			t.Fatalf("joined parts: got %q, want %q", got, text)
		}
		if len(parts) == 0 {
			t.Fatalf("no part for %q", text)
		}
		off := 0
		for i, p := range parts {
			if p == "" && text != "" {
				t.Errorf("part %d: empty", i)
			}
			off += len(p)
			cuts[off] = true
		}
	} else {
		inside := clusterInsides(text, sp)
		cur := 0
		for i, p := range parts {
			if p == "" {
				t.Fatalf("part %d: empty", i)
			}
			pos := cur
			for !strings.HasPrefix(text[pos:], p) || !starts[pos+len(p)] {
				r, size := utf8.DecodeRuneInString(text[pos:])
				if size == 0 || !unicode.IsSpace(r) {
					t.Fatalf("part %d %q: not found after byte %d with only white space before it", i, p, cur)
				}
				pos += size
			}
			// White space that is the base of a mark kept whole is no
			// white space to drop.
			if r, size := utf8.DecodeRuneInString(p); unicode.IsSpace(r) && !inside[pos+size] {
				t.Errorf("part %d %q: starts with white space", i, p)
			}
			if r, _ := utf8.DecodeLastRuneInString(p); unicode.IsSpace(r) {
				t.Errorf("part %d %q: ends with white space", i, p)
			}
			cuts[pos], cuts[pos+len(p)] = true, true
			cur = pos + len(p)
		}
		if strings.TrimFunc(text[cur:], unicode.IsSpace) != "" {
			t.Fatalf("text after the last part: %q, want white space only", text[cur:])
		}
		for off := range cuts {
			if inside[off] {
				t.Errorf("a part starts or ends at byte %d, inside a grapheme cluster of %q", off, text)
			}
		}
	}
	for off := range cuts {
		if !starts[off] {
			t.Errorf("a part starts or ends at byte %d, inside a rune", off)
		}
	}
}

// checkChoice asserts that Split's cuts are the best by choose's measure,
// against a brute force over every cut of every part, for texts of up to
// 400 runes: the part count and the places' ranks are taken as the
// package computes them (checkParts checks the count on its own).
func checkChoice(t testing.TB, sp Splitter, text string) {
	t.Helper()
	if utf8.RuneCountInString(text) > 400 {
		return
	}
	tx := sp.scan(text)
	tx.plan()
	tx.choose()
	s := tx.s
	n := len(s) - 1
	minFill := tx.limit - tx.limit/2
	worth := func(k, e int, v score) score {
		switch {
		case s[e].flags&inCluster != 0:
			v.clusterCuts++
		case s[e].rank != rankNone && tx.cost(k, e) >= minFill:
			v.goodCuts++
			v.ranks += int(s[e].rank)
		}
		return v
	}
	best := make([]score, n+1)
	for k := n - 1; k >= 0; k-- {
		if s[k].next != k {
			best[k] = best[s[k].next]
			continue
		}
		found := false
		for e := k + 1; e <= s[k].reach && s[k].left > 1; e++ {
			if !tx.allowed(e) || s[e].left != s[k].left-1 {
				continue
			}
			if v := worth(k, e, best[s[e].next]); !found || best[k].less(v) {
				best[k], found = v, true
			}
		}
		if s[k].left > 1 && !found {
			t.Fatalf("no way to cut %q from boundary %d", text, k)
		}
	}
	var got score
	for i := s[0].next; i < n && s[i].left > 1; i = s[s[i].cut].next {
		got = worth(i, s[i].cut, got)
	}
	if want := best[s[0].next]; got != want {
		t.Errorf("cuts of %q: score %+v, want the best, %+v", text, got, want)
	}
}

// runeStarts is where ranging over text puts a rune, and its end, by
// byte offset.
func runeStarts(text string) []bool {
	starts := make([]bool, len(text)+1)
	starts[len(text)] = true
	for i := range text {
		starts[i] = true
	}
	return starts
}

// clusterInsides marks the byte offsets that fall inside a grapheme
// cluster that a chat part must keep whole: not in one longer than the
// limit.
func clusterInsides(text string, sp Splitter) []bool {
	type rn struct {
		off, cost int
		joined    bool // joined to the rune before
	}
	var rs []rn
	var c clusterState
	prev := rune(-1)
	for off, r := range text {
		rs = append(rs, rn{off: off, cost: max(sp.measure()(r), 0), joined: prev >= 0 && c.joins(prev, r)})
		c.add(r)
		prev = r
	}
	inside := make([]bool, len(text)+1)
	for a := 0; a < len(rs); {
		b, cost := a+1, rs[a].cost
		for b < len(rs) && rs[b].joined {
			cost += rs[b].cost
			b++
		}
		if cost <= sp.limit() {
			for k := a + 1; k < b; k++ {
				inside[rs[k].off] = true
			}
		}
		a = b
	}
	return inside
}

// minParts is the fewest parts text can be sent as, by brute force over
// every way to cut it: with Exact at any rune boundary, else outside
// clusters (clusterInsides) and not counting the white space a part drops.
// A part may be over the limit only when it carries one rune.
func minParts(sp Splitter, text string) int {
	lim, m := sp.limit(), sp.measure()
	if sp.Exact && Len(text, m) <= lim {
		return 1
	}
	type rn struct {
		off, cost int
		trim      bool
	}
	inside := make([]bool, len(text)+1)
	if !sp.Exact {
		inside = clusterInsides(text, sp)
	}
	var rs []rn
	for off, r := range text {
		if len(rs) > 0 && inside[off] && !unicode.IsSpace(r) {
			rs[len(rs)-1].trim = false // the base of a mark, kept whole
		}
		rs = append(rs, rn{off: off, cost: max(m(r), 0), trim: !sp.Exact && unicode.IsSpace(r)})
	}
	n := len(rs)
	cut := func(k int) bool { return k == 0 || k == n || !inside[rs[k].off] }
	// pre[k] is the cost of runes [0, k); kept[k] the runes not dropped.
	pre, kept := make([]int, n+1), make([]int, n+1)
	for k, r := range rs {
		pre[k+1] = pre[k] + r.cost
		kept[k+1] = kept[k]
		if !r.trim {
			kept[k+1]++
		}
	}
	// first[i] is the first kept rune at or after i; last[j] is one past
	// the last kept rune before j.
	first, last := make([]int, n+1), make([]int, n+1)
	first[n] = n
	for k := n - 1; k >= 0; k-- {
		first[k] = first[k+1]
		if !rs[k].trim {
			first[k] = k
		}
	}
	for k := 1; k <= n; k++ {
		last[k] = last[k-1]
		if !rs[k-1].trim {
			last[k] = k
		}
	}
	const inf = 1 << 30
	best := make([]int, n+1)
	for j := 1; j <= n; j++ {
		best[j] = inf
		if !cut(j) {
			continue
		}
		for i := j - 1; i >= 0; i-- {
			if !cut(i) || best[i] == inf {
				continue
			}
			a, b := first[i], last[j]
			switch {
			case b <= a:
				best[j] = min(best[j], best[i]) // nothing kept: no part
			case pre[b]-pre[a] <= lim || kept[b]-kept[a] == 1 && b-a == 1:
				best[j] = min(best[j], best[i]+1)
			}
		}
	}
	return best[n]
}

func q(parts []string) string { return fmt.Sprintf("%q", parts) }

func TestSplitChat(t *testing.T) {
	t.Parallel()
	emoji := "😀" // two UTF-16 units
	tests := []struct {
		name  string
		text  string
		limit int
		m     Measure
		want  []string
	}{
		// Telegram's cases, UTF-16.
		{"fits", "hello", 10, UTF16, []string{"hello"}},
		{"trimmed when it fits", "  hello\n", 10, UTF16, []string{"hello"}},
		{"prefers newline", "aaaa bbb\ncc dd", 10, UTF16, []string{"aaaa bbb", "cc dd"}},
		{"then space", "aaaa bbbbb cc", 10, UTF16, []string{"aaaa bbbbb", "cc"}},
		{"hard cut", "abcdefghijkl", 5, UTF16, []string{"abcde", "fghij", "kl"}},
		{"never splits a surrogate pair", "abcd" + emoji + "ef", 5, UTF16, []string{"abcd", emoji + "ef"}},
		{"counts emoji as two", emoji + emoji + emoji, 4, UTF16, []string{emoji + emoji, emoji}},
		{"only whitespace", " \n ", 5, UTF16, nil},
		{"empty", "", 5, UTF16, nil},
		{"white space at a cut is dropped", "aaaa   \n\n  bbbb", 6, Runes, []string{"aaaa", "bbbb"}},
		// WeChat's, runes.
		{"chinese at the limit", rep("字", 1300), 600, Runes, []string{rep("字", 600), rep("字", 600), rep("字", 100)}},
		// Weibo's, runes.
		{"space in the second half", rep("a", 200) + " " + rep("b", 200), 300, Runes,
			[]string{rep("a", 200), rep("b", 200)}},
		{"chinese sentences", rep("这是一句话。", 60), 300, Runes,
			[]string{rep("这是一句话。", 50), rep("这是一句话。", 10)}},
		{"no decimal cut", rep("x", 150) + " costs 3.5 " + rep("y", 200), 300, Runes,
			[]string{rep("x", 150) + " costs 3.5", rep("y", 200)}},
		{"sentence end preferred to a later space", rep("b. ", 90) + rep("c ", 30), 300, Runes,
			[]string{rep("b. ", 89) + "b.", rep("c ", 29) + "c"}},
		{"line break preferred to a later sentence end", rep("a", 160) + "\n" + rep("b. ", 40), 200, Runes,
			[]string{rep("a", 160), rep("b. ", 39) + "b."}},
		{"break in the first half ignored", "a " + rep("b", 400), 300, Runes,
			[]string{"a " + rep("b", 298), rep("b", 102)}},
		{"closing quote stays with its sentence", rep("字", 8) + "。」" + rep("字", 8), 12, Runes,
			[]string{rep("字", 8) + "。」", rep("字", 8)}},
		{"latin closing quote too", "Say \"stop.\" Now go away.", 15, Runes,
			[]string{"Say \"stop.\"", "Now go away."}},
		{"a no-break space is not a break", rep("a", 6) + "\u00a0" + rep("b", 6), 10, Runes,
			[]string{rep("a", 6) + "\u00a0" + rep("b", 3), rep("b", 3)}},
		// Part counts.
		{"a break never costs a part", rep("a", 6) + " " + rep("b", 13), 10, Runes,
			[]string{rep("a", 6) + " bbb", rep("b", 10)}},
		{"the white space a part drops is free", rep("a", 10) + "      " + rep("b", 10), 10, Runes,
			[]string{rep("a", 10), rep("b", 10)}},
		// Grapheme clusters.
		{"flag pair stays together", "xxx🇫🇷🇩🇪", 4, Runes, []string{"xxx", "🇫🇷🇩🇪"}},
		{"flags break between pairs", "xx🇫🇷🇩🇪", 4, Runes, []string{"xx🇫🇷", "🇩🇪"}},
		{"zwj sequence stays together", "abcd👩\u200d💻", 5, Runes, []string{"abcd", "👩\u200d💻"}},
		{"skin tone stays with its emoji", "abcd👍🏽", 5, Runes, []string{"abcd", "👍🏽"}},
		{"combining mark stays with its base", "abcde\u0301", 5, Runes, []string{"abcd", "e\u0301"}},
		{"hangul jamo stay together", "abc\u1100\u1161\u11a8", 4, Runes, []string{"abc", "\u1100\u1161\u11a8"}},
		{"a cluster longer than the limit is cut", "e" + rep("\u0301", 6), 4, Runes,
			[]string{"e" + rep("\u0301", 3), rep("\u0301", 3)}},
		{"a space carrying a mark is kept", "abcd \u0301x", 4, Runes, []string{"abcd", " \u0301x"}},
		{"crlf is a line break", "aaa\r\nbb", 4, Runes, []string{"aaa", "bb"}},
		// Bytes.
		{"bytes of chinese", rep("中", 5), 7, Bytes, []string{"中中", "中中", "中"}},
		{"an invalid byte counts three", "ab\xffcd", 4, Bytes, []string{"ab", "\xffc", "d"}},
		// Limits.
		{"a rune over the limit goes alone", emoji + "a" + emoji, 1, UTF16, []string{emoji, "a", emoji}},
		{"a limit below one is one", "abc", 0, Runes, []string{"a", "b", "c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := check(t, Splitter{Limit: tc.limit, Measure: tc.m}, tc.text)
			if q(got) != q(tc.want) {
				t.Errorf("Split:\ngot  %s\nwant %s", q(got), q(tc.want))
			}
		})
	}
}

func TestSplitChatLong(t *testing.T) {
	t.Parallel()
	sp := Splitter{Limit: 4096, Measure: UTF16}
	long := rep("word ", 1000) // 5000 units
	parts := check(t, sp, long)
	if len(parts) != 2 || strings.Join(parts, " ") != strings.TrimSpace(long) {
		t.Fatalf("got %d parts of %d and %d units, want 2 cut between words", len(parts), Len(parts[0], UTF16), Len(parts[len(parts)-1], UTF16))
	}
	for _, p := range (Splitter{Limit: 600}).Split(rep("word ", 200)) {
		if strings.HasPrefix(p, "ord") {
			t.Fatalf("part %q cut a word", p)
		}
	}
}

func TestSplitExact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		text  string
		limit int
		m     Measure
		want  []string
	}{
		{"empty is one empty part", "", 5, Runes, []string{""}},
		{"white space that fits is kept", " hi \n", 5, Runes, []string{" hi \n"}},
		{"white space stays at the end of the earlier part", rep("a", 7) + "  " + rep("b", 5), 10, Runes,
			[]string{rep("a", 7) + "  ", rep("b", 5)}},
		{"sentence end cut after its space", "Go on. And stop", 10, Runes, []string{"Go on. ", "And stop"}},
		{"line break", rep("a", 6) + "\n" + rep("b", 5), 10, Runes, []string{rep("a", 6) + "\n", rep("b", 5)}},
		{"a break never costs a part", rep("a", 6) + " " + rep("b", 13), 10, Runes,
			[]string{rep("a", 6) + " bbb", rep("b", 10)}},
		{"combining mark stays with its base", rep("x", 9) + "e\u0301yy", 10, Runes,
			[]string{rep("x", 9), "e\u0301yy"}},
		// Keeping e+U+0301 whole would need a third part: the mark is cut.
		{"combining mark cut rather than add a part", rep("x", 9) + "e\u0301" + rep("y", 9), 10, Runes,
			[]string{rep("x", 9) + "e", "\u0301" + rep("y", 9)}},
		{"crlf stays together", rep("a", 9) + "\r\nbb", 10, Runes, []string{rep("a", 9), "\r\nbb"}},
		{"invalid bytes split byte-exact", rep("\xff", 12), 10, UTF16, []string{rep("\xff", 10), rep("\xff", 2)}},
		{"truncated euro split between its bytes", rep("a", 9) + "\xe2\x82" + "bb", 10, Runes,
			[]string{rep("a", 9) + "\xe2", "\x82bb"}},
		{"extension pair not cut", rep("a", 9) + "€" + "bb", 10, smsCost, []string{rep("a", 9), "€bb"}},
		{"twilio-sized", rep("word ", 700), 1600, Runes, []string{rep("word ", 320), rep("word ", 320), rep("word ", 60)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := check(t, Splitter{Limit: tc.limit, Measure: tc.m, Exact: true}, tc.text)
			if q(got) != q(tc.want) {
				t.Errorf("Split:\ngot  %s\nwant %s", q(got), q(tc.want))
			}
		})
	}
}

func TestCut(t *testing.T) {
	t.Parallel()
	sentence := rep("这是一句话。", 60) // 360 runes
	tests := []struct {
		name, text  string
		limit       int
		exact       bool
		first, rest string
	}{
		// Weibo's passive reply.
		{"fits", "hello world", 300, false, "hello world", ""},
		{"trimmed", "  hello world \n", 300, false, "hello world", ""},
		{"white space only", " \n", 300, false, "", ""},
		{"exactly the limit", rep("a", 300), 300, false, rep("a", 300), ""},
		{"hard cut", rep("a", 301), 300, false, rep("a", 300), "a"},
		{"space", rep("a", 200) + " " + rep("b", 200), 300, false, rep("a", 200), rep("b", 200)},
		{"newline preferred to a later sentence end", rep("a", 160) + "\n" + rep("b. ", 60), 300, false,
			rep("a", 160), rep("b. ", 59) + "b."},
		{"sentence end preferred to a later space", rep("b. ", 90) + rep("c ", 30), 300, false,
			rep("b. ", 89) + "b.", rep("c ", 29) + "c"},
		{"chinese sentence", sentence, 300, false, rep("这是一句话。", 50), rep("这是一句话。", 10)},
		{"no decimal cut", rep("x", 150) + " costs 3.5 " + rep("y", 200), 300, false,
			rep("x", 150) + " costs 3.5", rep("y", 200)},
		{"boundary too early", "a " + rep("b", 400), 300, false, "a " + rep("b", 298), rep("b", 102)},
		// The rest's part count is no constraint: Split would cut at 300.
		{"line break although the rest is long", rep("a", 200) + "\n" + rep("b", 399), 300, false,
			rep("a", 200), rep("b", 399)},
		{"exact keeps every byte", rep("a", 200) + "\n" + rep("b", 400), 300, true,
			rep("a", 200) + "\n", rep("b", 400)},
		{"exact fits", " x ", 300, true, " x ", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			first, rest := Splitter{Limit: tc.limit, Exact: tc.exact}.Cut(tc.text)
			if first != tc.first || rest != tc.rest {
				t.Fatalf("got %q | %q, want %q | %q", first, rest, tc.first, tc.rest)
			}
		})
	}
	// Split, which must send the rest in one more part, cannot take that
	// line break.
	text := rep("a", 200) + "\n" + rep("b", 399)
	if first, _ := (Splitter{Limit: 300}).Cut(text); first != rep("a", 200) {
		t.Errorf("Cut: got %q, want the line break", first)
	}
	parts := check(t, Splitter{Limit: 300}, text)
	if want := []string{rep("a", 200) + "\n" + rep("b", 99), rep("b", 300)}; q(parts) != q(want) {
		t.Errorf("Split: got %s, want %s", q(parts), q(want))
	}
}

func TestLen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		text                 string
		runes, utf16, bytes_ int
	}{
		{"", 0, 0, 0},
		{"abc", 3, 3, 3},
		{"中文", 2, 2, 6},
		{"😀", 1, 2, 4},
		{"e\u0301", 2, 2, 3},
		{"\xff", 1, 1, 3},
	} {
		if got := Len(tc.text, nil); got != tc.runes {
			t.Errorf("Len(%q, nil): got %d, want %d", tc.text, got, tc.runes)
		}
		if got := Len(tc.text, UTF16); got != tc.utf16 {
			t.Errorf("Len(%q, UTF16): got %d, want %d", tc.text, got, tc.utf16)
		}
		if got := Len(tc.text, Bytes); got != tc.bytes_ {
			t.Errorf("Len(%q, Bytes): got %d, want %d", tc.text, got, tc.bytes_)
		}
	}
	if Bytes(0xD800) != 3 || Bytes(utf8.MaxRune+1) != 3 {
		t.Error("Bytes of a rune UTF-8 cannot carry: want 3, the size of U+FFFD")
	}
	if got := Len("abc", func(rune) int { return -1 }); got != 0 {
		t.Errorf("negative costs: got %d, want 0", got)
	}
}

// TestFastPathsAgreeWithUnicode guards the shortcuts in joins and
// breakingSpace: nothing below U+0300 is a mark or extends a cluster, and
// the ASCII list of spaces is exactly unicode.IsSpace over ASCII.
func TestFastPathsAgreeWithUnicode(t *testing.T) {
	t.Parallel()
	for r := rune(0); r < 0x300; r++ {
		if isExtend(r) || hangulType(r) != hangulNone {
			t.Errorf("%U: extends a cluster, want nothing below U+0300 to", r)
		}
	}
	for r := rune(0); r <= 0x7F; r++ {
		if got, want := breakingSpace(r), unicode.IsSpace(r); got != want {
			t.Errorf("breakingSpace(%U): got %v, want %v", r, got, want)
		}
	}
	for r := rune(0); r < 0xAD; r++ {
		if got, want := isControl(r), unicode.Is(unicode.Cc, r); got != want {
			t.Errorf("isControl(%U): got %v, want %v", r, got, want)
		}
	}
}

const english = "Thank you for contacting the hotline. Your request has been received " +
	"and an operator will reply as soon as possible, usually within one business day. " +
	"If your matter is urgent, please call the number printed on the back of your card " +
	"and have your reference number ready. Reply STOP to stop receiving messages, or " +
	"HELP for help. Standard message and data rates may apply to every message we send."

func BenchmarkSplit(b *testing.B) {
	base := english + "\nЗаявка принята. 您的请求已收到，我们会尽快回复。 Merci, à bientôt 😀 "
	long := rep(base, 100) // about 40,000 runes
	for _, bc := range []struct {
		name string
		sp   Splitter
	}{
		{"telegram-4096", Splitter{Limit: 4096, Measure: UTF16}},
		{"wechat-600", Splitter{Limit: 600}},
		{"sms-67", Splitter{Limit: 67, Measure: UTF16, Exact: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(long)))
			for b.Loop() {
				bc.sp.Split(long)
			}
		})
	}
}

// TestSplitRandomTexts runs the property checks over texts drawn from
// the runes that exercise every rule, under every measure and mode.
func TestSplitRandomTexts(t *testing.T) {
	t.Parallel()
	alphabet := []string{"a", "b", "w", " ", "  ", "\n", "\r\n", "\t", ".", ". ", "!", "。", "」", "\"",
		"\u0301", " \u0301", "\u200d", "👩\u200d💻", "🇫🇷", "😀", "👍🏽", "\u00a0", "\u3000", "\u2028", "\xff",
		"中", "€", "{", "\u1100", "\u1161", "\u11a8", "한"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		var b strings.Builder
		for range rng.IntN(120) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		text := b.String()
		sp := Splitter{Limit: rng.IntN(30), Measure: []Measure{Runes, UTF16, Bytes, smsCost}[rng.IntN(4)], Exact: rng.IntN(2) == 0}
		checkParts(t, sp, text, sp.Split(text))
		checkChoice(t, sp, text)
		checkCut(t, sp, text)
		if t.Failed() {
			t.Fatalf("%+v: %q", sp, text)
		}
	}
}
