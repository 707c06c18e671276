package router

import (
	"strings"
	"sync"
	"testing"
)

var testParser = sync.OnceValues(func() (*Parser, error) {
	c, err := LoadCatalog("")
	if err != nil {
		return nil, err
	}
	return NewParser(c)
})

func parser(t testing.TB) *Parser {
	t.Helper()
	p, err := testParser()
	if err != nil {
		t.Fatalf("parser: %v", err)
	}
	return p
}

// Each case gives the kind, for help and lang the language ("?xx" for an
// unsupported xx), for bind and codes the argument, and the language of
// the command word when only one language uses it.
func TestParseCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, kind, lang, arg, alias string
	}{
		// English and the grammar
		{in: "help", kind: "help"},
		{in: "HELP", kind: "help"},
		{in: "  Help!  ", kind: "help"},
		{in: "help+en", kind: "help", lang: "en"},
		{in: "help en", kind: "help", lang: "en"},
		{in: "help-EN", kind: "help", lang: "en"},
		{in: "help_en", kind: "help", lang: "en"},
		{in: "help:en", kind: "help", lang: "en"},
		{in: "help：ar", kind: "help", lang: "ar"},
		{in: "ＨＥＬＰ＋ＥＮ", kind: "help", lang: "en"},
		{in: "Ｈｅｌｐ　ａｒ", kind: "help", lang: "ar"},
		{in: "help+ar", kind: "help", lang: "ar"},
		{in: "help+zh", kind: "help", lang: "zh"},
		{in: "help+zh-tw", kind: "help", lang: "zh-Hant"},
		{in: "help+zh-Hant", kind: "help", lang: "zh-Hant"},
		{in: "help+zh-CN", kind: "help", lang: "zh"},
		{in: "help+chinese", kind: "help", lang: "zh"},
		{in: "help traditional", kind: "help", lang: "zh-Hant"},
		{in: "help+pt-BR", kind: "help", lang: "pt"},
		{in: "help+pt", kind: "help", lang: "pt"},
		{in: "help+es-MX", kind: "help", lang: "es"},
		{in: "help+arabic", kind: "help", lang: "ar"},
		{in: "help+العربية", kind: "help", lang: "ar"},
		{in: "help+русский", kind: "help", lang: "ru"},
		{in: "help+thai", kind: "help", lang: "th"},
		{in: "help+vietnamese", kind: "help", lang: "vi"},
		{in: "help+indonesian", kind: "help", lang: "id"},
		{in: "help+fr", kind: "help", lang: "?fr"},
		{in: "help+de-AT", kind: "help", lang: "?de-AT"},
		{in: "info", kind: "help"},
		{in: "menu", kind: "menu"},
		{in: "Main Menu", kind: "menu"},
		{in: "STATUS", kind: "status"},
		{in: "status?", kind: "status"},
		{in: "human", kind: "human"},
		{in: "Agent", kind: "human"},
		{in: "talk to agent", kind: "human"},
		{in: "STOP", kind: "stop"},
		{in: "unsubscribe", kind: "stop"},
		{in: "start", kind: "start"},
		{in: "lang ar", kind: "lang", lang: "ar"},
		{in: "lang: RU", kind: "lang", lang: "ru"},
		{in: "language vi", kind: "lang", lang: "vi"},
		{in: "lang", kind: "lang"},
		{in: "bind +8613800138000", kind: "bind", arg: "+8613800138000"},
		{in: "BIND +86 138-0013-8000", kind: "bind", arg: "+8613800138000"},
		{in: "bind", kind: "bind"},
		{in: "unbind", kind: "unbind"},
		// codes
		{in: "1", kind: "menu_code", arg: "1"},
		{in: "１", kind: "menu_code", arg: "1"},
		{in: " 3 ", kind: "menu_code", arg: "3"},
		{in: "٣", kind: "menu_code", arg: "3"},
		{in: "๒", kind: "menu_code", arg: "2"},
		{in: "123456", kind: "code", arg: "123456"},
		{in: "123 456", kind: "code", arg: "123456"},
		{in: "١٢٣٤٥٦", kind: "code", arg: "123456"},
		// Chinese
		{in: "帮助", kind: "help", alias: "zh"},
		{in: "帮助+en", kind: "help", lang: "en", alias: "zh"},
		{in: "人工", kind: "human"},
		{in: "转人工", kind: "human", alias: "zh"},
		{in: "菜单", kind: "menu", alias: "zh"},
		{in: "状态", kind: "status", alias: "zh"},
		{in: "退订", kind: "stop", alias: "zh"},
		{in: "TD", kind: "stop", alias: "zh"},
		{in: "绑定 +8613800138000", kind: "bind", arg: "+8613800138000", alias: "zh"},
		{in: "语言 en", kind: "lang", lang: "en", alias: "zh"},
		{in: "幫助", kind: "help", alias: "zh-Hant"},
		{in: "幫助+繁體", kind: "help", lang: "zh-Hant", alias: "zh-Hant"},
		{in: "真人客服", kind: "human", alias: "zh-Hant"},
		// Arabic
		{in: "مساعدة", kind: "help", alias: "ar"},
		{in: "مساعدة+en", kind: "help", lang: "en", alias: "ar"},
		{in: "القائمة", kind: "menu", alias: "ar"},
		{in: "موظف", kind: "human", alias: "ar"},
		{in: "؟مساعدة؟", kind: "help", alias: "ar"},
		// Portuguese, Spanish
		{in: "ajuda", kind: "help", alias: "pt"},
		{in: "AJUDA+ES", kind: "help", lang: "es", alias: "pt"},
		{in: "atendente", kind: "human", alias: "pt"},
		{in: "ayuda", kind: "help", alias: "es"},
		{in: "¡Ayuda!", kind: "help", alias: "es"},
		{in: "idioma pt-br", kind: "lang", lang: "pt"},
		// Indonesian, Russian, Thai, Vietnamese
		{in: "bantuan", kind: "help", alias: "id"},
		{in: "Bantuan+ID", kind: "help", lang: "id", alias: "id"},
		{in: "помощь", kind: "help", alias: "ru"},
		{in: "ПОМОЩЬ", kind: "help", alias: "ru"},
		{in: "оператор", kind: "human", alias: "ru"},
		{in: "ช่วยเหลือ", kind: "help", alias: "th"},
		{in: "เจ้าหน้าที่", kind: "human", alias: "th"},
		{in: "trợ giúp", kind: "help", alias: "vi"},
		{in: "TRỢ GIÚP", kind: "help", alias: "vi"},
		{in: "tro giup", kind: "help", alias: "vi"},
		{in: "nhân viên", kind: "human", alias: "vi"},
		// Near misses: not commands
		{in: "helpful", kind: "none"},
		{in: "helper", kind: "none"},
		{in: "help me", kind: "none"},
		{in: "help my account was hacked", kind: "none"},
		{in: "helpme", kind: "none"},
		{in: "menus", kind: "none"},
		{in: "status of my order", kind: "none"},
		{in: "stopwatch", kind: "none"},
		{in: "humane", kind: "none"},
		{in: "starting", kind: "none"},
		{in: "0", kind: "none"},
		{in: "10", kind: "none"},
		{in: "12345", kind: "none"},
		{in: "帮助我", kind: "none"},
		{in: "ajudar", kind: "none"},
		{in: "", kind: "none"},
		{in: "!!!", kind: "none"},
		{in: "lang klingon", kind: "none"},
	}
	p := parser(t)
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got := p.Parse(tc.in)
			if got.Kind.String() != tc.kind {
				t.Fatalf("Parse(%q) kind %s, want %s", tc.in, got.Kind, tc.kind)
			}
			gotLang := ""
			if got.HasLang {
				gotLang = got.Lang.Code
				if !got.Lang.Supported {
					gotLang = "?" + got.Lang.Requested
				}
			}
			if gotLang != tc.lang {
				t.Errorf("Parse(%q) lang %q, want %q", tc.in, gotLang, tc.lang)
			}
			if tc.arg != "" && got.Arg != tc.arg {
				t.Errorf("Parse(%q) arg %q, want %q", tc.in, got.Arg, tc.arg)
			}
			if got.AliasLang != tc.alias {
				t.Errorf("Parse(%q) alias language %q, want %q", tc.in, got.AliasLang, tc.alias)
			}
		})
	}
	if len(tests) < 80 {
		t.Fatalf("only %d cases; the issue asks for at least 80", len(tests))
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"help+ar", "ＨＥＬＰ＋ＥＮ", "bind +8613800138000", "١٢٣٤٥٦", "trợ giúp", "help+zh-tw",
		"帮助", "lang: ru", "\x00", strings.Repeat("help ", 40), "help+" + strings.Repeat("a-", 30)} {
		f.Add(s)
	}
	p := parser(f)
	f.Fuzz(func(t *testing.T, s string) {
		c := p.Parse(s)
		if (c.Kind == CmdMenuCode && len(c.Arg) != 1) || (c.Kind == CmdCode && len(c.Arg) != 6) {
			t.Fatalf("Parse(%q) = %+v: code of the wrong length", s, c)
		}
		if c.HasLang && c.Lang.Supported && !p.catalog.Has(c.Lang.Code) {
			t.Fatalf("Parse(%q) = %+v: supported language without texts", s, c)
		}
	})
}
