package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/config"
	"hotline/envelope"
	"hotline/fallback"
	"hotline/outbound"
	"hotline/outbound/outboundtest"
	"hotline/router"
)

// TestOutageDrill plays an outage through the real router, mode store and
// delivery loops: Telegram goes down, its circuit opens, sms_fallback
// engages by itself, a user with a bound phone gets the reply by SMS, a
// user without one gets it on Telegram after recovery, and every reply is
// accounted for, none delivered twice.
func TestOutageDrill(t *testing.T) {
	b := bustest.Open(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	store, err := fallback.NewStore(ctx, b, fallback.StoreDeps{})
	if err != nil {
		t.Fatal(err)
	}
	bindings := fallback.NewBindings(b.KV(bus.BucketSessions))
	rt, err := router.New(ctx, router.Config{DefaultLang: "en", Menu: config.Default().Router.Menu, SMSAccount: "sms-main"},
		router.Deps{Bus: b, Gate: fallback.NewGate(store, fallback.RateConfig{}, nil), Binder: bindings})
	if err != nil {
		t.Fatal(err)
	}
	telegram, sms := outboundtest.NewPlatform(t), outboundtest.NewPlatform(t)
	cfg := config.Default()
	cfg.Outbound.BreakerFailures = 3
	cfg.Outbound.BreakerOpen = time.Second
	loops, err := newLoops(cfg, map[accountKey]outbound.Sender{
		{"telegram", "tg-main"}: telegram.Sender(),
		{"sms", "sms-main"}:     sms.Sender(),
	}, outbound.Deps{Bus: b, Modes: autoModes{store}, Phones: bindings})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 1+len(loops))
	for _, run := range append([]func(context.Context) error{rt.Run}, loopRuns(loops)...) {
		go func() { _ = run(ctx); done <- struct{}{} }()
	}
	t.Cleanup(func() {
		cancel()
		for range 1 + len(loops) {
			<-done
		}
	})

	say := func(user, text string) {
		t.Helper()
		now := time.Now().UTC()
		m := envelope.Message{ID: envelope.NewID(now), Platform: "telegram", Account: "tg-main", PlatformMsgID: envelope.NewID(now),
			Conversation: envelope.ConversationKey("telegram", "tg-main", user), From: envelope.Party{ID: user},
			Kind: envelope.KindText, Text: text, ReceivedAt: now}
		if _, err := b.PublishInbound(ctx, &m, nil); err != nil {
			t.Fatal(err)
		}
	}
	received := func(p *outboundtest.Platform, to, contains string) func() bool {
		return func() bool {
			for _, got := range p.Accepted() {
				if got[0] == to && strings.Contains(got[1], contains) {
					return true
				}
			}
			return false
		}
	}
	const phone = "+8613800138000"

	// Alice binds her phone: the code comes by SMS through the SMS loop.
	say("alice", "bind "+phone)
	bustest.WaitFor(t, "the binding code by SMS", received(sms, phone, ""))
	var code string
	for _, got := range sms.Accepted() {
		code = regexp.MustCompile(`\d{6}`).FindString(got[1])
	}
	say("alice", code)
	bustest.WaitFor(t, "the binding confirmation on Telegram", received(telegram, "alice", "+86*******8000"))

	// Telegram goes down; Bob, who has no phone bound, keeps writing.
	telegram.SetMode("down")
	for _, text := range []string{"menu", "status", "help"} {
		say("bob", text)
	}
	bustest.WaitFor(t, "sms_fallback to engage by itself", func() bool {
		s := store.Active("telegram", "tg-main").SMSFallback
		return s != nil && s.Auto()
	})

	// Alice's answer goes by SMS, marked with the channel it was for.
	say("alice", "status")
	bustest.WaitFor(t, "Alice's reply by SMS", received(sms, phone, "[Telegram] "))

	// Telegram recovers: Bob gets his three replies there, and the
	// automatic mode switches off.
	telegram.SetMode("ok")
	bustest.WaitFor(t, "Bob's replies after recovery", func() bool {
		n := 0
		for _, got := range telegram.Accepted() {
			if got[0] == "bob" {
				n++
			}
		}
		return n == 3
	})
	bustest.WaitFor(t, "sms_fallback to clear", func() bool { return store.Active("telegram", "tg-main").SMSFallback == nil })

	// Every reply is accounted for: delivered once, where it should be.
	rerouted := map[string]bool{}
	for _, data := range bustest.Messages(t, b, bus.StreamStatus, "hotline.status.") {
		var st envelope.Status
		if err := envelope.Decode(data, &st); err == nil && st.State == envelope.StateRerouted {
			rerouted[st.ReplyID] = true
		}
	}
	dead := len(bustest.Messages(t, b, bus.StreamDead, "hotline.dead"))
	for _, data := range bustest.Messages(t, b, bus.StreamOut, "hotline.out.") {
		var rep envelope.Reply
		if err := envelope.Decode(data, &rep); err != nil {
			t.Fatal(err)
		}
		p := telegram
		if rep.Platform == "sms" {
			p = sms
		}
		switch n := p.Count(rep.ID); {
		case n > 1:
			t.Errorf("reply %s delivered %d times", rep.ID, n)
		case n == 0 && !rerouted[rep.ID]:
			t.Errorf("reply %s (%s to %s: %q) neither delivered nor rerouted", rep.ID, rep.Platform, rep.To.ID, rep.Text)
		case n == 1 && rerouted[rep.ID]:
			t.Errorf("reply %s both delivered and rerouted", rep.ID)
		}
	}
	if dead != 0 {
		t.Errorf("%d dead letters; in this drill every reply can be delivered", dead)
	}
	audit, err := fallback.ReadAudit(ctx, b, 50)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range audit {
		actions = append(actions, a.Action+" by "+a.By)
	}
	if got := strings.Join(actions, ", "); got != "mode.set by auto, mode.clear by auto" {
		t.Errorf("audit trail %q, want the automatic set and clear", got)
	}
}

func loopRuns(loops []*outbound.Loop) []func(context.Context) error {
	var runs []func(context.Context) error
	for _, l := range loops {
		runs = append(runs, l.Run)
	}
	return runs
}
