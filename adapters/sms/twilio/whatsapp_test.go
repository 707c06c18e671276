package twilio

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
)

const (
	waUser = "whatsapp:+14137070066"
	waSMS  = "+14137070066" // the same person's number on SMS
)

// readForm loads a testdata sample as the form Twilio would post.
func readForm(t *testing.T, path string) url.Values {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	form, err := url.ParseQuery(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return form
}

// stored returns the inbound messages HOTLINE_IN holds, oldest first.
func (g *gateway) stored(t *testing.T) []envelope.Message {
	t.Helper()
	var out []envelope.Message
	for _, data := range bustest.Messages(t, g.b, bus.StreamIn, "hotline.in.sms.sms-main") {
		var m envelope.Message
		if err := envelope.Decode(data, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// deadReasons returns the reason of every dead letter.
func (g *gateway) deadReasons(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, data := range bustest.Messages(t, g.b, bus.StreamDead, "hotline.dead") {
		var dl envelope.DeadLetter
		if err := json.Unmarshal(data, &dl); err != nil {
			t.Fatal(err)
		}
		out = append(out, dl.Reason)
	}
	return out
}

// reply publishes a reply on HOTLINE_OUT as the router, an agent or
// `hotline send` would.
func (g *gateway) reply(t *testing.T, conversation string, to envelope.Party, text string, src envelope.Source) envelope.Reply {
	t.Helper()
	now := time.Now().UTC()
	r := envelope.Reply{ID: envelope.NewID(now), Platform: "sms", Account: "sms-main", Conversation: conversation,
		To: to, Text: text, Source: src, CreatedAt: now}
	if _, err := g.b.PublishReply(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// Every inbound sample goes through the signed webhook and is stored as
// the golden file says; a body that says base64 and is not gets a 400
// naming the problem, and nothing is stored.
func TestInboundSamplesThroughTheWebhook(t *testing.T) {
	t.Parallel()
	g := newGatewayWith(t, gatewayOptions{alone: true, replyWindow: 10 * time.Millisecond})
	tests := []struct {
		file         string
		code         int
		kind         envelope.Kind
		conversation string
		text         string
	}{
		{"inbound_text.form", 200, envelope.KindText, "sms:sms-main:+8613800138000", "help+ar"},
		{"inbound_mms.form", 200, envelope.KindImage, "sms:sms-main:+5511987654321", ""},
		{"inbound_mms_two.form", 200, envelope.KindText, "sms:sms-main:+14155552671", "receipt attached"},
		{"inbound_base64.form", 200, envelope.KindText, "sms:sms-main:+8613800138000", "我的订单在哪里？"},
		{"inbound_binary.form", 200, envelope.KindRaw, "sms:sms-main:+8613800138000", ""},
		{"whatsapp_text.form", 200, envelope.KindText, "sms:sms-main:" + waUser, "Where is my order?"},
		{"whatsapp_image.form", 200, envelope.KindText, "sms:sms-main:" + waUser, "the damaged box"},
		{"whatsapp_location.form", 200, envelope.KindLocation, "sms:sms-main:" + waUser, ""},
		{"whatsapp_button.form", 200, envelope.KindText, "sms:sms-main:" + waUser, "agent"},
		{"whatsapp_user_id.form", 200, envelope.KindText, "sms:sms-main:whatsapp:US.13491208655302741918", "hello"},
		{"invalid/base64_garbled.form", 400, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			form := readForm(t, filepath.Join("testdata", tc.file))
			before := len(g.stored(t))
			code, body := g.post(t, "/webhooks/sms/sms-main", form, "")
			if code != tc.code {
				t.Fatalf("got %d %s, want %d", code, body, tc.code)
			}
			all := g.stored(t)
			if tc.code != 200 {
				if !strings.Contains(body, "Body is not valid base64") || len(all) != before {
					t.Fatalf("refusal %q, %d stored; want the reason and nothing stored", body, len(all)-before)
				}
				return
			}
			if len(all) != before+1 {
				t.Fatalf("%d stored, want 1", len(all)-before)
			}
			m := all[len(all)-1]
			if m.Kind != tc.kind || m.Conversation != tc.conversation || m.Text != tc.text {
				t.Fatalf("stored %s %q %q, want %s %q %q", m.Kind, m.Conversation, m.Text, tc.kind, tc.conversation, tc.text)
			}
		})
	}
}

// A WhatsApp user's replies go back on WhatsApp however they are built:
// the router's (To is the inbound From), `hotline send` (To.ID only), one
// whose To lost the prefix but whose conversation has it, and an
// agent's reply too long for TwiML. The same number on SMS still gets
// SMS from the SMS sender.
func TestWhatsAppRepliesStayOnWhatsApp(t *testing.T) {
	t.Parallel()
	g := newGatewayWith(t, gatewayOptions{whatsappFrom: "whatsapp:+14155550199", replyWindow: 10 * time.Millisecond})
	g.api.mu.Lock()
	g.api.senders["whatsapp:+14155550199"] = true
	delete(g.api.senders, "whatsapp:+14155550100") // only the configured sender is on WhatsApp
	g.api.mu.Unlock()

	// The router cannot answer within the window: its answer comes
	// late, by the API.
	if code, body := g.post(t, "/webhooks/sms/sms-main", readForm(t, "testdata/whatsapp_text.form"), ""); code != 200 || strings.Contains(body, "<Message>") {
		t.Fatalf("inbound: %d %s", code, body)
	}
	m := g.stored(t)[0]
	conv := m.Conversation
	bustest.WaitFor(t, "the router's answer", func() bool { return len(g.api.sentTo(waUser)) == 1 })
	g.reply(t, conv, envelope.Party{ID: waUser}, "From the operator", envelope.SourceOperator)
	g.reply(t, conv, envelope.Party{ID: waSMS, Phone: waSMS}, "Prefix lost on To", envelope.SourceAgent)
	g.reply(t, conv, m.From, strings.Repeat("long agent answer ", 100), envelope.SourceAgent)
	g.reply(t, "sms:sms-main:"+waSMS, envelope.Party{ID: waSMS, Phone: waSMS}, "By SMS", envelope.SourceOperator)

	bustest.WaitFor(t, "five replies sent", func() bool { return len(g.api.sentTo(waUser))+len(g.api.sentTo(waSMS)) >= 6 })
	if got := g.api.sentTo(waUser); len(got) != 5 { // the long one in two parts
		t.Fatalf("WhatsApp got %d messages %q, want 5", len(got), got)
	}
	for _, from := range g.api.sentFrom(waUser) {
		if from != "whatsapp:+14155550199" {
			t.Fatalf("a WhatsApp reply went from %q, want the whatsapp_from sender", from)
		}
	}
	if got, from := g.api.sentTo(waSMS), g.api.sentFrom(waSMS); !slices.Equal(got, []string{"By SMS"}) || from[0] != "+14155550100" {
		t.Fatalf("SMS got %q from %q, want only the SMS reply from the SMS sender", got, from)
	}
	if dead := g.deadReasons(t); len(dead) != 0 {
		t.Fatalf("dead letters: %q", dead)
	}
}

// The reply inside the webhook's window is TwiML, which Twilio sends on
// the channel the message came from.
func TestWhatsAppAnsweredInTwiML(t *testing.T) {
	t.Parallel()
	g := newGateway(t)
	form := readForm(t, "testdata/whatsapp_text.form")
	form.Set("Body", "HELP")
	code, body := g.post(t, "/webhooks/sms/sms-main", form, "")
	if code != 200 || !strings.Contains(body, "<Response><Message>Here&#39;s what I can do:") {
		t.Fatalf("HELP on WhatsApp: %d %s", code, body)
	}
	if got := g.api.sentTo(waUser); len(got) != 0 {
		t.Fatalf("the help text also went through the API: %q", got)
	}
}

// STOP on WhatsApp opts out the WhatsApp conversation only; the same
// number keeps getting SMS, and the reverse.
func TestWhatsAppOptOutIsApartFromSMS(t *testing.T) {
	t.Parallel()
	g := newGateway(t)
	ctx := context.Background()
	code, body := g.post(t, "/webhooks/sms/sms-main", readForm(t, "testdata/whatsapp_stop.form"), "")
	if code != 200 || !strings.Contains(body, "You&#39;re unsubscribed") {
		t.Fatalf("WhatsApp STOP: %d %s", code, body)
	}
	for conv, want := range map[string]bool{"sms:sms-main:" + waUser: true, "sms:sms-main:" + waSMS: false} {
		if got, err := g.a.optouts.Has(ctx, conv); err != nil || got != want {
			t.Fatalf("%s opted out: %v (%v), want %v", conv, got, err, want)
		}
	}
	g.reply(t, "sms:sms-main:"+waUser, envelope.Party{ID: waUser, Phone: waSMS}, "after STOP", envelope.SourceAgent)
	g.reply(t, "sms:sms-main:"+waSMS, envelope.Party{ID: waSMS, Phone: waSMS}, "SMS still fine", envelope.SourceAgent)
	bustest.WaitFor(t, "the SMS and the dead letter", func() bool { return len(g.api.sentTo(waSMS)) == 1 && len(g.deadReasons(t)) == 1 })
	if got := g.api.sentTo(waUser); len(got) != 0 {
		t.Fatalf("sent on WhatsApp after STOP: %q", got)
	}
	if r := g.deadReasons(t)[0]; r != "recipient opted out" {
		t.Fatalf("dead letter reason %q", r)
	}
}

// Outside WhatsApp's 24-hour window Twilio answers 63016: without
// sms_fallback the reply is dead-lettered with window_closed; with it and
// a bound phone, the reply goes by SMS to that phone instead.
func TestWhatsAppWindowClosed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		fallback bool
		bound    bool
	}{
		{"no fallback", false, true},
		{"fallback, no phone", true, false},
		{"fallback and a bound phone", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newGatewayWith(t, gatewayOptions{smsFallback: tc.fallback})
			g.api.mu.Lock()
			g.api.closed[waUser] = true
			g.api.mu.Unlock()
			conv := "sms:sms-main:" + waUser
			const bound = "+14155552699"
			if tc.bound {
				if err := g.bindings.Bind(context.Background(), conv, bound); err != nil {
					t.Fatal(err)
				}
			}
			g.reply(t, conv, envelope.Party{ID: waUser, Phone: waSMS}, "Your refund is approved.", envelope.SourceAgent)
			if tc.fallback && tc.bound {
				bustest.WaitFor(t, "the SMS reroute", func() bool { return len(g.api.sentTo(bound)) == 1 })
				if got := g.api.sentTo(bound)[0]; got != "[WhatsApp] Your refund is approved." {
					t.Fatalf("rerouted text %q", got)
				}
				if dead := g.deadReasons(t); len(dead) != 0 {
					t.Fatalf("dead letters after a reroute: %q", dead)
				}
				return
			}
			bustest.WaitFor(t, "the dead letter", func() bool { return len(g.deadReasons(t)) == 1 })
			if r := g.deadReasons(t)[0]; !strings.Contains(r, "window_closed") || !strings.Contains(r, "63016") {
				t.Fatalf("dead letter reason %q, want window_closed and the code", r)
			}
		})
	}
}

// A 21610 in a delivery callback means Twilio holds an opt-out for the
// recipient: hotline records it, and the next reply is refused before it
// reaches Twilio. On WhatsApp the same, for the WhatsApp conversation.
func TestOptOutFromDeliveryCallback(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, to, phone string }{
		{"sms", "+14155552671", "+14155552671"},
		{"whatsapp", waUser, waSMS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newGateway(t)
			conv := "sms:sms-main:" + tc.to
			first := g.reply(t, conv, envelope.Party{ID: tc.to, Phone: tc.phone}, "first", envelope.SourceOperator)
			bustest.WaitFor(t, "the first send", func() bool { return len(g.api.sentTo(tc.to)) == 1 })

			form := readForm(t, "testdata/status/undelivered_21610.form")
			form.Set("To", tc.to)
			if code, body := g.post(t, "/webhooks/sms/sms-main/status?reply="+first.ID, form, ""); code != http.StatusNoContent {
				t.Fatalf("21610 callback: %d %s", code, body)
			}
			g.reply(t, conv, envelope.Party{ID: tc.to, Phone: tc.phone}, "second", envelope.SourceOperator)
			bustest.WaitFor(t, "the dead letter", func() bool { return len(g.deadReasons(t)) == 1 })
			if r := g.deadReasons(t)[0]; r != "recipient opted out" {
				t.Fatalf("dead letter reason %q", r)
			}
			if got := g.api.sentTo(tc.to); !slices.Equal(got, []string{"first"}) {
				t.Fatalf("sent %q after the opt-out, want only the first", got)
			}
			// The other channel of the same number is not touched.
			other := "sms:sms-main:" + map[string]string{"sms": "whatsapp:" + tc.phone, "whatsapp": tc.phone}[tc.name]
			if opted, err := g.a.optouts.Has(context.Background(), other); err != nil || opted {
				t.Fatalf("%s opted out too (%v)", other, err)
			}
		})
	}
}

