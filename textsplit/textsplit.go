// Package textsplit cuts a text that is too long for one message into
// parts that each fit a platform's limit, the same way for every platform:
// the fewest parts the limit allows, no rune ever cut, grapheme clusters
// (what a reader sees as one character) kept whole, and each part ending
// at the most natural place near its end that costs no extra part.
//
// How a part is measured is the caller's Measure: Runes, UTF16 (the Bot
// API's code units), Bytes (UTF-8), or any cost per rune, such as the
// septets or UCS-2 units of an SMS (package hotline/adapters/sms/gsm).
//
// Two kinds of platform are served, by Splitter.Exact:
//
//   - Chat (Exact false): every part is a message of its own. The white
//     space at a cut is dropped and so is the text's leading and trailing
//     white space, as chat clients trim it anyway; a grapheme cluster is
//     never cut unless it alone is longer than the limit.
//   - SMS (Exact true): the parts are concatenated again by the handset,
//     or each is paid for. Joining the parts gives the text back byte for
//     byte, invalid UTF-8 included, and the part count is the minimum even
//     when a grapheme cluster has to be cut for it.
//
// Every function is pure, safe for concurrent use, and total: any string,
// including invalid UTF-8, gives an answer and never a panic. An invalid
// byte is one rune, U+FFFD, as ranging over the string yields it.
package textsplit

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// A Measure is what one rune of a text costs against a limit. Ranging
// over a string yields U+FFFD (utf8.RuneError) for an invalid byte, so
// that is what a Measure is asked about it. A negative cost counts as 0.
type Measure func(r rune) int

// Runes counts every rune as 1 (what most platforms call characters).
func Runes(rune) int { return 1 }

// UTF16 counts UTF-16 code units: 2 for a rune outside the Basic
// Multilingual Plane (a surrogate pair, such as most emoji), else 1. It is
// how JavaScript, Java and the APIs built on them count a string's length.
func UTF16(r rune) int {
	if r >= 0x10000 && r <= utf8.MaxRune {
		return 2
	}
	return 1
}

// Bytes counts the rune's UTF-8 bytes. An invalid byte counts 3, the size
// of the U+FFFD a JSON or XML encoder sends in its place.
func Bytes(r rune) int {
	if n := utf8.RuneLen(r); n > 0 {
		return n
	}
	return 3 // a surrogate half or out of range: sent as U+FFFD
}

// Len returns the length of text under m (nil is Runes).
func Len(text string, m Measure) int {
	if m == nil {
		m = Runes
	}
	n := 0
	for _, r := range text {
		n += max(m(r), 0)
	}
	return n
}

// Splitter cuts texts into parts of at most Limit under Measure.
//
// The count is always the fewest the limit allows. Where to cut is chosen
// for the whole text at once: among the ways to send it in that many
// parts, the one that
//  1. cuts the fewest grapheme clusters (only Exact ever cuts one when
//     it alone fits the limit);
//  2. ends the most parts at a good place in the second half of the part
//     (by Measure): after a line break, after a sentence end (。！？；
//     right after the mark, a Latin . ! ? ; only with white space after
//     it, so 3.5 and URLs are none; closing quotes and brackets stay with
//     their sentence), or after breaking white space (not a no-break
//     space);
//  3. has the best such places, a line break over a sentence end over a
//     space;
//  4. makes the earlier parts the fullest.
//
// So no good place is taken at the price of an extra part, nor at the
// price of more of the parts after it ending mid-word; where no good place
// can be had, a part ends mid-word (but not inside a cluster) near the
// limit.
//
// A rune whose cost alone is more than Limit goes in a part by itself,
// which is then over the limit: there is no other way to send it.
type Splitter struct {
	// Limit is the most a part may measure; below 1 counts as 1.
	Limit int
	// Measure is the cost of a rune; nil is Runes.
	Measure Measure
	// Exact keeps every byte: joining the parts gives the text back, the
	// white space at a cut staying at the end of the earlier part. A text
	// that fits, the empty text included, is one part. Grapheme clusters
	// are kept whole only when that costs no extra part. Without Exact,
	// white space at the cuts and at both ends of the text is dropped,
	// white space only is no part at all (nil), and a grapheme cluster is
	// cut only when it alone is longer than Limit.
	Exact bool
}

func (sp Splitter) limit() int { return max(sp.Limit, 1) }

func (sp Splitter) measure() Measure {
	if sp.Measure == nil {
		return Runes
	}
	return sp.Measure
}

