package router

import (
	"fmt"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"

	"hotline/envelope"
)

// lexicon is a list of folded phrases per language.
type lexicon map[string][]string

// Lexicons holds the phrase lists that set a handoff's priority.
type Lexicons struct {
	P1    lexicon `yaml:"p1"`
	P2    lexicon `yaml:"p2"`
	Anger lexicon `yaml:"anger"`
}

func loadLexicons() (*Lexicons, error) {
	data, err := builtinData.ReadFile("data/priority.yaml")
	if err != nil {
		return nil, err
	}
	var l Lexicons
	if err := yaml.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("priority lexicon: %w", err)
	}
	for _, lx := range []lexicon{l.P1, l.P2, l.Anger} {
		for lang, words := range lx {
			for i, w := range words {
				words[i] = fold(w)
			}
			lx[lang] = words
		}
	}
	return &l, nil
}

// find returns the longest phrase of lx found in text and its language,
// scanning languages in a fixed order so the result is reproducible.
func (lx lexicon) find(text string) (phrase, lang string) {
	for _, l := range sortedKeys(lx) {
		for _, w := range lx[l] {
			if len(w) > len(phrase) && strings.Contains(text, w) {
				phrase, lang = w, l
			}
		}
	}
	return phrase, lang
}

// Classification is a message's priority and why.
type Classification struct {
	Priority envelope.Priority
	Reasons  []string
	Angry    bool
}

// classify sets the priority of free text: p1 for account theft and
// personal safety, p2 for money and live-stream outages, p3 otherwise,
// one level up for anger or for a user who switched channels.
func (l *Lexicons) classify(text string, switchedChannel bool) Classification {
	folded := fold(text)
	c := Classification{Priority: envelope.P3}
	if w, lang := l.P1.find(folded); w != "" {
		c.Priority = envelope.P1
		c.Reasons = append(c.Reasons, fmt.Sprintf("p1 phrase %q (%s)", w, lang))
	} else if w, lang := l.P2.find(folded); w != "" {
		c.Priority = envelope.P2
		c.Reasons = append(c.Reasons, fmt.Sprintf("p2 phrase %q (%s)", w, lang))
	}
	if reason := l.anger(text, folded); reason != "" {
		c.Angry = true
		c.Reasons = append(c.Reasons, reason)
		c.Priority = raise(c.Priority, 1)
	}
	if switchedChannel {
		c.Reasons = append(c.Reasons, "wrote on another channel within 10 minutes")
		c.Priority = raise(c.Priority, 1)
	}
	return c
}

// anger reports why text reads as angry: a phrase from the lexicon,
// repeated !!! or ??? (full-width forms fold to these; Arabic ؟ counts),
// or shouting in capitals.
func (l *Lexicons) anger(raw, folded string) string {
	if w, lang := l.Anger.find(folded); w != "" {
		return fmt.Sprintf("anger phrase %q (%s)", w, lang)
	}
	if strings.Contains(folded, "!!!") || strings.Contains(folded, "???") || strings.Contains(folded, "؟؟؟") {
		return "repeated !!! or ???"
	}
	var letters, upper int
	for _, r := range raw {
		if unicode.IsLetter(r) && (unicode.IsUpper(r) || unicode.IsLower(r)) {
			letters++
			if unicode.IsUpper(r) {
				upper++
			}
		}
	}
	if letters >= 8 && upper*10 >= letters*8 {
		return "shouting in capitals"
	}
	return ""
}
