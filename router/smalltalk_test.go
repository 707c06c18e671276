package router

import (
	"testing"

	"hotline/bus/bustest"
)

func TestSmallTalkClassify(t *testing.T) {
	t.Parallel()
	c, err := LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text, kind, lang string
	}{
		{"hi", talkGreeting, "en"},
		{"Hello!", talkGreeting, "en"},
		{"hola", talkGreeting, "es"},
		{"olá", talkGreeting, "pt"},
		{"你好", talkGreeting, ""},  // both Chinese lists; the script detector says zh
		{"您好！", talkGreeting, ""}, // zh and zh-Hant both say it
		{"مرحبا", talkGreeting, "ar"},
		{"สวัสดีครับ", talkGreeting, "th"},
		{"xin chào", talkGreeting, "vi"},
		{"thanks", talkThanks, ""}, // English and Indonesian
		{"thank you very much!!", talkThanks, "en"},
		{"ok thanks", talkThanks, "en"},
		{"hi, thanks", talkThanks, "en"},
		{"谢谢", talkThanks, "zh"},
		{"謝謝", talkThanks, "zh-Hant"},
		{"gracias", talkThanks, "es"},
		{"terima kasih", talkThanks, "id"},
		{"спасибо", talkThanks, "ru"},
		{"ok", talkThanks, ""},
		{"👍", talkEmoji, ""},
		{"🙏🙏🙏", talkEmoji, ""},
		{"👨‍👩‍👧", talkEmoji, ""},
		{"?", talkEmoji, ""},
		// Anything more is a real message.
		{"hi, my account was hacked", "", ""},
		{"hello I need help", "", ""},
		{"thanks but it still does not work", "", ""},
		{"hit", "", ""},
		{"hiking", "", ""},
		{"你好，我的账号被盗了", "", ""},
		{"", "", ""},
		{"   ", "", ""},
	}
	for _, tc := range tests {
		kind, lang := c.talk.classify(tc.text)
		if kind != tc.kind || lang != tc.lang {
			t.Errorf("classify(%q) = %q, %q; want %q, %q", tc.text, kind, lang, tc.kind, tc.lang)
		}
	}
}

// Greetings, thanks and stickers get a short answer and never a ticket;
// a question after them still reaches an agent.
func TestSmallTalkIsNotATicket(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	for _, tc := range []struct {
		user, text, key, lang string
	}{
		{"a", "hello", "smalltalk_greeting", "en"},
		{"b", "thanks!", "smalltalk_thanks", "zh"}, // English or Indonesian: the default language answers
		{"c", "gracias", "smalltalk_thanks", "es"},
		{"d", "👍", "smalltalk_emoji", "zh"},
		{"e", "你好", "smalltalk_greeting", "zh"},
	} {
		process(t, r, inbound(tc.user, tc.text))
		got := lastReply(t, b)
		if got.Text != r.catalog.Text(tc.lang, tc.key) {
			t.Errorf("%q: answered %q (%s), want %s in %s", tc.text, got.Text, got.Lang, tc.key, tc.lang)
		}
		if tc.key == "smalltalk_greeting" && len(got.Buttons) == 0 {
			t.Errorf("%q: a greeting comes with the menu buttons", tc.text)
		}
	}
	sticker := inbound("f", "😀")
	sticker.Kind, sticker.Meta = "image", map[string]string{"sticker": "😀"}
	process(t, r, sticker)
	if got := lastReply(t, b).Text; got != r.catalog.Text("zh", "smalltalk_emoji") {
		t.Errorf("sticker: answered %q", got)
	}
	if n := len(handoffs(t, b)); n != 0 {
		t.Fatalf("small talk opened %d tickets", n)
	}
	process(t, r, inbound("a", "my withdrawal never arrived"))
	if n := len(handoffs(t, b)); n != 1 {
		t.Fatalf("a question after small talk: %d tickets, want 1", n)
	}
}