// Split returns the parts text is sent as, in order: the fewest possible
// under the Splitter's rules, each cut where the type's documentation says.
func (sp Splitter) Split(text string) []string {
	if first, ok := sp.fits(text); ok {
		if first == "" && !sp.Exact {
			return nil
		}
		return []string{first}
	}
	t := sp.scan(text)
	n := len(t.s) - 1
	t.plan()
	t.choose()
	i := t.s[0].next
	if i == n {
		return nil // white space only
	}
	parts := make([]string, 0, t.s[i].left)
	for t.s[i].left > 1 {
		j := t.s[i].cut
		parts = append(parts, t.part(i, j))
		i = t.s[j].next
	}
	return append(parts, t.part(i, n))
}

// Cut returns the first part of text and what is left after it: the part
// the Splitter's rules choose when the rest is to go some other way (a
// platform whose passive reply carries one message, with the rest sent by
// an API of another limit), so the rest's part count is no constraint and
// first may be shorter than Split's first part. Without Exact, first and
// rest are trimmed of white space; rest is "" when text fits.
func (sp Splitter) Cut(text string) (first, rest string) {
	if first, ok := sp.fits(text); ok {
		return first, ""
	}
	t := sp.scan(text)
	n := len(t.s) - 1
	i := t.s[0].next
	if i == n {
		return "", ""
	}
	g := t.reachFrom(i)
	if g == n {
		return t.part(i, n), ""
	}
	j := t.pick(i, g)
	first = t.part(i, j)
	if sp.Exact {
		return first, text[t.s[j].off:]
	}
	return first, t.part(t.s[j].next, n)
}

// fits returns text as its one part (trimmed without Exact) and true when
// it fits the limit, the common case, which needs no scan.
func (sp Splitter) fits(text string) (string, bool) {
	if !sp.Exact {
		text = trimEdges(text)
	}
	return text, Len(text, sp.measure()) <= sp.limit()
}

// trimEdges removes the white space at both ends of text that a part
// without Exact drops: all of it but a space that is the base of a mark
// (see scan).
func trimEdges(text string) string {
	text = strings.TrimRightFunc(text, unicode.IsSpace)
	var c clusterState // white space is no regional indicator
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !unicode.IsSpace(r) {
			return text[i:]
		}
		if next, n := utf8.DecodeRuneInString(text[i+size:]); n > 0 && !unicode.IsSpace(next) && c.joins(r, next) {
			return text[i:]
		}
		i += size
	}
	return ""
}

// text is a scanned text: the boundaries before each rune and at its end.
type text struct {
	src   string
	s     []boundary
	limit int
	exact bool
}

// boundary is the place before one rune of the text (or its end).
type boundary struct {
	off int // byte offset of the rune in the text
	pre int // cost of the text before it
	// next is the first boundary at or after this one that is followed by
	// a rune a part keeps (without Exact, white space is not kept at the
	// edges of a part); end is the last boundary at or before this one
	// that follows such a rune (0 if none). With Exact they are this one.
	next, end int
	left      int // fewest parts for the text from here on
	reach     int // the farthest a part starting here may end
	// cut is where the part starting here ends in the best way to send
	// the text from here on in left parts, and score is how good that
	// way is (see choose).
	cut   int
	score score
	flags uint8
	rank  uint8 // how good a place to end a part this is
}

const (
	// inCluster marks a boundary inside a grapheme cluster.
	inCluster uint8 = 1 << iota
	// trimmable marks a boundary followed by white space that a part
	// without Exact drops at its edges.
	trimmable
	// space marks a boundary followed by white space, trimmable or not.
	space
)

// Ranks of a boundary as the end of a part, best last.
const (
	rankNone uint8 = iota
	rankSpace
	rankSentence
	rankLine
)

