package router

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
)

//go:embed data/texts/*.yaml data/priority.yaml data/faq.yaml data/canned/*.yaml
var builtinData embed.FS

// Text keys every language file must have.
var requiredTexts = []string{
	"welcome", "help", "menu", "menu_account_security", "menu_payments", "menu_live_stream",
	"status", "status_incident", "handoff_ack", "handoff_ack_urgent", "handoff_limit", "read_only",
	"busy", "error", "review_pending", "lang_set", "lang_unsupported", "bind_sent", "bind_ok",
	"bind_bad_code", "bind_expired", "bind_bad_phone", "bind_rate_limited", "unbind_ok", "stopped",
	"started", "unknown", "sla_p1", "sla_p2", "sla_p3", "bind_code_sms",
}

// Lang is one language's texts and command words.
type Lang struct {
	Code        string              `yaml:"lang"`
	Name        string              `yaml:"name"`
	EnglishName string              `yaml:"english_name"`
	Dir         string              `yaml:"dir"`
	Names       []string            `yaml:"names"`
	Commands    map[string][]string `yaml:"commands"`
	// SmallTalk holds greetings and thanks ("greeting", "thanks"): a
	// message made only of them gets a friendly answer, not a ticket.
	SmallTalk map[string][]string `yaml:"smalltalk"`
	Texts     map[string]string   `yaml:"texts"`
}

// Catalog holds every language hotline answers in.
type Catalog struct {
	// edited holds the texts operators changed at run time
	// (hotline_knowledge), by textKey; they win over the files'.
	edited  atomic.Pointer[map[string]string]
	langs   map[string]*Lang
	codes   []string // sorted
	matcher language.Matcher
	tags    []language.Tag
	names   map[string]string // folded language name -> code
	talk    smallTalkIndex
}

// mergeYAMLs hands merge every built-in *.yaml file under builtinDir, then
// every *.yaml file of the operator's ownDir (none when ""), in that
// order, so the operator's replace and add to the built-in ones.
func mergeYAMLs(builtinDir, ownDir string, merge func(file string, data []byte) error) error {
	files, err := fs.Glob(builtinData, builtinDir+"/*.yaml")
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := builtinData.ReadFile(f)
		if err != nil {
			return err
		}
		if err := merge(f, data); err != nil {
			return err
		}
	}
	if ownDir == "" {
		return nil
	}
	own, err := filepath.Glob(filepath.Join(ownDir, "*.yaml"))
	if err != nil {
		return err
	}
	for _, f := range own {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := merge(f, data); err != nil {
			return err
		}
	}
	return nil
}

// LoadCatalog reads the built-in texts and, when overrideDir is set, the
// YAML files in it: a file for a built-in language replaces the texts and
// words it sets; a file for a new language adds it (it must then have
// every text).
func LoadCatalog(overrideDir string) (*Catalog, error) {
	c := &Catalog{langs: map[string]*Lang{}, names: map[string]string{}}
	if err := mergeYAMLs("data/texts", overrideDir, c.merge); err != nil {
		return nil, fmt.Errorf("texts: %w", err)
	}
	return c, c.finish()
}

func (c *Catalog) merge(file string, data []byte) error {
	var l Lang
	if err := yaml.Unmarshal(data, &l); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if l.Code == "" {
		return fmt.Errorf("%s: lang is required", file)
	}
	if _, err := language.Parse(l.Code); err != nil {
		return fmt.Errorf("%s: lang %q: %w", file, l.Code, err)
	}
	base, ok := c.langs[l.Code]
	if !ok {
		c.langs[l.Code] = &l
		return nil
	}
	if l.Name != "" {
		base.Name = l.Name
	}
	if l.EnglishName != "" {
		base.EnglishName = l.EnglishName
	}
	if l.Dir != "" {
		base.Dir = l.Dir
	}
	base.Names = append(base.Names, l.Names...)
	for k, v := range l.Commands {
		base.Commands[k] = v
	}
	for k, v := range l.SmallTalk {
		if base.SmallTalk == nil {
			base.SmallTalk = map[string][]string{}
		}
		base.SmallTalk[k] = v
	}
	for k, v := range l.Texts {
		base.Texts[k] = v
	}
	return nil
}

func (c *Catalog) finish() error {
	for code, l := range c.langs {
		for _, key := range requiredTexts {
			if strings.TrimSpace(l.Texts[key]) == "" {
				return fmt.Errorf("texts: %s: text %q is missing", code, key)
			}
		}
		if l.Dir != "ltr" && l.Dir != "rtl" {
			return fmt.Errorf("texts: %s: dir %q is not ltr or rtl", code, l.Dir)
		}
		c.codes = append(c.codes, code)
	}
	if _, ok := c.langs["en"]; !ok {
		return fmt.Errorf("texts: English (en) is required: it is the fallback of every text")
	}
	sort.Strings(c.codes)
	for _, code := range c.codes {
		c.tags = append(c.tags, language.MustParse(code))
		l := c.langs[code]
		for _, n := range append(slices.Clone(l.Names), strings.ToLower(code), fold(l.Name), fold(l.EnglishName)) {
			n = fold(n)
			if prev, taken := c.names[n]; taken && prev != code {
				return fmt.Errorf("texts: language name %q is claimed by %s and %s", n, prev, code)
			}
			c.names[n] = code
		}
	}
	c.matcher = language.NewMatcher(c.tags)
	c.talk = indexSmallTalk(c)
	return nil
}

