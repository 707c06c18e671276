package router

import (
	"context"
	"fmt"
	"testing"
	"time"

	"hotline/bus/bustest"
	"hotline/envelope"
)

// webchatVisitor is a cookie-less web chat visitor at addr: a new
// conversation each time, as a script that drops its cookie is.
func webchatVisitor(visitor, addr, text string) envelope.Message {
	now := time.Now().UTC()
	return envelope.Message{ID: envelope.NewID(now), Platform: envelope.PlatformWebChat, Account: "demo",
		PlatformMsgID: envelope.NewID(now), Conversation: envelope.ConversationKey(envelope.PlatformWebChat, "demo", visitor),
		From: envelope.Party{ID: visitor}, Kind: envelope.KindText, Text: text, ReceivedAt: now,
		Meta: map[string]string{envelope.MetaClientAddr: addr}}
}

// codesSent counts binding codes queued for the SMS account.
func codesSent(t *testing.T, r *Router) int {
	t.Helper()
	n := 0
	for _, rep := range replies(t, r.bus, "hotline.out.sms.") {
		if rep.Source == envelope.SourceSystem && rep.Platform == envelope.PlatformSMS {
			n++
		}
	}
	return n
}

// SMS pumping: 20 cookie-less visitors from one address asking codes for
// 20 numbers send at most the address's budget, with two router
// instances sharing it; a visitor who has said nothing gets no code; a
// number outside the allowed regions gets none either.
func TestVerificationBudgets(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	cfg := testConfig()
	cfg.VerifyRegions = []string{"CN", "US"}
	cfg.VerifyPerAddressHour = 3
	r1 := newRouter(t, b, cfg, Deps{})
	r2 := newRouter(t, b, cfg, Deps{})

	first := webchatVisitor("bot-0", "198.51.100.7", "bind +8613800138000")
	process(t, r1, first)
	if got := lastReply(t, b).Text; got != r1.catalog.Text("zh", "bind_chat_first") || codesSent(t, r1) != 0 {
		t.Fatalf("bind as a visitor's first message: %q, %d codes", got, codesSent(t, r1))
	}
	for i := range 20 {
		r := []*Router{r1, r2}[i%2]
		visitor := fmt.Sprintf("bot-%d", i+1)
		process(t, r, webchatVisitor(visitor, "198.51.100.7", "hi"))
		process(t, r, webchatVisitor(visitor, "198.51.100.7", fmt.Sprintf("bind +86138001380%02d", i)))
	}
	if n := codesSent(t, r1); n != 3 {
		t.Fatalf("20 visitors from one address sent %d codes, want the address's budget of 3", n)
	}
	// Another address has a budget of its own.
	process(t, r2, webchatVisitor("human", "203.0.113.5", "my payment failed"))
	process(t, r2, webchatVisitor("human", "203.0.113.5", "bind +14155552671"))
	if n := codesSent(t, r1); n != 4 {
		t.Fatalf("a visitor from another address: %d codes in all, want 4", n)
	}
	// A number in a country codes may not go to.
	m := inbound("abroad", "bind +442071838750")
	process(t, r1, m)
	if got := lastReply(t, b).Text; got != r1.catalog.Text("zh", "bind_region") || codesSent(t, r1) != 4 {
		t.Fatalf("a GB number with verify_regions CN, US: %q, %d codes", got, codesSent(t, r1))
	}
}

// The gateway-wide budget holds whoever asks.
func TestVerificationGatewayBudget(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	cfg := testConfig()
	cfg.VerifyPerHour = 2
	r := newRouter(t, b, cfg, Deps{})
	for i := range 4 {
		process(t, r, inbound(fmt.Sprintf("user-%d", i), fmt.Sprintf("bind +86138001381%02d", i)))
	}
	if n := codesSent(t, r); n != 2 {
		t.Fatalf("%d codes sent, want the gateway's budget of 2", n)
	}
	if got := lastReply(t, b).Text; got != r.catalog.Text("zh", "bind_rate_limited") {
		t.Fatalf("over the gateway's budget: %q", got)
	}
}

// A STOP handled after the START that followed it (a redelivery, another
// instance's backlog) is dropped: changes go by the message's own time.
func TestOlderStopAfterStartChangesNothing(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	stop := inbound("late", "stop")
	start := inbound("late", "start")
	start.ReceivedAt = stop.ReceivedAt.Add(time.Minute)
	process(t, r, start)
	process(t, r, stop)
	if opted, err := b.OptedOut(context.Background(), stop.Conversation); err != nil || opted {
		t.Fatalf("START at t+1m, then the STOP of t: opted out %v (%v), want in", opted, err)
	}
	if r.optout.has(stop.Conversation) {
		t.Fatal("the router's view says opted out")
	}
}
