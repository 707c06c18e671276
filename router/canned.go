package router

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// CannedReply is an answer agents send often, with placeholders filled
// from the handoff it answers: {name}, {ticket}, {agent}.
type CannedReply struct {
	ID    string `yaml:"id" json:"id"`
	Lang  string `yaml:"-" json:"lang"`
	Title string `yaml:"title" json:"title"`
	Text  string `yaml:"text" json:"text"`
}

// Canned holds the canned replies by language: the built-in ones, with
// an operator's <texts_dir>/canned/<lang>.yaml replacing entries by id
// and adding more.
type Canned struct{ byLang map[string][]CannedReply }

// LoadCanned reads the built-in canned replies and the operator's.
func LoadCanned(textsDir string) (*Canned, error) {
	c := &Canned{byLang: map[string][]CannedReply{}}
	own := ""
	if textsDir != "" {
		own = filepath.Join(textsDir, "canned")
	}
	if err := mergeYAMLs("data/canned", own, c.merge); err != nil {
		return nil, fmt.Errorf("canned: %w", err)
	}
	return c, nil
}

func (c *Canned) merge(file string, data []byte) error {
	var doc struct {
		Lang    string        `yaml:"lang"`
		Replies []CannedReply `yaml:"replies"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if doc.Lang == "" {
		return fmt.Errorf("%s: lang is required", file)
	}
	list := c.byLang[doc.Lang]
	for i, rep := range doc.Replies {
		if rep.ID == "" || strings.TrimSpace(rep.Text) == "" {
			return fmt.Errorf("%s: reply %d needs an id and a text", file, i)
		}
		rep.Lang, rep.Title = doc.Lang, cmp.Or(rep.Title, rep.ID)
		if j := slices.IndexFunc(list, func(r CannedReply) bool { return r.ID == rep.ID }); j >= 0 {
			list[j] = rep
		} else {
			list = append(list, rep)
		}
	}
	c.byLang[doc.Lang] = list
	return nil
}

// For returns the canned replies in lang, or in English when there are
// none in it, with the placeholders filled. name "" reads as the
// language's own word for the user ("there" in English).
func (c *Canned) For(lang, name, ticket, agent string) []CannedReply {
	list, ok := c.byLang[lang]
	if !ok {
		list = c.byLang["en"]
	}
	fill := strings.NewReplacer("{name}", cmp.Or(name, unnamed(lang)), "{ticket}", ticket, "{agent}", agent)
	out := make([]CannedReply, len(list))
	for i, rep := range list {
		rep.Text = fill.Replace(rep.Text)
		out[i] = rep
	}
	return out
}

// Find returns the canned reply id in lang (or English), filled.
func (c *Canned) Find(id, lang, name, ticket, agent string) (CannedReply, bool) {
	for _, rep := range c.For(lang, name, ticket, agent) {
		if rep.ID == id {
			return rep, true
		}
	}
	return CannedReply{}, false
}

// unnamed is how a reply addresses a user whose name the platform did
// not give: "Hi there" in English; other languages' texts read well
// without a name.
func unnamed(lang string) string {
	if lang == "en" {
		return "there"
	}
	return ""
}
