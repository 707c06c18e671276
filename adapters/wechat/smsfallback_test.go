package wechat

import (
	"context"
	"slices"
	"strconv"
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
	if _, err := g.modes.Set(context.Background(), fallback.Setting{Mode: mode, Scope: sc, Reason: "WeChat API outage", SetBy: "dana"}); err != nil {
		t.Fatal(err)
	}
	bustest.WaitFor(t, mode+" in force", func() bool { return g.modes.Active("wechat", testAccount).On(mode) })
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

// smsBarrier is a sequence barrier for a user whose replies go by SMS
// to phone: once the router has handled every stored message
// (bustest.RouterCaughtUp), a marker is rerouted like its replies by the user's
// worker of the WeChat loop, and queued for the SMS account behind them,
// whose loop sends one phone's replies in order too. It returns the
// marker's SMS text once the provider has it.
func (g *gateway) smsBarrier(t *testing.T, user, phone string) string {
	t.Helper()
	bustest.RouterCaughtUp(t, g.b)
	text := "[WeChat] " + bustest.Marker(t, g.b, "wechat", testAccount, user)
	bustest.WaitFor(t, "the sequence marker by SMS", func() bool {
		sent, _ := g.smsTo(t, phone)
		return slices.Contains(sent, text)
	})
	return text
}

// TestSMSFallbackRepliesSkipThePassiveReply: while sms_fallback is on
// for the account, a user with a bound phone gets the answer by SMS only,
// never as the passive reply to the push, in plain and safe mode alike;
// a user without one still gets the passive reply, once.
func TestSMSFallbackRepliesSkipThePassiveReply(t *testing.T) {
	t.Parallel()
	texts, err := router.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	help := texts.Text("zh", "help")
	for i, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			g := newGateway(t, gatewayOpts{plain: !mode.safe, modes: true, replay: 5 * time.Minute, replyWindow: 2 * time.Second})
			bound, unbound := newUser(), newUser()
			phone := "+86138001380" + strconv.Itoa(20+i)
			if err := g.bindings.Bind(context.Background(), envelope.ConversationKey("wechat", testAccount, bound), phone); err != nil {
				t.Fatal(err)
			}
			g.setMode(t, fallback.ModeSMSFallback, "wechat/"+testAccount)

			code, body := g.at(t)(g.request(t, mode.safe, textPush(bound, "帮助", newMsgID(), time.Now())))
			if code != 200 || body != "success" {
				t.Fatalf("bound user's push: got %d %q, want 200 success and no passive reply", code, body)
			}
			bustest.WaitFor(t, "the answer by SMS", func() bool { sent, _ := g.smsTo(t, phone); return len(sent) > 0 })

			code, body = g.at(t)(g.request(t, mode.safe, textPush(unbound, "帮助", newMsgID(), time.Now())))
			if code != 200 {
				t.Fatalf("unbound user's push: got %d %s, want 200", code, body)
			}
			if got := passiveText(t, body, unbound, mode.safe); got != help {
				t.Fatalf("unbound user's passive reply %q, want the help", got)
			}

			// A second copy of the bound user's answer would be ahead of
			// the marker; the unbound user's answer was passive, so the
			// router must have queued nothing for the API.
			mark := g.smsBarrier(t, bound, phone)
			sent, queued := g.smsTo(t, phone)
			if len(sent) != 2 || queued != 2 || sent[0] != "[WeChat] "+help || sent[1] != mark {
				t.Errorf("bound user: SMS sent %q, %d queued; want exactly one, the help prefixed with the channel, and then the sequence marker", sent, queued)
			}
			if got := g.api.sentTo(bound); len(got) != 0 {
				t.Errorf("bound user also got %q on WeChat", got)
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
		})
	}
}
