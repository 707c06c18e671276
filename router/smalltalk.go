package router

import (
	"slices"
	"strings"
	"unicode"

	"hotline/envelope"
)

// Small talk is a message made only of greetings, thanks and their
// fillers ("hi", "ok thanks!", "谢谢", "👍", a sticker). It gets a short
// friendly answer (with the menu for a greeting) and never a ticket:
// agents' queues are for questions. Anything else in the message — a
// question, a complaint — makes it an ordinary message.

// Kinds of small talk, named as their answer texts are (smalltalk_<kind>).
const (
	talkGreeting = "greeting"
	talkThanks   = "thanks"
	talkEmoji    = "emoji"
)

// talkPhrase is one known greeting or thanks, with every language that
// uses it (one language only is a hint of the user's language).
type talkPhrase struct {
	kind  string
	langs []string
}

// smallTalkIndex maps a phrase, folded and without spaces, to what it is.
type smallTalkIndex struct {
	phrases map[string]talkPhrase
	longest int // bytes, bounds the prefix search
}

func indexSmallTalk(c *Catalog) smallTalkIndex {
	idx := smallTalkIndex{phrases: map[string]talkPhrase{}}
	for _, code := range c.codes {
		for _, kind := range []string{talkGreeting, talkThanks} {
			for _, p := range c.langs[code].SmallTalk[kind] {
				key := despace(fold(p))
				if key == "" {
					continue
				}
				e := idx.phrases[key]
				if e.kind == "" || e.kind == talkGreeting {
					// "thanks" wins when two languages disagree:
					// its answer fits both.
					e.kind = kind
				}
				if !slices.Contains(e.langs, code) {
					e.langs = append(e.langs, code)
				}
				idx.phrases[key] = e
				idx.longest = max(idx.longest, len(key))
			}
		}
	}
	return idx
}

// despace drops spaces, so "thank you" matches "thankyou" and a Chinese
// message without spaces splits like one with them.
func despace(s string) string {
	return strings.Join(strings.Fields(s), "")
}

// classify tells whether text is small talk: its kind ("" if not) and,
// when every phrase in it belongs to one language, that language.
func (idx smallTalkIndex) classify(text string) (kind, lang string) {
	rest := despace(strings.Map(func(r rune) rune {
		if unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.Is(unicode.Variation_Selector, r) || r == '\u200d' {
			return -1 // emoji, marks and joiners
		}
		return r
	}, fold(text)))
	if rest == "" {
		if strings.TrimSpace(text) == "" {
			return "", ""
		}
		return talkEmoji, ""
	}
	if len(text) > 200 {
		return "", "" // a paragraph is not small talk, whatever it starts with
	}
	langs := map[string]int{}
	phrases := 0
	for rest != "" {
		// Longest known phrase at the start of what is left.
		n := 0
		var hit talkPhrase
		for l := min(len(rest), idx.longest); l > 0; l-- {
			if p, ok := idx.phrases[rest[:l]]; ok {
				n, hit = l, p
				break
			}
		}
		if n == 0 {
			return "", ""
		}
		if hit.kind == talkThanks || kind == "" {
			kind = hit.kind
		}
		for _, l := range hit.langs {
			langs[l]++
		}
		phrases++
		rest = rest[n:]
	}
	// A language every phrase belongs to, if only one: "hola gracias"
	// is Spanish, "ok" alone could be anyone's.
	var shared []string
	for l, count := range langs {
		if count == phrases {
			shared = append(shared, l)
		}
	}
	if len(shared) == 1 {
		lang = shared[0]
	}
	return kind, lang
}

// isSticker reports a sticker or an emoji-only message: small talk whose
// answer is a smile and the way to the menu.
func isSticker(m *envelope.Message) bool {
	return m.Meta["sticker"] != ""
}
