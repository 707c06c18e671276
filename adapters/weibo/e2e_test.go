package weibo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/config"
	"hotline/envelope"
	"hotline/fallback"
	"hotline/fallback/fallbacktest"
	"hotline/gateway/gatewaytest"
	"hotline/outbound/outboundtest"
)

const (
	testSecret  = "weibo-app-secret-for-tests"
	testToken   = "2.00weibo-access-token-for-tests"
	accountUID  = "1902538057"
	testAccount = "weibo-main"
)

// sentMsg is one messages/reply call the fake accepted.
type sentMsg struct {
	receiver string
	text     string
}

// fakeWeibo is the messages/reply API as Weibo answers it, including its
// errors. It checks every request the way the wiki describes it.
type fakeWeibo struct {
	t   *testing.T
	srv *httptest.Server
	mu  sync.Mutex
	// failures are answered, one per call, before calls succeed again.
	failures []failure
	sent     []sentMsg
	calls    int
}

type failure struct {
	status int
	body   string
	header http.Header
}

func newFakeWeibo(t *testing.T) *fakeWeibo {
	t.Helper()
	f := &fakeWeibo{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/2/messages/reply.json" {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"error_code":10014,"error":"not found","request":%q}`, r.URL.Path)
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			f.t.Errorf("content type: got %q, want application/x-www-form-urlencoded", ct)
		}
		if err := r.ParseForm(); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if r.URL.RawQuery != "" {
			f.t.Errorf("query: got %q, want the parameters in the body only", r.URL.RawQuery)
		}
		if got := r.PostForm.Get("access_token"); got != testToken {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error_code":21332,"error":"invalid_access_token","request":"/2/messages/reply.json"}`)
			return
		}
		var data struct {
			Text string `json:"text"`
		}
		receiver := r.PostForm.Get("receiver_id")
		if _, err := strconv.ParseInt(receiver, 10, 64); err != nil {
			f.t.Errorf("receiver_id: got %q, want an int64", receiver)
		}
		if err := json.Unmarshal([]byte(r.PostForm.Get("data")), &data); err != nil || data.Text == "" {
			f.t.Errorf("data: got %q, want JSON {\"text\":...} (%v)", r.PostForm.Get("data"), err)
		}
		if r.PostForm.Get("type") != "text" || r.PostForm.Get("save_sender_box") != "0" {
			f.t.Errorf("type %q save_sender_box %q, want text and 0", r.PostForm.Get("type"), r.PostForm.Get("save_sender_box"))
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls++
		if len(f.failures) > 0 {
			fl := f.failures[0]
			f.failures = f.failures[1:]
			for k, v := range fl.header {
				w.Header()[k] = v
			}
			w.WriteHeader(fl.status)
			fmt.Fprint(w, fl.body)
			return
		}
		f.sent = append(f.sent, sentMsg{receiver: receiver, text: data.Text})
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"result":true,"sender_id":%s,"receiver_id":%s,"id":%d,"idstr":"%d"}`, accountUID, receiver, 4000+len(f.sent), 4000+len(f.sent))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWeibo) fail(fs ...failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, fs...)
}

func (f *fakeWeibo) sentTo(receiver string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, m := range f.sent {
		if m.receiver == receiver {
			out = append(out, m.text)
		}
	}
	return out
}

// lockedBuffer collects log lines from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type gatewayOpts struct {
	appSecret   string
	replay      time.Duration
	replyWindow time.Duration
	faqFile     string
	// alone runs the adapter by itself on a mux of its own: no router and
	// no delivery loop, so what it stores stays on the bus unanswered.
	// Otherwise the whole gateway runs, as serve assembles it.
	alone bool
	// modes adds the SMS account degraded modes reroute to (sms-main),
	// behind a fake provider.
	modes bool
}

// gateway is a hotline gateway with one Weibo account against a fake
// Weibo API, on an embedded NATS server, or the adapter alone.
type gateway struct {
	b    *bus.Bus
	a    *Adapter
	url  string // where the webhooks are served
	api  *fakeWeibo
	logs *lockedBuffer
	opts gatewayOpts
	// The gateway's mode store and phone bindings (nil when alone), and
	// with gatewayOpts.modes the fake SMS provider behind sms-main.
	modes    *fallback.Store
	bindings *fallback.Bindings
	sms      *outboundtest.Platform
}

func newGateway(t *testing.T, opts gatewayOpts) *gateway {
	t.Helper()
	if opts.appSecret == "" {
		opts.appSecret = testSecret
	}
	if opts.replyWindow == 0 {
		opts.replyWindow = 2 * time.Second
	}
	b := bustest.Open(t)
	api := newFakeWeibo(t)
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	settings := Config{Account: testAccount, AppKey: "3538199806", AppSecret: envelope.Secret(opts.appSecret),
		AccessToken: testToken, APIBase: api.srv.URL, ReplyWindow: opts.replyWindow, ReplayWindow: opts.replay}
	g := &gateway{b: b, api: api, logs: logs, opts: opts}
	if opts.alone {
		reg := prometheus.NewRegistry()
		a, err := New(settings, Deps{Bus: b, Registry: reg, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		for pattern, h := range a.Routes() {
			mux.Handle(pattern, h)
		}
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		hooks := httptest.NewServer(mux)
		t.Cleanup(hooks.Close)
		g.a, g.url = a, hooks.URL
		return g
	}
	cfg := gatewaytest.Config(config.AccountOf(Platform(), &settings))
	cfg.Router.DefaultLang, cfg.Router.Menu, cfg.Router.FAQFile = "en", map[string]string{"1": "account_security"}, opts.faqFile
	if opts.modes {
		var sms config.Account
		sms, g.sms = fallbacktest.SMS(t)
		cfg.Accounts = append(cfg.Accounts, sms)
	}
	gw := gatewaytest.Start(t, b, cfg, log)
	s, _ := gw.Adapter("weibo", testAccount)
	g.a = s.(*Adapter)
	g.url = "http://" + gw.PublicAddr().String()
	g.modes, g.bindings = gw.Modes(), gw.Bindings()
	return g
}

// metric reads a series of the gateway's /metrics.
func (g *gateway) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	return gatewaytest.Metric(t, g.url, name, labels...)
}

var nonceSeq atomic.Int64

// signedQuery is the query Weibo adds to a push: a fresh millisecond
// timestamp, a nonce and their signature.
func (g *gateway) signedQuery() string {
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	nonce := strconv.FormatInt(57155157+nonceSeq.Add(1), 10)
	return "?" + url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {Signature(g.opts.appSecret, ts, nonce)}}.Encode()
}

func (g *gateway) get(t *testing.T, query string) (code int, ctype, body string) {
	t.Helper()
	resp, err := http.Get(g.url + "/webhooks/weibo/" + testAccount + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// post sends a push with the given query (signedQuery for a good one).
func (g *gateway) post(t *testing.T, query, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(g.url+"/webhooks/weibo/"+testAccount+query, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var userSeq atomic.Int64

// newUser returns a sender id no other test uses.
func newUser() string { return strconv.FormatInt(2489518277+userSeq.Add(1), 10) }

func textPush(user, text string, at time.Time) string {
	b, _ := json.Marshal(map[string]any{"type": "text", "receiver_id": json.Number(accountUID), "sender_id": json.Number(user),
		"created_at": at.Format(CreatedAtLayout), "text": text, "data": map[string]any{}})
	return string(b)
}

func eventPush(user, subtype, key string, at time.Time) string {
	return fmt.Sprintf(`{"type":"event","receiver_id":%s,"sender_id":%s,"created_at":%q,"text":"","data":{"subtype":%q,"key":%q}}`,
		accountUID, user, at.Format(CreatedAtLayout), subtype, key)
}

// passiveText decodes a passive reply body, checking its shape.
func passiveText(t *testing.T, body, user string) string {
	t.Helper()
	var r struct {
		Result     bool   `json:"result"`
		SenderID   string `json:"sender_id"`
		ReceiverID string `json:"receiver_id"`
		Type       string `json:"type"`
		Data       string `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("passive reply %q: %v", body, err)
	}
	if !r.Result || r.SenderID != accountUID || r.ReceiverID != user || r.Type != "text" {
		t.Fatalf("passive reply: got %+v, want result true, sender %s, receiver %s, type text", r, accountUID, user)
	}
	if strings.ContainsAny(r.Data, "{}\" +") {
		t.Fatalf("passive data %q is not URL-encoded", r.Data)
	}
	raw, err := url.PathUnescape(r.Data)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		t.Fatalf("passive data %q: %v", raw, err)
	}
	return d.Text
}

