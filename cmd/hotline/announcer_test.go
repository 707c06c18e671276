package main

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
	ann := announcer{modes: modes, defaultLang: "zh"}
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
