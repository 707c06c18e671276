package gateway

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline/bus/bustest"
	"hotline/config"
	"hotline/envelope"
	"hotline/fallback"
	"hotline/outbound/outboundtest"
	"hotline/platform"
	"hotline/platform/platformtest"
)

// TestNewPlatformFromItsDescriptorAlone: a platform the gateway has never
// heard of, given only as a descriptor, is configured from YAML, opened,
// answered by the router and delivered to with its label on a rerouted
// SMS — nothing else in the gateway names it.
func TestNewPlatformFromItsDescriptorAlone(t *testing.T) {
	t.Parallel()
	line, sms := outboundtest.NewPlatform(t), outboundtest.NewPlatform(t)
	platforms := []platform.Platform{
		platformtest.Fake("line", "", "LINE", line.Sender()),
		platformtest.Fake("sms", "fake", "SMS", sms.Sender()),
	}
	file := filepath.Join(t.TempDir(), "hotline.yaml")
	yaml := `http: {listen: "127.0.0.1:0", admin_listen: "127.0.0.1:0"}
router: {default_lang: en}
accounts:
  line: [{name: main}]
  sms: [{name: sms-main, provider: fake}]
`
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Load(config.Options{File: file, Platforms: platforms})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := bustest.Open(t)
	g, err := New(ctx, cfg, Deps{Bus: b, Platforms: platforms})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	if got := g.adapters.accounts("line"); len(got) != 1 || got[0] != "main" {
		t.Fatalf("line accounts %v, want [main]", got)
	}

	say := func(user, text string) {
		t.Helper()
		now := time.Now().UTC()
		m := envelope.Message{ID: envelope.NewID(now), Platform: "line", Account: "main", PlatformMsgID: envelope.NewID(now),
			Conversation: envelope.ConversationKey("line", "main", user), From: envelope.Party{ID: user},
			Kind: envelope.KindText, Text: text, ReceivedAt: now}
		if _, err := b.PublishInbound(ctx, &m, nil); err != nil {
			t.Fatal(err)
		}
	}
	say("u1", "help")
	bustest.WaitFor(t, "the help on the new platform", func() bool { return len(line.Accepted()) == 1 })

	// With sms_fallback on for it, a bound user's reply goes by SMS and
	// says which channel it was for.
	if err := g.Bindings().Bind(ctx, envelope.ConversationKey("line", "main", "u2"), "+14155550123"); err != nil {
		t.Fatal(err)
	}
	scope, err := fallback.ParseScope("line/main")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Modes().Set(ctx, fallback.Setting{Mode: fallback.ModeSMSFallback, Scope: scope, SetBy: "test", Reason: "drill"}); err != nil {
		t.Fatal(err)
	}
	say("u2", "help")
	bustest.WaitFor(t, "the reply by SMS", func() bool {
		for _, s := range sms.Accepted() {
			if s[0] == "+14155550123" && strings.HasPrefix(s[1], "[LINE] ") {
				return true
			}
		}
		return false
	})
}