func outCount(t *testing.T, b *bus.Bus) int {
	return len(bustest.Messages(t, b, bus.StreamOut, "hotline.out.weibo."+testAccount))
}

// passiveStatuses counts the router's "passive" delivery events.
func passiveStatuses(t *testing.T, b *bus.Bus) int {
	n := 0
	for _, raw := range bustest.Messages(t, b, bus.StreamStatus, "hotline.status.weibo."+testAccount) {
		var st envelope.Status
		if envelope.Decode(raw, &st) == nil && st.State == envelope.StatePassive {
			n++
		}
	}
	return n
}

// barrier waits until everything the gateway was going to send user
// through the API for what came in so far has been sent: the router has
// handled every stored message (bustest.RouterCaughtUp), then a marker queued behind
// the replies it made reaches the API. It returns the marker's text, the
// last thing the user got.
func (g *gateway) barrier(t *testing.T, user string) string {
	t.Helper()
	bustest.RouterCaughtUp(t, g.b)
	text := bustest.Marker(t, g.b, "weibo", testAccount, user)
	bustest.WaitFor(t, "the sequence marker at the API", func() bool { return slices.Contains(g.api.sentTo(user), text) })
	return text
}

// queuedFor counts the replies to user on HOTLINE_OUT.
func queuedFor(t *testing.T, b *bus.Bus, user string) int {
	t.Helper()
	n := 0
	for _, data := range bustest.Messages(t, b, bus.StreamOut, "hotline.out.") {
		var rep envelope.Reply
		if err := envelope.Decode(data, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.To.ID == user {
			n++
		}
	}
	return n
}

func TestQuickAnswerIsPassive(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{replay: 5 * time.Minute})
	user := newUser()
	code, body := g.post(t, g.signedQuery(), textPush(user, "help", time.Now()))
	if code != 200 {
		t.Fatalf("push: got %d %s, want 200", code, body)
	}
	if got := passiveText(t, body, user); !strings.Contains(got, "1 Account security") {
		t.Fatalf("passive text: got %q, want the help text", got)
	}
	bustest.WaitFor(t, "the passive status event", func() bool { return passiveStatuses(t, g.b) == 1 })
	if n := outCount(t, g.b); n != 0 {
		t.Fatalf("HOTLINE_OUT holds %d replies, want 0: the passive reply must be the only one", n)
	}
	if got := g.api.sentTo(user); len(got) != 0 {
		t.Fatalf("the API also sent %q", got)
	}
}

