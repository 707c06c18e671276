package gateway

import (
	"context"
	"maps"
	"testing"

	"hotline/bus/bustest"
	"hotline/envelope"
	"hotline/fallback"
)

func TestWebChatBannerLanguage(t *testing.T) {
	b := bustest.Open(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	modes, err := fallback.NewStore(ctx, b, fallback.StoreDeps{})
	if err != nil {
		t.Fatal(err)
	}
	ann := announcer{modes: modes, platform: "webchat", defaultLang: "zh"}
	if text, _ := ann.Announcement("demo", "en"); text != "" {
		t.Fatalf("banner %q with no announcement on", text)
	}
	set := func(scope string, texts map[string]string) {
		t.Helper()
		sc, err := fallback.ParseScope(scope)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := modes.Set(ctx, fallback.Setting{Mode: fallback.ModeAnnouncement, Scope: sc, Reason: "incident", SetBy: "alice", Announce: texts}); err != nil {
			t.Fatal(err)
		}
		bustest.WaitFor(t, "the setting to apply", func() bool {
			a := modes.Active(envelope.PlatformWebChat, "demo").Announcement
			return a != nil && maps.Equal(a.Announce, texts)
		})
	}
	set("webchat", map[string]string{"en": "Payments are delayed", "ar": "المدفوعات متأخرة", "zh": "支付延迟"})
	tests := []struct {
		lang, text, dir string
	}{
		{"en", "Payments are delayed", ""},
		{"en-GB", "Payments are delayed", ""},
		{"ar-EG", "المدفوعات متأخرة", "rtl"},
		{"zh", "支付延迟", ""},
		{"fr", "Payments are delayed", ""}, // no French: English
		{"", "Payments are delayed", ""},
	}
	for _, tc := range tests {
		text, dir := ann.Announcement("demo", tc.lang)
		if text != tc.text || dir != tc.dir {
			t.Errorf("lang %q: %q %q, want %q %q", tc.lang, text, dir, tc.text, tc.dir)
		}
	}
	// Only Arabic given: everyone reads it, right to left.
	set("webchat/demo", map[string]string{"ar": "صيانة"})
	if text, dir := ann.Announcement("demo", "pt-BR"); text != "صيانة" || dir != "rtl" {
		t.Errorf("only an Arabic text: %q %q", text, dir)
	}
}

// TestWebChatBannerEveryMode: the banner shows the announcement of every
// mode in force that has one, most severe first, a paragraph each; a
// mode without one adds nothing.
func TestWebChatBannerEveryMode(t *testing.T) {
	b := bustest.Open(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	modes, err := fallback.NewStore(ctx, b, fallback.StoreDeps{})
	if err != nil {
		t.Fatal(err)
	}
	ann := announcer{modes: modes, platform: "webchat", defaultLang: "zh"}
	set := func(mode, scope string, texts map[string]string) {
		t.Helper()
		sc, err := fallback.ParseScope(scope)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := modes.Set(ctx, fallback.Setting{Mode: mode, Scope: sc, Reason: "incident", SetBy: "alice", Announce: texts}); err != nil {
			t.Fatal(err)
		}
		bustest.WaitFor(t, mode+" to apply", func() bool { return modes.Active(envelope.PlatformWebChat, "demo").On(mode) })
	}
	tests := []struct {
		name            string
		mode, scope     string
		texts           map[string]string
		lang, text, dir string
	}{
		{name: "a mode without an announcement", mode: fallback.ModeSMSFallback, scope: "webchat",
			lang: "en", text: ""},
		{name: "review_first's announcement", mode: fallback.ModeReviewFirst, scope: "global",
			texts: map[string]string{"en": "Answers are checked by a person today.", "ar": "يراجع موظف الإجابات اليوم."},
			lang:  "ar", text: "يراجع موظف الإجابات اليوم.", dir: "rtl"},
		{name: "announcement after the more severe review_first", mode: fallback.ModeAnnouncement, scope: "webchat/demo",
			texts: map[string]string{"en": "Payments are delayed."},
			lang:  "en", text: "Answers are checked by a person today.\n\nPayments are delayed."},
		{name: "read_only first of all", mode: fallback.ModeReadOnly, scope: "webchat",
			texts: map[string]string{"zh": "数据库切换中，仅能回答常见问题。"},
			lang:  "en-GB", text: "数据库切换中，仅能回答常见问题。\n\nAnswers are checked by a person today.\n\nPayments are delayed."},
	}
	for _, tc := range tests {
		set(tc.mode, tc.scope, tc.texts)
		if text, dir := ann.Announcement("demo", tc.lang); text != tc.text || dir != tc.dir {
			t.Errorf("%s: banner %q %q, want %q %q", tc.name, text, dir, tc.text, tc.dir)
		}
	}
	// Another account of the web chat has the platform's and the global
	// modes, not the account's announcement.
	if text, _ := ann.Announcement("other", "en"); text != "数据库切换中，仅能回答常见问题。\n\nAnswers are checked by a person today." {
		t.Errorf("another account: banner %q", text)
	}
}