// Codes lists the supported language codes, sorted.
func (c *Catalog) Codes() []string { return c.codes }

// Has reports whether code has texts.
func (c *Catalog) Has(code string) bool { _, ok := c.langs[code]; return ok }

// Lang returns the language with the given code, or English.
func (c *Catalog) Lang(code string) *Lang {
	if l, ok := c.langs[code]; ok {
		return l
	}
	return c.langs["en"]
}

// Text returns text key in lang with {placeholders} filled from vars. A
// language without the key falls back to English.
func (c *Catalog) Text(lang, key string, vars ...string) string {
	t := c.edit(lang, key)
	if t == "" {
		t = c.Lang(lang).Texts[key]
	}
	if t == "" {
		t = c.edit("en", key)
	}
	if t == "" {
		t = c.langs["en"].Texts[key]
	}
	if len(vars) > 0 {
		pairs := make([]string, 0, len(vars))
		for i := 0; i+1 < len(vars); i += 2 {
			pairs = append(pairs, "{"+vars[i]+"}", vars[i+1])
		}
		t = strings.NewReplacer(pairs...).Replace(t)
	}
	return t
}

// textKey names one text in Catalog.edited.
func textKey(lang, key string) string { return lang + "\x00" + key }

func (c *Catalog) edit(lang, key string) string {
	if m := c.edited.Load(); m != nil {
		return (*m)[textKey(lang, key)]
	}
	return ""
}

// placeholders lists the {names} a text fills in.
func placeholders(text string) []string {
	var out []string
	for rest := text; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return out
		}
		if name := rest[i+1 : i+j]; name != "" && !strings.ContainsAny(name, " {") && !slices.Contains(out, name) {
			out = append(out, name)
		}
		rest = rest[i+j+1:]
	}
}

// LangMatch is how a user's language request was understood.
type LangMatch struct {
	Code      string // a supported code; empty when Supported is false
	Requested string // what the user asked for, as a BCP 47 tag when it parses
	Supported bool
}

// MatchLang understands a user's language request leniently: a supported
// code in any case (EN, zh-hant), a regional tag mapped to what we have
// (zh-tw → zh-Hant, pt-BR → pt), or a language name in English or the
// language itself (chinese, العربية). A well-formed tag for a language we
// have no texts for comes back unsupported; anything else is no language
// at all (ok false), so "help me" is not read as a language request.
func (c *Catalog) MatchLang(s string) (m LangMatch, ok bool) {
	s = fold(s)
	if s == "" {
		return LangMatch{}, false
	}
	if code, found := c.names[s]; found {
		return LangMatch{Code: code, Requested: code, Supported: true}, true
	}
	tag, err := language.Parse(strings.ReplaceAll(s, " ", "-"))
	if err != nil || !looksLikeTag(s) {
		return LangMatch{}, false
	}
	_, idx, conf := c.matcher.Match(tag)
	if conf >= language.High {
		return LangMatch{Code: c.codes[idx], Requested: tag.String(), Supported: true}, true
	}
	return LangMatch{Requested: tag.String()}, true
}

// looksLikeTag keeps ordinary words out of language matching: BCP 47
// parses many short words ("me", "my" are registered language codes), so
// only two- or three-letter primary subtags count, and "me", "my" and
// the like only when they are not English words a user writes after help.
func looksLikeTag(s string) bool {
	primary, _, _ := strings.Cut(strings.ReplaceAll(s, " ", "-"), "-")
	if len(primary) < 2 || len(primary) > 3 {
		return false
	}
	switch primary {
	case "me", "my", "is", "am", "an", "as", "at", "be", "by", "do", "go", "he", "if", "in", "it",
		"no", "of", "on", "or", "so", "to", "up", "us", "we", "all", "and", "are", "can", "for",
		"how", "not", "now", "pls", "the", "you", "was", "who", "why":
		return false
	}
	return true
}

// LangFromHint maps a platform's language hint to a supported code, or
// "". Platforms write hints as BCP 47 tags ("pt-br") or as locales with an
// underscore ("zh_CN"); both are read.
func (c *Catalog) LangFromHint(hint string) string {
	if hint == "" {
		return ""
	}
	tag, err := language.Parse(strings.ReplaceAll(hint, "_", "-"))
	if err != nil {
		return ""
	}
	_, idx, conf := c.matcher.Match(tag)
	if conf >= language.High {
		return c.codes[idx]
	}
	return ""
}