func TestSlowAnswerIsActive(t *testing.T) {
	t.Parallel()
	// A window too short for any router: the answer goes through the API.
	g := newGateway(t, gatewayOpts{replyWindow: time.Millisecond})
	user := newUser()
	code, body := g.post(t, g.signedQuery(), textPush(user, "help", time.Now()))
	if code != 200 || body != "" {
		t.Fatalf("push: got %d %q, want 200 with an empty body", code, body)
	}
	bustest.WaitFor(t, "the active reply", func() bool { return len(g.api.sentTo(user)) == 1 })
	if got := g.api.sentTo(user)[0]; !strings.Contains(got, "1 Account security") {
		t.Fatalf("active text: got %q, want the help text", got)
	}
	if n := passiveStatuses(t, g.b); n != 0 {
		t.Fatalf("%d passive status events, want 0", n)
	}
}

func TestNoRouterEmptyAnswerAndMessageKept(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{alone: true, replyWindow: 100 * time.Millisecond})
	code, body := g.post(t, g.signedQuery(), textPush(newUser(), "where is my parcel", time.Now()))
	if code != 200 || body != "" {
		t.Fatalf("push: got %d %q, want 200 with an empty body", code, body)
	}
	if n := len(bustest.Messages(t, g.b, bus.StreamIn, "hotline.in.weibo."+testAccount)); n != 1 {
		t.Fatalf("HOTLINE_IN holds %d messages, want 1", n)
	}
}

// longFAQ writes an FAQ file whose answer to "refund policy details" is
// about 600 characters long.
func longFAQ(t *testing.T) (file, answer string) {
	t.Helper()
	var long strings.Builder
	for i := 1; long.Len() < 600; i++ {
		fmt.Fprintf(&long, "Step %d of the refund policy is explained in this sentence. ", i)
	}
	answer = strings.TrimSpace(long.String())
	file = filepath.Join(t.TempDir(), "faq.yaml")
	entry := fmt.Sprintf("- id: refund_policy\n  keywords:\n    en: [refund policy details]\n  answer:\n    en: %q\n", answer)
	if err := os.WriteFile(file, []byte(entry), 0o644); err != nil {
		t.Fatal(err)
	}
	return file, answer
}

