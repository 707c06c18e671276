package router

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// CommandKind names what a user asked for.
type CommandKind int

// Command kinds. CmdNone means free text: FAQ, then handoff.
const (
	CmdNone CommandKind = iota
	CmdHelp
	CmdLang
	CmdMenu
	CmdStatus
	CmdHuman
	CmdStop
	CmdStart
	CmdBind
	CmdUnbind
	CmdMenuCode // a single digit 1-9
	CmdCode     // six digits: a phone-binding code

	// Events that are not typed commands.
	cmdWelcome // a new follower or /start
	cmdIgnore  // an event that needs no answer (view, scan, location)
)

var commandNames = map[string]CommandKind{
	"help": CmdHelp, "lang": CmdLang, "menu": CmdMenu, "status": CmdStatus, "human": CmdHuman,
	"stop": CmdStop, "start": CmdStart, "bind": CmdBind, "unbind": CmdUnbind,
}

func (k CommandKind) String() string {
	for name, kind := range commandNames {
		if kind == k {
			return name
		}
	}
	switch k {
	case CmdMenuCode:
		return "menu_code"
	case CmdCode:
		return "code"
	}
	return "none"
}

// Command is a parsed keyword command.
type Command struct {
	Kind CommandKind
	// Lang is the language asked for by help+<lang> or lang <lang>.
	Lang    LangMatch
	HasLang bool
	// AliasLang is the language of the command word when only one
	// language uses it (ajuda → pt), so the answer can come in it.
	AliasLang string
	// Arg is the phone of bind, or the digits of a menu or binding code.
	Arg string
}

type alias struct {
	kind  CommandKind
	langs []string
}

// Parser recognizes commands in every language of a catalog.
type Parser struct {
	catalog *Catalog
	aliases map[string]alias
	longest int // most tokens in one alias
}

// NewParser builds the command table from the catalog's command words plus
// the English words, which always work.
func NewParser(c *Catalog) (*Parser, error) {
	p := &Parser{catalog: c, aliases: map[string]alias{}}
	add := func(word, cmd, lang string) error {
		kind, ok := commandNames[cmd]
		if !ok {
			return fmt.Errorf("texts: %s: unknown command %q", lang, cmd)
		}
		key := canon(word)
		if key == "" {
			return nil
		}
		a, seen := p.aliases[key]
		if seen && a.kind != kind {
			return fmt.Errorf("texts: %s: %q means %s here and %s in %v", lang, word, cmd, a.kind, a.langs)
		}
		a.kind = kind
		a.langs = append(a.langs, lang)
		p.aliases[key] = a
		p.longest = max(p.longest, len(strings.Fields(key)))
		return nil
	}
	for cmd := range commandNames {
		if err := add(cmd, cmd, "en"); err != nil {
			return nil, err
		}
	}
	for _, code := range c.Codes() {
		for cmd, words := range c.Lang(code).Commands {
			for _, w := range words {
				if err := add(w, cmd, code); err != nil {
					return nil, err
				}
			}
		}
	}
	return p, nil
}

// fold is the normal form every comparison uses: Unicode NFKC (so
// full-width ＨＥＬＰ is help and Thai sara am is decomposed the same way
// in data and message), lower case, outer space trimmed.
func fold(s string) string {
	return strings.TrimSpace(strings.ToLower(norm.NFKC.String(s)))
}

// isSeparator reports the characters that separate a command from its
// argument: + space - _ : (full-width forms fold to these).
func isSeparator(r rune) bool {
	return r == '+' || r == '-' || r == '_' || r == ':' || unicode.IsSpace(r)
}

// canon folds s, turns every run of separators into one space and drops
// punctuation around the whole text ("Help!", "¿ayuda?").
func canon(s string) string {
	s = fold(s)
	s = strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsPunct(r) || unicode.IsSymbol(r) || isSeparator(r)
	})
	return strings.Join(strings.FieldsFunc(s, isSeparator), " ")
}

var phonePattern = regexp.MustCompile(`\+?\d[\d\s().-]{5,}\d`)

// maxCommandLen bounds what is tried as a command; anything longer is a
// sentence, not a keyword.
const maxCommandLen = 120

// Parse reads text as a command. Words must match whole: "helpful" and
// "help me with my order" are not commands, "help+ar" and "ＨＥＬＰ＋ＥＮ"
// are.
func (p *Parser) Parse(text string) Command {
	if len(text) > maxCommandLen {
		return Command{}
	}
	c := canon(text)
	if c == "" {
		return Command{}
	}
	if digits, ok := asciiDigits(c); ok {
		switch {
		case len(digits) == 1 && digits != "0":
			return Command{Kind: CmdMenuCode, Arg: digits}
		case len(digits) == 6:
			return Command{Kind: CmdCode, Arg: digits}
		}
		return Command{}
	}
	tokens := strings.Split(c, " ")
	for n := min(p.longest, len(tokens)); n >= 1; n-- {
		a, ok := p.aliases[strings.Join(tokens[:n], " ")]
		if !ok {
			continue
		}
		rest := strings.Join(tokens[n:], " ")
		cmd := Command{Kind: a.kind}
		if len(a.langs) == 1 && a.langs[0] != "en" {
			cmd.AliasLang = a.langs[0]
		}
		switch a.kind {
		case CmdHelp:
			if rest == "" {
				return cmd
			}
			m, ok := p.catalog.MatchLang(rest)
			if !ok {
				return Command{} // "help my account": a sentence
			}
			cmd.Lang, cmd.HasLang = m, true
			return cmd
		case CmdLang:
			if rest != "" {
				m, ok := p.catalog.MatchLang(rest)
				if !ok {
					return Command{}
				}
				cmd.Lang, cmd.HasLang = m, true
			}
			return cmd
		case CmdBind:
			if rest == "" {
				return cmd
			}
			if phone := phonePattern.FindString(latinDigits(norm.NFKC.String(text))); phone != "" {
				cmd.Arg = cleanPhone(phone)
			} else {
				cmd.Arg = rest // not a number; the router asks again
			}
			return cmd
		default:
			if rest != "" {
				return Command{} // "status of my order" is a question
			}
			return cmd
		}
	}
	return Command{}
}

// latinDigits rewrites Arabic-Indic, Persian and Thai digits as 0-9, the
// digits Arabic and Thai users may type for a menu code or a phone.
func latinDigits(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '\u0660' && r <= '\u0669':
			return '0' + r - '\u0660'
		case r >= '\u06F0' && r <= '\u06F9':
			return '0' + r - '\u06F0'
		case r >= '\u0E50' && r <= '\u0E59':
			return '0' + r - '\u0E50'
		}
		return r
	}, s)
}

// asciiDigits returns s as ASCII digits when it is only digits (and
// spaces between groups, "123 456").
func asciiDigits(s string) (string, bool) {
	s = strings.ReplaceAll(latinDigits(s), " ", "")
	if s == "" {
		return "", false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	return s, true
}

// cleanPhone keeps a leading + and the digits.
func cleanPhone(s string) string {
	var b strings.Builder
	for i, r := range s {
		if (r == '+' && i == 0) || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}
