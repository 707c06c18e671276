package twilio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/config"
	"hotline/envelope"
	"hotline/fallback"
	"hotline/gateway/gatewaytest"
	"hotline/outbound"
)

const (
	testSID   = "AC00000000000000000000000000000000"
	testToken = "twilio-auth-token-for-tests"
)

// fakeTwilio is the Messages API as Twilio answers it, including its
// errors.
type fakeTwilio struct {
	srv *httptest.Server
	mu  sync.Mutex
	// answer, when set, is what the next calls get: status and body.
	status int
	body   string
	header http.Header
	sent   []url.Values
	// failAfter, when set, answers 500 once that many sends went through.
	failAfter int
	// senders are the account's From addresses, as Twilio knows them.
	senders map[string]bool
	// closed are WhatsApp users whose 24-hour window has closed.
	closed map[string]bool
}

func newFakeTwilio(t *testing.T) *fakeTwilio {
	t.Helper()
	f := &fakeTwilio{senders: map[string]bool{"+14155550100": true, "whatsapp:+14155550100": true}, closed: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+testSID+"/Messages.json" {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"code":20404,"message":"The requested resource was not found","status":404}`)
			return
		}
		if !ok || user != testSID || pass != testToken {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"code":20003,"message":"Authenticate","status":401}`)
			return
		}
		if err := r.ParseForm(); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.status != 0 {
			for k, v := range f.header {
				w.Header()[k] = v
			}
			w.WriteHeader(f.status)
			fmt.Fprint(w, f.body)
			return
		}
		if f.failAfter > 0 && len(f.sent) >= f.failAfter {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"code":20500,"message":"Internal Server Error","status":500}`)
			return
		}
		if code, msg := f.refuse(r.PostForm); code != 0 {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"code":%d,"message":%q,"more_info":"https://www.twilio.com/docs/errors/%d","status":400}`, code, msg, code)
			return
		}
		f.sent = append(f.sent, r.PostForm)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"sid":"SM%032d","status":"queued","num_segments":"2","direction":"outbound-api","error_code":null}`, len(f.sent))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// refuse answers what Twilio checks of a message's addresses: both on
// the same channel, a sender the account owns, a WhatsApp user inside
// the 24-hour window. Callers hold f.mu.
func (f *fakeTwilio) refuse(form url.Values) (int, string) {
	to, from := form.Get("To"), form.Get("From")
	toWA, fromWA := strings.HasPrefix(to, "whatsapp:"), strings.HasPrefix(from, "whatsapp:")
	switch {
	case to == "" || from == "":
		return 21604, "A 'To' phone number is required."
	case toWA != fromWA:
		return 21910, "Invalid 'From' and 'To' pair. 'From' and 'To' should be of the same channel"
	case !f.senders[from] && fromWA:
		return 63007, "Twilio could not find a Channel with the specified From address"
	case !f.senders[from]:
		return 21606, "The From phone number " + from + " is not a valid, SMS-capable inbound phone number or short code for your account."
	case f.closed[to]:
		return 63016, "Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template."
	}
	return 0, ""
}

// sentFrom lists the From of every message that went to to.
func (f *fakeTwilio) sentFrom(to string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, v := range f.sent {
		if v.Get("To") == to {
			out = append(out, v.Get("From"))
		}
	}
	return out
}

func (f *fakeTwilio) fail(status int, body string, header http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body, f.header = status, body, header
}

func (f *fakeTwilio) sentTo(to string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, v := range f.sent {
		if v.Get("To") == to {
			out = append(out, v.Get("Body"))
		}
	}
	return out
}

// publicURL is where the gateway says Twilio reaches it (http.public_url,
// a proxy in front of it, say): what Twilio signs.
const publicURL = "https://hotline.example.com"

// gateway is a hotline gateway whose SMS account sms-main is Twilio's,
// against a fake Messages API, on an embedded NATS server; or the
// adapter alone.
type gateway struct {
	b   *bus.Bus
	a   *Adapter
	url string // where the webhooks are served
	// publicURL is where Twilio is told hotline is: what it signs.
	publicURL string
	api       *fakeTwilio
	// The gateway's mode store and phone bindings; nil when alone.
	modes    *fallback.Store
	bindings *fallback.Bindings
}

// newGateway runs the whole gateway, as serve assembles it.
func newGateway(t *testing.T) *gateway {
	t.Helper()
	return newGatewayWith(t, gatewayOptions{})
}

// newAdapter runs the adapter alone on a mux of its own: no router and no
// delivery loop, so what it stores stays on the bus unanswered.
func newAdapter(t *testing.T) *gateway {
	t.Helper()
	return newGatewayWith(t, gatewayOptions{alone: true})
}

// gatewayOptions vary the rig: the adapter alone, a WhatsApp sender of
// its own, a shorter reply window, and sms_fallback switched on by an
// operator for the account.
type gatewayOptions struct {
	alone        bool
	whatsappFrom string
	replyWindow  time.Duration
	smsFallback  bool
}

func newGatewayWith(t *testing.T, opt gatewayOptions) *gateway {
	t.Helper()
	if opt.replyWindow == 0 {
		opt.replyWindow = time.Second
	}
	b := bustest.Open(t)
	api := newFakeTwilio(t)
	settings := Config{Provider: Provider, Account: "sms-main", AccountSID: testSID, AuthToken: testToken, From: "+14155550100",
		WhatsAppFrom: opt.whatsappFrom, APIBase: api.srv.URL, ReplyWindow: opt.replyWindow}
	g := &gateway{b: b, api: api}
	if opt.alone {
		mux := http.NewServeMux()
		hooks := httptest.NewServer(mux)
		t.Cleanup(hooks.Close)
		settings.PublicURL = hooks.URL
		a, err := New(settings, Deps{Bus: b})
		if err != nil {
			t.Fatal(err)
		}
		for pattern, h := range a.Routes() {
			mux.Handle(pattern, h)
		}
		g.a, g.url, g.publicURL = a, hooks.URL, hooks.URL
		return g
	}
	cfg := gatewaytest.Config(config.AccountOf(Platform(), &settings))
	cfg.HTTP.PublicURL = publicURL
	cfg.Router.Menu = map[string]string{"1": "account_security"}
	gw := gatewaytest.Start(t, b, cfg, nil)
	ctx := context.Background()
	s, _ := gw.Adapter(envelope.PlatformSMS, "sms-main")
	g.a = s.(*Adapter)
	g.url, g.publicURL = "http://"+gw.PublicAddr().String(), publicURL
	g.modes, g.bindings = gw.Modes(), gw.Bindings()
	if opt.smsFallback {
		scope := fallback.Scope{Platform: envelope.PlatformSMS, Account: "sms-main"}
		if _, err := g.modes.Set(ctx, fallback.Setting{Mode: fallback.ModeSMSFallback, Scope: scope, Reason: "WhatsApp window", SetBy: "dana"}); err != nil {
			t.Fatal(err)
		}
		bustest.WaitFor(t, "sms_fallback in force", func() bool { on, _ := g.modes.SMSFallback(envelope.PlatformSMS, "sms-main"); return on })
	}
	return g
}

// post sends a webhook the way Twilio does, signed unless sig is given.
func (g *gateway) post(t *testing.T, path string, form url.Values, sig string) (int, string) {
	t.Helper()
	if sig == "" {
		sig = Signature(testToken, g.publicURL+path, form)
	}
	req, _ := http.NewRequest(http.MethodPost, g.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var sidSeq struct {
	sync.Mutex
	n int
}

func text(from, body string) url.Values {
	sidSeq.Lock()
	sidSeq.n++
	n := sidSeq.n
	sidSeq.Unlock()
	return url.Values{"MessageSid": {fmt.Sprintf("SM%032d", n)}, "AccountSid": {testSID}, "From": {from},
		"To": {"+14155550100"}, "Body": {body}, "NumMedia": {"0"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"}}
}

func TestHelpAnsweredInTwiML(t *testing.T) {
	t.Parallel()
	g := newGateway(t)
	code, body := g.post(t, "/webhooks/sms/sms-main", text("+14155552671", "HELP"), "")
	if code != 200 || !strings.Contains(body, "<Response><Message>Here&#39;s what I can do:") {
		t.Fatalf("HELP: %d %s", code, body)
	}
	if got := g.api.sentTo("+14155552671"); len(got) != 0 {
		t.Fatalf("the help text also went through the API: %q", got)
	}
}

func TestStopThenNothingButTheConfirmation(t *testing.T) {
	t.Parallel()
	g := newGateway(t)
	const user = "+14155552671"
	code, body := g.post(t, "/webhooks/sms/sms-main", text(user, "STOP"), "")
	if code != 200 || !strings.Contains(body, "You&#39;re unsubscribed") {
		t.Fatalf("STOP: %d %s", code, body)
	}
	if code, body := g.post(t, "/webhooks/sms/sms-main", text(user, "menu"), ""); code != 200 || strings.Contains(body, "<Message>") {
		t.Fatalf("a message after STOP was answered: %d %s", code, body)
	}
	// An agent's reply to the opted-out number goes nowhere but dead letters.
	now := time.Now().UTC()
	agent := envelope.Reply{ID: envelope.NewID(now), Platform: "sms", Account: "sms-main", Conversation: "sms:sms-main:" + user,
		To: envelope.Party{ID: user, Phone: user}, Text: "Hi, agent here", Source: envelope.SourceAgent, CreatedAt: now}
	if _, err := g.b.PublishReply(context.Background(), &agent); err != nil {
		t.Fatal(err)
	}
	bustest.WaitFor(t, "the dead letter", func() bool { return len(bustest.Messages(t, g.b, bus.StreamDead, "hotline.dead")) == 1 })
	if got := g.api.sentTo(user); len(got) != 0 {
		t.Fatalf("sent to an opted-out number: %q", got)
	}
	if code, body := g.post(t, "/webhooks/sms/sms-main", text(user, "start"), ""); code != 200 || !strings.Contains(body, "subscribed again") {
		t.Fatalf("START: %d %s", code, body)
	}
	if code, body := g.post(t, "/webhooks/sms/sms-main", text(user, "menu"), ""); code != 200 || !strings.Contains(body, "1 Account security") {
		t.Fatalf("menu after START: %d %s", code, body)
	}
	// Every message, the keywords included, is stored.
	if n := len(bustest.Messages(t, g.b, bus.StreamIn, "hotline.in.sms.sms-main")); n != 4 {
		t.Fatalf("HOTLINE_IN holds %d messages, want 4", n)
	}
}

func TestBadSignatureRefused(t *testing.T) {
	t.Parallel()
	g := newAdapter(t)
	form := text("+14155552671", "hello")
	for name, sig := range map[string]string{
		"wrong":         "bm90IGEgc2lnbmF0dXJl",
		"other url":     Signature(testToken, g.publicURL+"/webhooks/sms/other", form),
		"other token":   Signature("another-token", g.publicURL+"/webhooks/sms/sms-main", form),
		"missing token": " ",
	} {
		if code, _ := g.post(t, "/webhooks/sms/sms-main", form, sig); code != http.StatusForbidden {
			t.Errorf("%s signature: %d, want 403", name, code)
		}
	}
	if n := len(bustest.Messages(t, g.b, bus.StreamIn, "hotline.in.")); n != 0 {
		t.Fatalf("%d messages stored from unsigned requests", n)
	}
}

func TestSlowRouterGetsEmptyResponseAndMessageIsKept(t *testing.T) {
	t.Parallel()
	g := newAdapter(t) // no router: nobody answers within the window
	code, body := g.post(t, "/webhooks/sms/sms-main", text("+14155552671", "where is my parcel"), "")
	if code != 200 || strings.Contains(body, "<Message>") {
		t.Fatalf("got %d %s, want an empty TwiML response", code, body)
	}
	if n := len(bustest.Messages(t, g.b, bus.StreamIn, "hotline.in.sms.sms-main")); n != 1 {
		t.Fatalf("HOTLINE_IN holds %d messages, want 1", n)
	}
}

func TestRetriedWebhookStoredOnce(t *testing.T) {
	t.Parallel()
	g := newAdapter(t)
	form := text("+14155552671", "hello")
	for range 3 {
		g.post(t, "/webhooks/sms/sms-main", form, "")
	}
	if n := len(bustest.Messages(t, g.b, bus.StreamIn, "hotline.in.sms.sms-main")); n != 1 {
		t.Fatalf("HOTLINE_IN holds %d messages for one MessageSid, want 1", n)
	}
}

func TestStatusCallbackBecomesDeliveryEvent(t *testing.T) {
	t.Parallel()
	g := newAdapter(t)
	replyID := envelope.NewID(time.Now())
	form := url.Values{"MessageSid": {"SM" + strings.Repeat("1", 32)}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"},
		"AccountSid": {testSID}, "To": {"+14155552671"}, "From": {"+14155550100"}}
	if code, body := g.post(t, "/webhooks/sms/sms-main/status?reply="+replyID, form, ""); code != http.StatusNoContent {
		t.Fatalf("status callback: %d %s", code, body)
	}
	events := bustest.Messages(t, g.b, bus.StreamStatus, "hotline.status.sms.sms-main")
	if len(events) != 1 {
		t.Fatalf("%d status events, want 1", len(events))
	}
	var ev envelope.Status
	if err := envelope.Decode(events[0], &ev); err != nil {
		t.Fatal(err)
	}
	if ev.ReplyID != replyID || ev.State != envelope.StateFailed || ev.Error != "twilio undelivered, error 30003" {
		t.Fatalf("event %+v", ev)
	}
	unsigned := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}}
	if code, _ := g.post(t, "/webhooks/sms/sms-main/status", unsigned, "forged"); code != http.StatusForbidden {
		t.Fatalf("unsigned status callback: %d, want 403", code)
	}
}

func TestSendMapsTwilioAnswers(t *testing.T) {
	t.Parallel()
	g := newAdapter(t)
	ctx := context.Background()
	rep := func(to string) envelope.Reply {
		now := time.Now().UTC()
		return envelope.Reply{ID: envelope.NewID(now), Platform: "sms", Account: "sms-main", Conversation: "sms:sms-main:" + to,
			To: envelope.Party{ID: to, Phone: to}, Text: "hello", Source: envelope.SourceBot, CreatedAt: now}
	}
	receipt, err := g.a.Send(ctx, rep("+14155552671"))
	if err != nil || receipt.PlatformMsgID == "" || receipt.Segments != 2 {
		t.Fatalf("accepted send: %+v %v", receipt, err)
	}
	if cb := g.api.sent[0].Get("StatusCallback"); !strings.HasPrefix(cb, g.publicURL+"/webhooks/sms/sms-main/status?reply=") {
		t.Fatalf("StatusCallback %q", cb)
	}
	tests := []struct {
		name   string
		status int
		body   string
		header http.Header
		kind   outbound.Kind
		reason string
		after  time.Duration
	}{
		{"opted out", 400, `{"code":21610,"message":"Attempt to send to unsubscribed recipient","status":400}`, nil, outbound.Permanent, "opted_out", 0},
		{"invalid number", 400, `{"code":21211,"message":"Invalid 'To' Phone Number","status":400}`, nil, outbound.Permanent, "invalid_number", 0},
		{"too many requests", 429, `{"code":20429,"message":"Too Many Requests","status":429}`, http.Header{"Retry-After": {"3"}}, outbound.Throttled, "throttled", 3 * time.Second},
		{"server error", 500, `{"code":20500,"message":"Internal Server Error","status":500}`, nil, outbound.Retryable, "http_500", 0},
		{"html gateway error", 502, `<html><body>Bad Gateway</body></html>`, nil, outbound.Retryable, "http_502", 0},
		{"bad credentials", 401, `{"code":20003,"message":"Authenticate","status":401}`, nil, outbound.Retryable, "auth_failed", 0},
		{"other client error", 400, `{"code":21606,"message":"From is not SMS-capable","status":400}`, nil, outbound.Permanent, "twilio_21606", 0},
		{"whatsapp window closed", 400, `{"code":63016,"message":"Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template.","status":400}`, nil, outbound.Permanent, outbound.ReasonWindowClosed, 0},
		{"whatsapp no such user", 400, `{"code":63003,"message":"Channel could not find To address","status":400}`, nil, outbound.Permanent, "invalid_number", 0},
		{"whatsapp invalid recipient", 400, `{"code":63024,"message":"Invalid message recipient","status":400}`, nil, outbound.Permanent, "invalid_number", 0},
		{"whatsapp blocked by the user", 400, `{"code":63014,"message":"Channel message blocked by user action","status":400}`, nil, outbound.Permanent, "blocked", 0},
		{"whatsapp rate limit", 400, `{"code":63018,"message":"Rate limit exceeded for Channel","status":400}`, nil, outbound.Throttled, "throttled", 0},
		{"whatsapp channel auth", 400, `{"code":63001,"message":"Channel could not authenticate the request","status":400}`, nil, outbound.Retryable, "auth_failed", 0},
		{"whatsapp provider error", 500, `{"code":63012,"message":"Channel returned an internal service error","status":500}`, nil, outbound.Retryable, "channel_error", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g.api.fail(tc.status, tc.body, tc.header)
			r := rep("+14155552672")
			_, err := g.a.Send(ctx, r)
			var se *outbound.SendError
			if !errors.As(err, &se) || se.Kind != tc.kind || se.Reason != tc.reason || se.RetryAfter != tc.after {
				t.Fatalf("got %#v, want %s %s after %v", err, tc.kind, tc.reason, tc.after)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Fatal("the auth token is in the error")
			}
			if tc.reason == "opted_out" {
				opted, err := g.a.optouts.Has(ctx, r.Conversation)
				if err != nil || !opted {
					t.Fatalf("21610 did not record the opt-out (%v)", err)
				}
			}
		})
	}
}

// A provider that sends only the required fields, from a number texting
// faster than its limit: every message is stored, none answered twice,
// nothing panics.
func TestMinimalFormsOverTheLimit(t *testing.T) {
	t.Parallel()
	g := newGatewayWith(t, gatewayOptions{alone: true, replyWindow: 10 * time.Millisecond})
	for i := range 12 { // the default burst is 10
		form := url.Values{"MessageSid": {fmt.Sprintf("SM%032d", 9000+i)}, "From": {"+14155552673"}, "To": {"+14155550100"}, "Body": {"hi"}}
		if code, body := g.post(t, "/webhooks/sms/sms-main", form, ""); code != 200 {
			t.Fatalf("message %d: %d %s", i+1, code, body)
		}
	}
	var limited int
	for _, data := range bustest.Messages(t, g.b, bus.StreamIn, "hotline.in.sms.sms-main") {
		var m envelope.Message
		if err := envelope.Decode(data, &m); err != nil {
			t.Fatal(err)
		}
		if m.Meta["rate_limited"] == "true" {
			limited++
		}
	}
	if n := len(bustest.Messages(t, g.b, bus.StreamIn, "hotline.in.sms.sms-main")); n != 12 || limited != 2 {
		t.Fatalf("%d stored, %d marked over the limit; want 12 and 2", n, limited)
	}
}

func TestLongReplySentInPartsAndResumed(t *testing.T) {
	t.Parallel()
	g := newAdapter(t)
	ctx := context.Background()
	text := strings.Repeat("word ", 700) // 3,500 characters
	now := time.Now().UTC()
	r := envelope.Reply{ID: envelope.NewID(now), Platform: "sms", Account: "sms-main", Conversation: "sms:sms-main:+14155552674",
		To: envelope.Party{ID: "+14155552674", Phone: "+14155552674"}, Text: text, Source: envelope.SourceBot, CreatedAt: now}
	g.api.fail(0, "", nil)
	// The API fails after the first part: the retry sends only the rest.
	g.api.mu.Lock()
	g.api.failAfter = 1
	g.api.mu.Unlock()
	if _, err := g.a.Send(ctx, r); err == nil {
		t.Fatal("send with a failing second part succeeded")
	}
	g.api.mu.Lock()
	g.api.failAfter = 0
	g.api.mu.Unlock()
	if _, err := g.a.Send(ctx, r); err != nil {
		t.Fatalf("retry: %v", err)
	}
	parts := g.api.sentTo("+14155552674")
	if len(parts) != 3 || strings.Join(parts, "") != text {
		t.Fatalf("got %d parts (joined equal: %v), want 3 in order making the text", len(parts), strings.Join(parts, "") == text)
	}
	for _, p := range parts {
		if n := len([]rune(p)); n > 1600 {
			t.Fatalf("a part of %d characters", n)
		}
	}
}