func TestLongAnswerSplitPassiveThenActive(t *testing.T) {
	t.Parallel()
	faq, answer := longFAQ(t)
	g := newGateway(t, gatewayOpts{faqFile: faq})
	user := newUser()
	code, body := g.post(t, g.signedQuery(), textPush(user, "refund policy details", time.Now()))
	if code != 200 {
		t.Fatalf("push: got %d %s", code, body)
	}
	first := passiveText(t, body, user)
	if n := utf8.RuneCountInString(first); n > PassiveTextLimit || n < PassiveTextLimit/2 {
		t.Fatalf("passive part: got %d runes, want between %d and %d", n, PassiveTextLimit/2, PassiveTextLimit)
	}
	if !strings.HasSuffix(first, ".") {
		t.Errorf("passive part ends %q, want a sentence end", first[len(first)-10:])
	}
	bustest.WaitFor(t, "the rest through the API", func() bool { return len(g.api.sentTo(user)) == 1 })
	rest := g.api.sentTo(user)[0]
	if got := first + " " + rest; got != answer {
		t.Fatalf("passive + active:\ngot  %q\nwant %q", got, answer)
	}
	// Exactly one reply waited for the API: the rest, and only once.
	if n := outCount(t, g.b); n != 1 {
		t.Fatalf("HOTLINE_OUT holds %d replies, want 1", n)
	}
	// A second send of the rest would be ahead of the marker.
	mark := g.barrier(t, user)
	if got := g.api.sentTo(user); len(got) != 2 || got[1] != mark {
		t.Fatalf("the API sent %d messages, want the rest once and then the sequence marker", len(got))
	}
}

func TestRetriedPushOneMessageOneReply(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{replay: 5 * time.Minute})
	user := newUser()
	push := textPush(user, "help", time.Now())
	passive := 0
	for i := range 3 {
		code, body := g.post(t, g.signedQuery(), push) // each retry is signed anew
		if code != 200 {
			t.Fatalf("attempt %d: got %d %s, want 200", i+1, code, body)
		}
		if body != "" {
			passiveText(t, body, user)
			passive++
		}
	}
	if passive != 1 {
		t.Fatalf("%d passive replies, want 1", passive)
	}
	if n := len(bustest.Messages(t, g.b, bus.StreamIn, "hotline.in.weibo."+testAccount)); n != 1 {
		t.Fatalf("HOTLINE_IN holds %d messages for one push, want 1", n)
	}
	bustest.WaitFor(t, "the passive status event", func() bool { return passiveStatuses(t, g.b) == 1 })
	if n, sent := outCount(t, g.b), g.api.sentTo(user); n != 0 || len(sent) != 0 {
		t.Fatalf("HOTLINE_OUT holds %d, the API sent %q; want nothing besides the passive reply", n, sent)
	}
}

func TestFollowWelcomesUnfollowOptsOut(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{replay: 5 * time.Minute})
	user := newUser()
	code, body := g.post(t, g.signedQuery(), eventPush(user, "follow", "", time.Now()))
	if code != 200 || !strings.Contains(passiveText(t, body, user), "welcome") {
		t.Fatalf("follow: got %d %q, want the welcome", code, body)
	}
	code, body = g.post(t, g.signedQuery(), eventPush(user, "click", "1", time.Now().Add(time.Second)))
	if code != 200 || !strings.Contains(strings.ToLower(passiveText(t, body, user)), "account") {
		t.Fatalf("menu click 1: got %d %q, want the account security answer", code, body)
	}
	if code, body := g.post(t, g.signedQuery(), eventPush(user, "unfollow", "", time.Now().Add(2*time.Second))); code != 200 {
		t.Fatalf("unfollow: got %d %q, want 200", code, body)
	}
	bustest.WaitFor(t, "the opt-out", func() bool {
		opted, err := g.b.OptedOut(context.Background(), envelope.ConversationKey("weibo", testAccount, user))
		return err == nil && opted
	})
}

