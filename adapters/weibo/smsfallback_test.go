package weibo

import (
	"context"
	"slices"
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

// smsTo returns the texts the SMS provider accepted for phone, in the
// order it took them and every copy, and the SMS replies queued for the
// SMS account.
func (g *gateway) smsTo(t *testing.T, phone string) (sent []string, queued int) {
	t.Helper()
	for _, got := range g.sms.Sends() {
		if got.To == phone {
			sent = append(sent, got.Text)
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

// smsBarrier is the barrier for a user whose replies go by SMS to phone: the
// marker is rerouted like them by the user's worker of the Weibo loop,
// and queued for the SMS account behind them, whose loop sends one
// phone's replies in order too. It returns the marker's SMS text.
func (g *gateway) smsBarrier(t *testing.T, user, phone string) string {
	t.Helper()
	bustest.RouterCaughtUp(t, g.b)
	text := "[Weibo] " + bustest.Marker(t, g.b, "weibo", testAccount, user)
	bustest.WaitFor(t, "the sequence marker by SMS", func() bool {
		sent, _ := g.smsTo(t, phone)
		return slices.Contains(sent, text)
	})
	return text
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

	// A second copy of the bound user's answer would be ahead of the
	// marker; the unbound user's answer was in the response, so the
	// router must have queued nothing for the API.
	mark := g.smsBarrier(t, bound, phone)
	sent, queued := g.smsTo(t, phone)
	if len(sent) != 2 || queued != 2 || sent[0] != "[Weibo] "+help || sent[1] != mark {
		t.Errorf("bound user: SMS sent %q, %d queued; want exactly one, the help prefixed with the channel, and then the sequence marker", sent, queued)
	}
	if got := g.api.sentTo(bound); len(got) != 0 {
		t.Errorf("bound user also got %q on Weibo", got)
	}
	if n := queuedFor(t, g.b, unbound); n != 0 {
		t.Errorf("unbound user: %d replies queued for the API, want only the passive reply", n)
	}
	if got := g.api.sentTo(unbound); len(got) != 0 {
		t.Errorf("unbound user also got %q through the API, want only the passive reply", got)
	}
	if n := passiveStatuses(t, g.b); n != 1 {
		t.Errorf("%d passive replies, want the unbound user's only", n)
	}
	if all := len(g.sms.Sends()); all != 2 {
		t.Errorf("the SMS provider took %d messages, want the help and the marker", all)
	}
}