// scan measures text and marks its boundaries.
func (sp Splitter) scan(src string) *text {
	lim, m := sp.limit(), sp.measure()
	s := make([]boundary, 0, utf8.RuneCountInString(src)+1)
	var c clusterState
	var st sentenceState
	prev := rune(-1)
	pre := 0
	for off, r := range src {
		b := boundary{off: off, pre: pre, rank: st.step(r)}
		isSpace := unicode.IsSpace(r)
		if prev >= 0 && c.joins(prev, r) {
			b.flags |= inCluster
			if !isSpace {
				// A space that carries a mark is the mark's base.
				s[len(s)-1].flags &^= trimmable
			}
		}
		if isSpace {
			b.flags |= space
			if !sp.Exact {
				b.flags |= trimmable
			}
		}
		s = append(s, b)
		pre += max(m(r), 0)
		c.add(r)
		prev = r
	}
	s = append(s, boundary{off: len(src), pre: pre, rank: st.step(-1)})
	t := &text{src: src, s: s, limit: lim, exact: sp.Exact}
	t.openLongClusters()
	n := len(s) - 1
	s[n].next = n
	for k := n - 1; k >= 0; k-- {
		s[k].next = k
		if s[k].flags&trimmable != 0 {
			s[k].next = s[k+1].next
		}
	}
	for j := 1; j <= n; j++ {
		s[j].end = j
		if s[j-1].flags&trimmable != 0 {
			s[j].end = s[j-1].end
		}
	}
	return t
}

// openLongClusters lets a cluster that alone costs more than the limit be
// cut anywhere: there is no other way to send it. Its runes are then on
// their own, so a space that was the base of a mark is white space again.
func (t *text) openLongClusters() {
	s := t.s
	a := 0
	for k := 1; k < len(s); k++ {
		if s[k].flags&inCluster != 0 {
			continue
		}
		if s[k].pre-s[a].pre > t.limit {
			for j := a; j < k; j++ {
				s[j].flags &^= inCluster
				if !t.exact && s[j].flags&space != 0 {
					s[j].flags |= trimmable
				}
			}
		}
		a = k
	}
}

// cost is what the part from boundary i to boundary j measures, without
// the white space at its edges that is not kept.
func (t *text) cost(i, j int) int {
	a, b := t.s[i].next, t.s[j].end
	if b <= a {
		return 0
	}
	return t.s[b].pre - t.s[a].pre
}

// part is the text of the part from boundary i to boundary j.
func (t *text) part(i, j int) string {
	a, b := t.s[i].next, t.s[j].end
	if b <= a {
		return ""
	}
	return t.src[t.s[a].off:t.s[b].off]
}

// allowed reports whether a part may end at boundary j: anywhere with
// Exact (the part count comes first), else not inside a cluster.
func (t *text) allowed(j int) bool { return t.exact || t.s[j].flags&inCluster == 0 }

// plan sets every boundary's reach and left. Packing each part as far as
// it reaches is optimal when the order is fixed and a part's cost only
// grows with its end and shrinks with its start, which is so here; the
// reach of a part starting at k only moves left as k does, so one pointer
// walking down finds them all. left never grows towards the end.
func (t *text) plan() {
	s := t.s
	n := len(s) - 1
	s[n].reach, s[n].left = n, 0
	g := n
	for k := n - 1; k >= 0; k-- {
		if nx := s[k].next; nx != k {
			// White space a part drops: as if the text went on from nx.
			s[k].reach, s[k].left = s[nx].reach, s[nx].left
			continue
		}
		for g > k && (!t.allowed(g) || t.cost(k, g) > t.limit) {
			g--
		}
		s[k].reach = g
		if g <= k {
			s[k].reach = k + 1 // one rune over the limit goes alone
		}
		s[k].left = 1 + s[s[k].reach].left
	}
}

// reachFrom is plan's reach of one boundary, for Cut.
func (t *text) reachFrom(i int) int {
	n := len(t.s) - 1
	g := i
	for j := i + 1; j <= n && t.cost(i, j) <= t.limit; j++ {
		if t.allowed(j) {
			g = j
		}
	}
	return max(g, i+1)
}

