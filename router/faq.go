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
	ID       string              `yaml:"id"`
	Keywords map[string][]string `yaml:"keywords"` // per language, phrases
	Answer   map[string]string   `yaml:"answer"`   // per language
}

// FAQ is an ordered list of entries; earlier entries win ties.
type FAQ struct{ entries []FAQEntry }

// FAQMatch explains an answer: which entry, because of which phrase.
type FAQMatch struct {
	ID          string
	Keyword     string
	KeywordLang string
}

// LoadFAQ reads the operator's file (may be empty) and the built-in
// entries. The file's entries come first, and one with a built-in's id
// replaces it.
func LoadFAQ(file string) (*FAQ, error) {
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
	f := &FAQ{}
	ids := map[string]bool{}
	for i, e := range append(own, base...) {
		if ids[e.ID] {
			continue
		}
		if e.ID == "" || len(e.Answer) == 0 || len(e.Keywords) == 0 {
			return nil, fmt.Errorf("faq: entry %d (%q) needs id, keywords and answer", i, e.ID)
		}
		if e.Answer["en"] == "" {
			return nil, fmt.Errorf("faq: entry %q needs an English answer (the fallback)", e.ID)
		}
		ids[e.ID] = true
		for lang, words := range e.Keywords {
			for j, w := range words {
				words[j] = fold(w)
			}
			e.Keywords[lang] = words
		}
		f.entries = append(f.entries, e)
	}
	return f, nil
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
					best, bestLen, bestOwnLang = FAQMatch{ID: e.ID, Keyword: w, KeywordLang: kwLang}, len(w), own
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
			if a := e.Answer[lang]; a != "" {
				return a
			}
			return e.Answer["en"]
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