func TestUnsignedOrStalePushRefused(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{alone: true, replay: 5 * time.Minute, replyWindow: 50 * time.Millisecond})
	push := textPush(newUser(), "hello", time.Now())
	now := time.Now()
	signed := func(ts, nonce, secret string) string {
		return "?" + url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {Signature(secret, ts, nonce)}}.Encode()
	}
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	tests := []struct {
		name, query string
	}{
		{"no query", ""},
		{"no signature", "?timestamp=" + ms(now) + "&nonce=1"},
		{"wrong signature", "?timestamp=" + ms(now) + "&nonce=1&signature=" + strings.Repeat("a", 40)},
		{"other secret", signed(ms(now), "1", "another-secret")},
		{"stale milliseconds", signed(ms(now.Add(-10*time.Minute)), "1", testSecret)},
		{"stale seconds", signed(strconv.FormatInt(now.Add(-10*time.Minute).Unix(), 10), "1", testSecret)},
		{"from the future", signed(ms(now.Add(10*time.Minute)), "1", testSecret)},
		{"the official 2014 example", "?nonce=57155157&timestamp=1397022061823&signature=" + Signature(testSecret, kaTimestamp, kaNonce)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := g.post(t, tc.query, push); code != http.StatusUnauthorized {
				t.Fatalf("got %d %q, want 401", code, body)
			}
		})
	}
	if n := len(bustest.Messages(t, g.b, bus.StreamIn, "hotline.in.")); n != 0 {
		t.Fatalf("%d messages stored from refused pushes, want 0", n)
	}
	// Seconds are accepted as well as milliseconds.
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	if code, body := g.post(t, signed(ts, "2", testSecret), push); code != 200 {
		t.Fatalf("signed push with a seconds timestamp: got %d %q, want 200", code, body)
	}
	for name, tc := range map[string]struct {
		body string
		want int
	}{
		"bad json":  {`{"type":"text",`, http.StatusBadRequest},
		"too large": {`{"type":"text","text":"` + strings.Repeat("x", maxBody) + `"}`, http.StatusRequestEntityTooLarge},
		"no sender": {`{"type":"text","receiver_id":1,"created_at":"Mon Jul 16 18:09:20 +0800 2012"}`, http.StatusBadRequest},
	} {
		if code, _ := g.post(t, g.signedQuery(), tc.body); code != tc.want {
			t.Errorf("%s: got %d, want %d", name, code, tc.want)
		}
	}
}

func TestTokenExpiredGoesToDeadLetters(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	g.api.fail(failure{status: 200, body: `{"error_code":21327,"error":"expired_token","request":"/2/messages/reply.json"}`})
	user := newUser()
	now := time.Now().UTC()
	rep := envelope.Reply{ID: envelope.NewID(now), Platform: "weibo", Account: testAccount, Conversation: envelope.ConversationKey("weibo", testAccount, user),
		To: envelope.Party{ID: user}, Text: "Hi, agent here", Source: envelope.SourceAgent, CreatedAt: now}
	if _, err := g.b.PublishReply(context.Background(), &rep); err != nil {
		t.Fatal(err)
	}
	var dead [][]byte
	bustest.WaitFor(t, "the dead letter", func() bool {
		dead = bustest.Messages(t, g.b, bus.StreamDead, "hotline.dead")
		return len(dead) == 1
	})
	var dl envelope.DeadLetter
	if err := json.Unmarshal(dead[0], &dl); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"token_expired", "21327", "issue a new token", "access_token"} {
		if !strings.Contains(dl.Reason, want) {
			t.Errorf("dead letter reason %q: want it to mention %q", dl.Reason, want)
		}
	}
	if strings.Contains(dl.Reason, testToken) || strings.Contains(g.logs.String(), testToken) {
		t.Fatal("the access token leaked into the dead letter or the logs")
	}
	if !strings.Contains(g.logs.String(), "level=ERROR") || !strings.Contains(g.logs.String(), "access token refused") {
		t.Fatalf("logs: got %q, want an error line about the token", g.logs.String())
	}
	if got := g.metric(t, "hotline_weibo_token_errors_total", "account", testAccount); got != 1 {
		t.Fatalf("hotline_weibo_token_errors_total: got %v, want 1", got)
	}
	if got := g.api.sentTo(user); len(got) != 0 {
		t.Fatalf("sent %q after a token error", got)
	}
}

func TestThrottledThenDeliveredOnce(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	g.api.fail(failure{status: 200, body: `{"error_code":10023,"error":"User requests out of rate limit!","request":"/2/messages/reply.json"}`,
		header: http.Header{"Retry-After": {"1"}}})
	user := newUser()
	now := time.Now().UTC()
	rep := envelope.Reply{ID: envelope.NewID(now), Platform: "weibo", Account: testAccount, Conversation: envelope.ConversationKey("weibo", testAccount, user),
		To: envelope.Party{ID: user}, Text: "Your refund is on its way.", Source: envelope.SourceBot, CreatedAt: now}
	if _, err := g.b.PublishReply(context.Background(), &rep); err != nil {
		t.Fatal(err)
	}
	bustest.WaitFor(t, "the delivery after the throttle", func() bool { return len(g.api.sentTo(user)) == 1 })
	// A second send of the reply would be ahead of the marker on the
	// user's delivery path.
	mark := g.barrier(t, user)
	g.api.mu.Lock()
	calls := g.api.calls
	g.api.mu.Unlock()
	if got := g.api.sentTo(user); calls != 3 || len(got) != 2 || got[1] != mark {
		t.Fatalf("API calls: got %d sending %q, want 3 (throttled, then sent, then the sequence marker)", calls, got)
	}
}

