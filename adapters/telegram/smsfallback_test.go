package telegram

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
	"hotline/fallback"
	"hotline/fallback/fallbacktest"
	"hotline/router"
)

const smsAccount = fallbacktest.SMSAccount

// setMode switches mode on in scope and waits until it is in force for
// tg-main.
func (g *gateway) setMode(t *testing.T, mode, scope string) {
	t.Helper()
	sc, err := fallback.ParseScope(scope)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.modes.Set(context.Background(), fallback.Setting{Mode: mode, Scope: sc, Reason: "Telegram flaky in region", SetBy: "dana"}); err != nil {
		t.Fatal(err)
	}
	bustest.WaitFor(t, mode+" in force", func() bool { return g.modes.Active("telegram", "tg-main").On(mode) })
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

// smsBarrier is the barrier for a chat whose replies go by SMS to phone: the
// marker is rerouted like them by the chat's worker of the Telegram loop,
// and queued for the SMS account behind them, whose loop sends one
// phone's replies in order too. It returns the marker's SMS text.
func (g *gateway) smsBarrier(t *testing.T, chat int64, phone string) string {
	t.Helper()
	bustest.RouterCaughtUp(t, g.b)
	text := "[Telegram] " + g.marker(t, chat)
	bustest.WaitFor(t, "the sequence marker by SMS", func() bool {
		sent, _ := g.smsTo(t, phone)
		return slices.Contains(sent, text)
	})
	return text
}

// queuedFor counts the replies to chat on HOTLINE_OUT.
func (g *gateway) queuedFor(t *testing.T, chat int64) int {
	t.Helper()
	n := 0
	for _, data := range bustest.Messages(t, g.b, bus.StreamOut, "hotline.out.") {
		var rep envelope.Reply
		if err := envelope.Decode(data, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.To.ID == strconv.FormatInt(chat, 10) {
			n++
		}
	}
	return n
}

// TestSMSFallbackRepliesSkipTheWebhook: while sms_fallback is on for the
// account, in any scope, a user with a bound phone gets the answer by SMS
// only, never in the webhook response; a user without one still gets it
// in the response, once.
func TestSMSFallbackRepliesSkipTheWebhook(t *testing.T) {
	t.Parallel()
	texts, err := router.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	help := texts.Text("en", "help")
	for i, scope := range []string{"global", "telegram", "telegram/tg-main"} {
		t.Run(scope, func(t *testing.T) {
			t.Parallel()
			g := newGateway(t, gwOpts{modes: true})
			bound, unbound := testUser+int64(10*i)+1, testUser+int64(10*i)+2
			phone := "+86138001380" + strconv.Itoa(10+i)
			conv := envelope.ConversationKey("telegram", "tg-main", strconv.FormatInt(bound, 10))
			if err := g.bindings.Bind(context.Background(), conv, phone); err != nil {
				t.Fatal(err)
			}
			g.setMode(t, fallback.ModeSMSFallback, scope)

			code, _, body := g.post(t, testSecret, textUpdate(nextUpdateID(), bound, "help"))
			if code != 200 || body != "" {
				t.Fatalf("bound user's webhook: got %d %q, want 200 and no answer in the response", code, body)
			}
			bustest.WaitFor(t, "the answer by SMS", func() bool { sent, _ := g.smsTo(t, phone); return len(sent) > 0 })

			code, _, body = g.post(t, testSecret, textUpdate(nextUpdateID(), unbound, "help"))
			if code != 200 || !strings.Contains(body, `"method":"sendMessage"`) || !strings.Contains(body, "Here's what I can do") {
				t.Fatalf("unbound user's webhook: got %d %s, want the help in the response", code, body)
			}

			// A second copy of the bound user's answer would be ahead of
			// the marker; the unbound user's answer was in the response,
			// so the router must have queued nothing for the API.
			mark := g.smsBarrier(t, bound, phone)
			sent, queued := g.smsTo(t, phone)
			if len(sent) != 2 || queued != 2 || sent[0] != "[Telegram] "+help || sent[1] != mark {
				t.Errorf("bound user: SMS sent %q, %d queued; want exactly one, the help prefixed with the channel, and then the sequence marker", sent, queued)
			}
			if got := g.api.sentTo(bound); len(got) != 0 {
				t.Errorf("bound user also got %d messages on Telegram", len(got))
			}
			if n := g.queuedFor(t, unbound); n != 0 {
				t.Errorf("unbound user: %d replies queued for the API, want only the one in the response", n)
			}
			if got := g.api.sentTo(unbound); len(got) != 0 {
				t.Errorf("unbound user also got %d messages through the API, want only the one in the response", len(got))
			}
			if all := len(g.sms.Sends()); all != 2 {
				t.Errorf("the SMS provider took %d messages, want the help and the marker", all)
			}
		})
	}
}