// choose sets the cut of every boundary a part may start at, choosing
// among the ways to send the text from there on in the fewest parts (left)
// the one that, in this order: cuts the fewest grapheme clusters (only
// Exact ever does); ends the most parts at a good place (rank > 0) in the
// second half of the part (by cost: its tail); has the best such places
// (the sum of their ranks); and, among equals, makes the earlier parts
// the fullest.
//
// A cut's worth does not depend on where its part starts except through
// the tail, and the cuts a part starting at k may end at are the allowed
// boundaries in [lo(k), reach(k)] (lo: the first whose left is one less),
// of which those from t(k) on are in its tail. lo, t and reach only move
// left as k does, so two sliding-window maxima, over the tail and over
// the rest, find every best cut in linear time.
func (t *text) choose() {
	s := t.s
	n := len(s) - 1
	minFill := t.limit - t.limit/2
	value := func(e int, tail bool) (score, bool) {
		if !t.allowed(e) {
			return score{}, false
		}
		v := s[s[e].next].score
		switch {
		case s[e].flags&inCluster != 0:
			v.clusterCuts++
		case tail && s[e].rank != rankNone:
			v.goodCuts++
			v.ranks += int(s[e].rank)
		}
		return v, true
	}
	var head, tail slidingMax
	head.init(n, t.limit, func(e int) (score, bool) { return value(e, false) })
	tail.init(n, t.limit, func(e int) (score, bool) { return value(e, true) })
	lo, tp := n+1, n+1
	for k := n - 1; k >= 0; k-- {
		if nx := s[k].next; nx != k {
			s[k].cut, s[k].score = s[nx].cut, s[nx].score
			continue
		}
		if s[k].left < 2 {
			s[k].score = score{}
			continue
		}
		for lo-1 > k && s[lo-1].left <= s[k].left-1 {
			lo--
		}
		for tp-1 > k && t.cost(k, tp-1) >= minFill {
			tp--
		}
		reach := s[k].reach
		head.slide(lo, min(tp-1, reach))
		tail.slide(max(lo, tp), reach)
		e, v, ok := tail.best()
		if he, hv, hok := head.best(); hok && (!ok || v.less(hv) || hv == v && he > e) {
			e, v = he, hv
		}
		s[k].cut, s[k].score = e, v
	}
}

// score is how good a way to cut a text is; see choose.
type score struct {
	clusterCuts int // fewer is better
	goodCuts    int // parts that end at a good place in their tail
	ranks       int // the sum of those places' ranks
}

// less reports whether a is worse than b.
func (a score) less(b score) bool {
	switch {
	case a.clusterCuts != b.clusterCuts:
		return a.clusterCuts > b.clusterCuts
	case a.goodCuts != b.goodCuts:
		return a.goodCuts < b.goodCuts
	}
	return a.ranks < b.ranks
}

// slidingMax is the maximum of value(e) over a window [from, to] of
// boundaries that only moves towards the start of the text, with ties
// going to the latest boundary. Boundaries whose value is not ok are
// never in it. A boundary's value must not change once it is offered.
type slidingMax struct {
	value func(e int) (score, bool)
	added int // every boundary from added on has been offered
	// q[head:] is the deque of candidates: boundaries decreasing, values
	// non-increasing, so the best is first.
	q    []entry
	head int
}

type entry struct {
	e int
	v score
}

func (w *slidingMax) init(n, limit int, value func(e int) (score, bool)) {
	w.value, w.added = value, n+1
	w.q = make([]entry, 0, min(n+1, 2*limit+8)) // about a window
}

// slide makes the window [from, to].
func (w *slidingMax) slide(from, to int) {
	for w.added > from {
		w.added--
		v, ok := w.value(w.added)
		if !ok {
			continue
		}
		for len(w.q) > w.head && w.q[len(w.q)-1].v.less(v) {
			w.q = w.q[:len(w.q)-1]
		}
		if len(w.q) == cap(w.q) && w.head > 0 {
			w.q = w.q[:copy(w.q, w.q[w.head:])]
			w.head = 0
		}
		w.q = append(w.q, entry{w.added, v})
	}
	for len(w.q) > w.head && w.q[w.head].e > to {
		w.head++
	}
}

func (w *slidingMax) best() (e int, v score, ok bool) {
	if len(w.q) == w.head {
		return 0, score{}, false
	}
	return w.q[w.head].e, w.q[w.head].v, true
}

// pick chooses where the part that starts at boundary i and can reach at
// most boundary g ends, when what follows is no concern (Cut): as choose
// would for the last cut, at the best good place in its tail, else at the
// latest boundary outside a cluster, else at g.
func (t *text) pick(i, g int) int {
	s := t.s
	minFill := t.limit - t.limit/2
	best, clean := -1, -1
	var bestRank uint8
	for j := g; j > i; j-- {
		if !t.allowed(j) {
			continue
		}
		inTail := t.cost(i, j) >= minFill
		if !inTail && clean >= 0 {
			break
		}
		if s[j].flags&inCluster != 0 {
			continue // only with Exact: cut a cluster if nothing else fits
		}
		if clean < 0 {
			clean = j
		}
		if inTail && s[j].rank > bestRank {
			best, bestRank = j, s[j].rank
		}
	}
	switch {
	case best >= 0:
		return best
	case clean >= 0:
		return clean
	}
	return g
}
