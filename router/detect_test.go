package router

import (
	"fmt"
	"strings"
	"testing"

	"hotline/bus/bustest"
	"hotline/envelope"
)

func TestDetectLang(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text, want string
	}{
		// The cases: a new user's own words, no hint.
		{"مرحبا أحتاج مساعدة", "ar"},
		{"สวัสดีครับ ช่วยด้วย", "th"},
		{"Olá, preciso de ajuda com pagamento", "pt"},
		{"hola necesito ayuda con mi pago", "es"},
		{"¿Dónde está mi pedido?", "es"},
		{"halo saya perlu bantuan pembayaran", "id"},
		{"xin chào tôi cần giúp đỡ", "vi"},
		{"Tài khoản của tôi bị khóa", "vi"},
		{"I need help with my payment", "en"},
		{"my withdrawal never arrived, please help", "en"},
		{"здравствуйте, мне нужна помощь", "ru"},
		{"我的账户被盗了，请帮忙", "zh"},
		{"我的帳戶被盜了，請幫忙", "zh-Hant"},
		{"這個問題怎麼辦", "zh-Hant"},
		{"这个问题怎么办", "zh"},
		{"Привет hello", "ru"},
		// Too little to go on, or a language hotline has no texts for.
		{"ok", ""},
		{"hello", ""},
		{"where is my parcel", "en"},
		{"parcel", ""}, // no common word: not enough
		{"1", ""},
		{"", ""},
		{"👍👍", ""},
		{"こんにちは、助けてください", ""},
		{"안녕하세요 도와주세요", ""},
		{"Guten Tag, ich brauche Hilfe", ""},
		{"de", ""},
		{strings.Repeat("a", 10000), ""},
	}
	for _, tc := range tests {
		if got := detectLang(tc.text); got != tc.want {
			t.Errorf("detectLang(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

// Every word list and letter set names a language the catalog has, so a
// detection is always a language the router can answer in.
func TestDetectedLanguagesHaveTexts(t *testing.T) {
	t.Parallel()
	c, err := LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	for lang := range latinWords {
		if !c.Has(lang) {
			t.Errorf("latinWords has %q, which has no texts", lang)
		}
	}
	for lang := range latinLetters {
		if !c.Has(lang) {
			t.Errorf("latinLetters has %q, which has no texts", lang)
		}
	}
	for _, lang := range []string{"ar", "th", "ru", "zh", "zh-Hant"} {
		if !c.Has(lang) {
			t.Errorf("script language %q has no texts", lang)
		}
	}
	for _, r := range traditionalOnly {
		if strings.ContainsRune(simplifiedOnly, r) {
			t.Errorf("%c is in both Chinese lists", r)
		}
	}
}

func FuzzDetectLang(f *testing.F) {
	for _, s := range []string{"مرحبا", "hola necesito ayuda", "xin chào", "我的帳戶", "\xff\xfe", "ñ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := detectLang(s)
		switch got {
		case "", "ar", "th", "ru", "zh", "zh-Hant", "en", "pt", "es", "id", "vi":
		default:
			t.Fatalf("detectLang(%q) = %q, not one of the ten", s, got)
		}
	})
}

// A new user's own words choose the reply language when they chose none
// and the platform gave no hint; the choice is remembered for messages
// that carry no words (a menu digit); a hint or an explicit choice wins.
func TestRouterAnswersInTheUsersLanguage(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{}) // default zh
	first := inbound("amira", "مرحبا أحتاج مساعدة في حسابي")
	process(t, r, first)
	if got := lastReply(t, b); got.Lang != "ar" || got.Dir != "rtl" {
		t.Fatalf("Arabic words, no hint: answered in %q (%s), want ar rtl: %q", got.Lang, got.Dir, got.Text)
	}
	process(t, r, inbound("amira", "1"))
	if got := lastReply(t, b); got.Lang != "ar" || got.Text != r.catalog.Text("ar", "menu_account_security") {
		t.Fatalf("menu digit after Arabic: %q in %q, want the Arabic topic", got.Text, got.Lang)
	}

	hinted := inbound("tom", "Olá, preciso de ajuda com pagamento")
	hinted.LangHint = "en"
	process(t, r, hinted)
	if got := lastReply(t, b); got.Lang != "en" {
		t.Fatalf("a platform hint must win over detection: answered in %q", got.Lang)
	}

	process(t, r, inbound("joana", "lang es"))
	process(t, r, inbound("joana", "Olá, preciso de ajuda com pagamento"))
	if got := lastReply(t, b); got.Lang != "es" {
		t.Fatalf("an explicit choice must win over detection: answered in %q", got.Lang)
	}
	process(t, r, inbound("ana", "Olá, preciso de ajuda com pagamento"))
	if got := lastReply(t, b); got.Lang != "pt" {
		t.Fatalf("Portuguese words, no hint: answered in %q", got.Lang)
	}
}

// smsInbound is a text from a new SMS user: no platform hint, no choice.
func smsInbound(phone, text string) envelope.Message {
	m := inbound(phone, text)
	m.Platform, m.Account = envelope.PlatformSMS, "sms-main"
	m.Conversation = envelope.ConversationKey(envelope.PlatformSMS, "sms-main", phone)
	m.From = envelope.Party{ID: phone, Phone: phone}
	return m
}

// A new SMS user is answered in the language they write in; a short,
// ambiguous text keeps the default.
func TestNewSMSUserAnsweredInTheirLanguage(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{}) // default zh
	for i, tc := range []struct{ text, lang string }{
		{"مرحبا أحتاج مساعدة", "ar"},
		{"สวัสดีครับ ช่วยด้วย", "th"},
		{"Olá, preciso de ajuda com pagamento", "pt"},
		{"Hola, necesito ayuda con mi pago", "es"},
		{"ok", "zh"},
		{"👍", "zh"},
	} {
		m := smsInbound(fmt.Sprintf("+861380013800%d", i), tc.text)
		process(t, r, m)
		var got envelope.Reply
		for _, rep := range replies(t, b, "hotline.out.") {
			if rep.InReplyTo == m.ID {
				got = rep
			}
		}
		if got.Lang != tc.lang {
			t.Errorf("%q by SMS: answered in %q (%q), want %s", tc.text, got.Lang, got.Text, tc.lang)
		}
	}
}
