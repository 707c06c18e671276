package webchat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"golang.org/x/text/language"

	"hotline/platform"
)

// LabelDir is the key of Config.Labels[lang] that says the language is
// written right to left ("rtl").
const LabelDir = platform.LabelDir

// maxLangs bounds the languages a page may list.
const maxLangs = 10

// langPicker chooses, from the languages a browser prefers, the one the
// page and the bot should speak.
type langPicker struct {
	codes   []string // the languages with labels, sorted
	matcher language.Matcher
}

func newLangPicker(labels map[string]map[string]string) (*langPicker, error) {
	p := &langPicker{}
	var tags []language.Tag
	for _, code := range slices.Sorted(maps.Keys(labels)) {
		tag, err := language.Parse(code)
		if err != nil {
			return nil, fmt.Errorf("labels: language %q: %w", code, err)
		}
		p.codes = append(p.codes, code)
		tags = append(tags, tag)
	}
	if len(tags) > 0 {
		p.matcher = language.NewMatcher(tags)
	}
	return p, nil
}

// pick returns the best supported language for a comma-separated list in
// the browser's order of preference (navigator.languages), or, when none
// is supported (or there are no labels), the first well-formed tag, so
// the router still hears what the browser said.
func (p *langPicker) pick(list string) string {
	var tags []language.Tag
	first := ""
	parts := strings.Split(list, ",")
	if len(parts) > maxLangs {
		parts = parts[:maxLangs]
	}
	for _, s := range parts {
		s = cleanLang(strings.TrimSpace(s))
		if s == "" {
			continue
		}
		tag, err := language.Parse(s)
		if err != nil {
			continue
		}
		if first == "" {
			first = s
		}
		tags = append(tags, tag)
	}
	if p.matcher == nil || len(tags) == 0 {
		return first
	}
	_, idx, conf := p.matcher.Match(tags...)
	if conf >= language.High {
		return p.codes[idx]
	}
	return first
}

// pickLang is the adapter's picker on a page's list.
func (a *Adapter) pickLang(list string) string { return a.langs.pick(list) }

// labelsPlaceholder is where index.html takes the labels.
var labelsPlaceholder = []byte("{{LABELS}}")

// renderPage puts the labels of every language into the page as a JSON
// data block: the page picks its language before the socket opens and
// switches when the conversation's language changes, with no request.
// A data block is not a script, so the CSP's script-src does not apply;
// json.Marshal escapes "<", so no label can close the element.
func renderPage(labels map[string]map[string]string) ([]byte, error) {
	if labels == nil {
		labels = map[string]map[string]string{}
	}
	data, err := json.Marshal(labels)
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	if !bytes.Contains(indexHTML, labelsPlaceholder) {
		return nil, fmt.Errorf("labels: index.html has no %s", labelsPlaceholder)
	}
	return bytes.Replace(indexHTML, labelsPlaceholder, data, 1), nil
}

// labelDir is the direction of lang's labels: "rtl" or "".
func (a *Adapter) labelDir(lang string) string {
	if a.cfg.Labels[lang][LabelDir] == "rtl" {
		return "rtl"
	}
	return ""
}
