package weibo

import (
	"context"
	"testing"
	"time"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
	"hotline/fallback"
	"hotline/fallback/fallbacktest"
	"hotline/router"
)

const smsAccount = fallbacktest.SMSAccount

// setMode switches mode on in scope and waits until it is in force for
// the account.
func (g *gateway) setMode(t *testing.T, mode, scope string) {
	t.Helper()
	sc, err := fallback.ParseScope(scope)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.modes.Set(context.Background(), fallback.Setting{Mode: mode, Scope: sc, Reason: "Weibo API outage", SetBy: "dana"}); err != nil {
		t.Fatal(err)
	}
	bustest.WaitFor(t, mode+" in force", func() bool { return g.modes.Active("weibo", testAccount).On(mode) })
}

// smsTo returns the texts the SMS provider accepted for phone, and the
// SMS replies queued for the SMS account.
func (g *gateway) smsTo(t *testing.T, phone string) (sent []string, queued int) {
	t.Helper()
	for _, got := range g.sms.Accepted() {
		if got[0] == phone {
			sent = append(sent, got[1])
		}
	}
	for _, data := range bustest.Messages(t, g.b, bus.StreamOut, "hotline.out.sms."+smsAccount) {
		var rep envelope.Reply
		if err := envelope.Decode(data, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.To.Phone == phone {
			queued++
		}
	}
	return sent, queued
}

// TestSMSFallbackRepliesSkipThePassiveReply: while sms_fallback is on
// (here for every platform), a user with a bound phone gets the answer by
// SMS only, never in the response to the push; a user without one still
// gets it in the response, once.
func TestSMSFallbackRepliesSkipThePassiveReply(t *testing.T) {
	t.Parallel()
	texts, err := router.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	help := texts.Text("en", "help")
	g := newGateway(t, gatewayOpts{modes: true, replay: 5 * time.Minute})
	bound, unbound := newUser(), newUser()
	const phone = "+8613800138030"
	if err := g.bindings.Bind(context.Background(), envelope.ConversationKey("weibo", testAccount, bound), phone); err != nil {
		t.Fatal(err)
	}
	g.setMode(t, fallback.ModeSMSFallback, "global")

	code, body := g.post(t, g.signedQuery(), textPush(bound, "help", time.Now()))
	if code != 200 || body != "" {
		t.Fatalf("bound user's push: got %d %q, want 200 and no passive reply", code, body)
	}
	bustest.WaitFor(t, "the answer by SMS", func() bool { sent, _ := g.smsTo(t, phone); return len(sent) > 0 })

	code, body = g.post(t, g.signedQuery(), textPush(unbound, "help", time.Now()))
	if code != 200 {
		t.Fatalf("unbound user's push: got %d %s, want 200", code, body)
	}
	if got := passiveText(t, body, unbound); got != help {
		t.Fatalf("unbound user's passive reply %q, want the help", got)
	}

	time.Sleep(500 * time.Millisecond) // a second copy of either would be quick to come
	sent, queued := g.smsTo(t, phone)
	if len(sent) != 1 || queued != 1 || sent[0] != "[Weibo] "+help {
		t.Errorf("bound user: SMS sent %q, %d queued; want exactly one, the help prefixed with the channel", sent, queued)
	}
	if got := g.api.sentTo(bound); len(got) != 0 {
		t.Errorf("bound user also got %q on Weibo", got)
	}
	if got := g.api.sentTo(unbound); len(got) != 0 {
		t.Errorf("unbound user also got %q through the API, want only the passive reply", got)
	}
	if n := passiveStatuses(t, g.b); n != 1 {
		t.Errorf("%d passive replies, want the unbound user's only", n)
	}
	if all := len(g.sms.Accepted()); all != 1 {
		t.Errorf("the SMS provider took %d messages, want 1", all)
	}
}