// flushWatcher is a response writer that runs a check when the handler
// flushes its response.
type flushWatcher struct {
	*httptest.ResponseRecorder
	onFlush func()
}

func (f *flushWatcher) Flush() {
	f.onFlush()
	f.ResponseRecorder.Flush()
}

// TestLongAnswerPassivePartLeavesFirst checks the order on our side: the
// passive part is written and flushed before the rest is handed to the
// outbound loop, so the API part cannot overtake it.
func TestLongAnswerPassivePartLeavesFirst(t *testing.T) {
	t.Parallel()
	faq, _ := longFAQ(t)
	g := newGateway(t, gatewayOpts{faqFile: faq})
	user := newUser()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/weibo/"+testAccount+g.signedQuery(), strings.NewReader(textPush(user, "refund policy details", time.Now())))
	outAtFlush := -1
	w := &flushWatcher{ResponseRecorder: httptest.NewRecorder(), onFlush: func() { outAtFlush = outCount(t, g.b) }}
	g.a.Routes()["POST /webhooks/weibo/"+testAccount].ServeHTTP(w, req)
	if w.Code != 200 || w.Body.Len() == 0 {
		t.Fatalf("push: got %d %q, want a passive reply", w.Code, w.Body.String())
	}
	if outAtFlush != 0 {
		t.Fatalf("HOTLINE_OUT held %d replies when the passive part was flushed, want 0", outAtFlush)
	}
	if n := outCount(t, g.b); n != 1 {
		t.Fatalf("HOTLINE_OUT holds %d replies after the handler returned, want 1", n)
	}
	if got := w.Header().Get("Content-Length"); got != strconv.Itoa(w.Body.Len()) {
		t.Fatalf("Content-Length: got %s, want %d", got, w.Body.Len())
	}
}

// TestPassiveMediaGoesByAPI: a passive text cannot carry media, so a
// reply's media leave through the API (as a link) after its text.
func TestPassiveMediaGoesByAPI(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	user := newUser()
	m, err := ToMessage([]byte(textPush(user, "photo please", time.Now())), testAccount, envelope.NewID(time.Now()), time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	rep := testReply(user, "Here is the photo.")
	rep.Media = []envelope.Media{{Kind: envelope.KindImage, URL: "https://example.com/p.jpg"}}
	w := httptest.NewRecorder()
	g.a.answer(context.Background(), w, m, rep)
	if got := passiveText(t, w.Body.String(), user); got != "Here is the photo." {
		t.Fatalf("passive text: got %q, want the reply's text", got)
	}
	bustest.WaitFor(t, "the media through the API", func() bool { return len(g.api.sentTo(user)) == 1 })
	if got := g.api.sentTo(user)[0]; got != "https://example.com/p.jpg" {
		t.Fatalf("active text: got %q, want the media link", got)
	}
}

// Weibo's signature covers the query, not the body: a signed query read
// from a log must not carry another body while its timestamp is fresh.
func TestCapturedQueryWithAnotherBodyRefused(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{alone: true, replay: 5 * time.Minute, replyWindow: 50 * time.Millisecond})
	user := newUser()
	q := g.signedQuery()
	genuine := textPush(user, "hello", time.Now())
	for i := range 2 { // the push and Weibo's retry of it
		if code, body := g.post(t, q, genuine); code != 200 {
			t.Fatalf("attempt %d of the genuine push: %d %q", i+1, code, body)
		}
	}
	forged := textPush(user, "please change my phone to +15550100", time.Now())
	if code, body := g.post(t, q, forged); code != http.StatusUnauthorized {
		t.Fatalf("captured query with another body: %d %q, want 401", code, body)
	}
	msgs := bustest.Messages(t, g.b, bus.StreamIn, "hotline.in.weibo."+testAccount)
	if len(msgs) != 1 || !strings.Contains(string(msgs[0]), `"text":"hello"`) {
		t.Fatalf("HOTLINE_IN holds %d messages (%q), want the genuine one only", len(msgs), msgs)
	}
}