// Every status callback sample: a signed one is answered 204 whatever it
// holds (Twilio does not retry usefully), becomes an event when it says
// something, and a forged one is 403.
func TestStatusCallbackSamples(t *testing.T) {
	t.Parallel()
	g := newAdapter(t)
	tests := []struct {
		file  string
		state envelope.DeliveryState // "" when no event is due
		err   string
		optIn string // a conversation that must be opted out afterwards
	}{
		{"delivered.form", envelope.StateDelivered, "", ""},
		{"whatsapp_read.form", envelope.StateDelivered, "", ""},
		{"undelivered_21610.form", envelope.StateFailed, "twilio undelivered, error 21610 (opted_out)", "sms:sms-main:+14155552671"},
		{"whatsapp_failed_63016.form", envelope.StateFailed, "twilio failed, error 63016 (window_closed)", ""},
		{"empty.form", "", "", ""},
		{"no_status.form", "", "", ""},
	}
	var mu sync.Mutex
	events := 0
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			mu.Lock()
			defer mu.Unlock()
			form := readForm(t, filepath.Join("testdata", "status", tc.file))
			replyID := envelope.NewID(time.Now())
			path := "/webhooks/sms/sms-main/status?reply=" + replyID
			if code, _ := g.post(t, path, form, "forged"); code != http.StatusForbidden {
				t.Fatalf("forged: %d, want 403", code)
			}
			if code, body := g.post(t, path, form, ""); code != http.StatusNoContent {
				t.Fatalf("signed: %d %s, want 204", code, body)
			}
			all := bustest.Messages(t, g.b, bus.StreamStatus, "hotline.status.sms.sms-main")
			if tc.state == "" {
				if len(all) != events {
					t.Fatalf("an event from a callback that says nothing")
				}
				return
			}
			events++
			if len(all) != events {
				t.Fatalf("%d events, want %d", len(all), events)
			}
			var ev envelope.Status
			if err := envelope.Decode(all[len(all)-1], &ev); err != nil {
				t.Fatal(err)
			}
			if ev.ReplyID != replyID || ev.State != tc.state || ev.Error != tc.err {
				t.Fatalf("event %+v, want %s %q", ev, tc.state, tc.err)
			}
			if tc.optIn != "" {
				if opted, err := g.a.optouts.Has(context.Background(), tc.optIn); err != nil || !opted {
					t.Fatalf("%s not opted out (%v)", tc.optIn, err)
				}
			}
		})
	}
	// Only the 21610 recorded an opt-out: a 63016 is not one.
	if opted, _ := g.a.optouts.Has(context.Background(), "sms:sms-main:"+waUser); opted {
		t.Fatal("a 63016 callback opted the WhatsApp user out")
	}
}

func TestNewWhatsAppSender(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	base := Config{Account: "sms-main", AccountSID: testSID, AuthToken: testToken, From: "+14155550100"}
	for _, tc := range []struct {
		set, want string // want "" means New refuses it
	}{
		{"", "whatsapp:+14155550100"},
		{"whatsapp:+14155550199", "whatsapp:+14155550199"},
		{"WhatsApp:+1 415 555 0199", "whatsapp:+14155550199"},
		{"+14155550199", ""},
		{"whatsapp:US.1234", ""},
	} {
		cfg := base
		cfg.WhatsAppFrom = tc.set
		a, err := New(cfg, Deps{Bus: b})
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("whatsapp_from %q accepted", tc.set)
		case tc.want != "" && (err != nil || a.cfg.WhatsAppFrom != tc.want):
			t.Errorf("whatsapp_from %q: got %v, want %q", tc.set, err, tc.want)
		}
	}
}
