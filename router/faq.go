package router

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FAQEntry answers a common question.
type FAQEntry struct {
	ID       string              `yaml:"id" json:"id"`
	Keywords map[string][]string `yaml:"keywords" json:"keywords"` // per language, phrases
	Answer   map[string]string   `yaml:"answer" json:"answer"`     // per language
	// Disabled, in an entry edited at run time, hides the seed entry
	// with its id.
	Disabled bool `yaml:"-" json:"disabled,omitempty"`
}

// FAQ is an ordered list of entries; earlier entries win ties.
type FAQ struct{ entries []FAQEntry }

// FAQMatch explains an answer: which entry, because of which phrase.
type FAQMatch struct {
	ID          string
	Keyword     string
	KeywordLang string
	// answers are the entry's, kept with the match: the FAQ may change
	// between the match and the answer.
	answers map[string]string
}

// Answer is the matched entry's answer in lang, else English.
func (m FAQMatch) Answer(lang string) string {
	if a := m.answers[lang]; a != "" {
		return a
	}
	return m.answers["en"]
}

// LoadFAQ reads the operator's file (may be empty) and the built-in
// entries. The file's entries come first, and one with a built-in's id
// replaces it.
func LoadFAQ(file string) (*FAQ, error) {
	seed, err := loadFAQSeed(file)
	if err != nil {
		return nil, err
	}
	return buildFAQ(seed)
}

// loadFAQSeed reads the operator's file and the built-in entries, the
// file's first, as written.
func loadFAQSeed(file string) ([]FAQEntry, error) {
	builtin, err := builtinData.ReadFile("data/faq.yaml")
	if err != nil {
		return nil, err
	}
	var base []FAQEntry
	if err := yaml.Unmarshal(builtin, &base); err != nil {
		return nil, fmt.Errorf("faq: built-in: %w", err)
	}
	var own []FAQEntry
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("faq: %w", err)
		}
		if err := yaml.Unmarshal(data, &own); err != nil {
			return nil, fmt.Errorf("faq: %s: %w", file, err)
		}
	}
	return append(own, base...), nil
}

// buildFAQ checks and folds entries into an FAQ; the first entry with an
// id wins, and a disabled one only hides the later ones.
func buildFAQ(entries []FAQEntry) (*FAQ, error) {
	f := &FAQ{}
	ids := map[string]bool{}
	for i, e := range entries {
		if ids[e.ID] {
			continue
		}
		ids[e.ID] = true
		if e.Disabled {
			continue
		}
		if err := e.check(); err != nil {
			return nil, fmt.Errorf("faq: entry %d: %w", i, err)
		}
		f.entries = append(f.entries, e.folded())
	}
	return f, nil
}

// check reports what keeps e from answering anyone.
func (e *FAQEntry) check() error {
	if e.ID == "" || len(e.Answer) == 0 || len(e.Keywords) == 0 {
		return fmt.Errorf("%q needs id, keywords and answer", e.ID)
	}
	if e.Answer["en"] == "" {
		return fmt.Errorf("%q needs an English answer (the fallback)", e.ID)
	}
	return nil
}

// folded is e with its phrases folded as messages are, in a copy: the
// caller's entry (the one stored, shown to operators) keeps their words.
func (e FAQEntry) folded() FAQEntry {
	kw := make(map[string][]string, len(e.Keywords))
	for lang, words := range e.Keywords {
		out := make([]string, len(words))
		for j, w := range words {
			out[j] = fold(w)
		}
		kw[lang] = out
	}
	e.Keywords = kw
	return e
}

// Match finds the entry whose phrase is the longest one contained in the
// folded text; on a tie, the user's language, then the earlier entry.
func (f *FAQ) Match(folded, lang string) (FAQMatch, bool) {
	var best FAQMatch
	bestLen, bestOwnLang := 0, false
	for _, e := range f.entries {
		for _, kwLang := range sortedKeys(e.Keywords) {
			for _, w := range e.Keywords[kwLang] {
				if w == "" || len(w) < bestLen {
					continue
				}
				own := kwLang == lang
				if len(w) == bestLen && (bestOwnLang || !own) {
					continue
				}
				if strings.Contains(folded, w) {
					best, bestLen, bestOwnLang = FAQMatch{ID: e.ID, Keyword: w, KeywordLang: kwLang, answers: e.Answer}, len(w), own
				}
			}
		}
	}
	return best, bestLen > 0
}

// Answer returns entry id's answer in lang, else English.
func (f *FAQ) Answer(id, lang string) string {
	for _, e := range f.entries {
		if e.ID == id {
			return FAQMatch{answers: e.Answer}.Answer(lang)
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
