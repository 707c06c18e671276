package wechat

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/config"
	"hotline/envelope"
	"hotline/fallback"
	"hotline/fallback/fallbacktest"
	"hotline/gateway/gatewaytest"
	"hotline/outbound"
	"hotline/outbound/outboundtest"
)

const (
	testAccount = "oa-main"
	testAppID   = kaAppID
	testSecret  = "wechat-app-secret-for-tests"
	testToken   = "hotline-push-token"
	accountGH   = "gh_10f6c3c3ac5a"
)

// fakeWeChat is the token and customer-service API as WeChat answers it,
// including its errcodes. Only the latest token is valid, as on WeChat.
type fakeWeChat struct {
	t   *testing.T
	srv *httptest.Server
	mu  sync.Mutex
	// failures are answered, one per custom/send call, before calls
	// succeed again.
	failures []failure
	fetches  int
	current  string
	sent     []sentMsg
}

type failure struct {
	status int
	body   string
}

type sentMsg struct{ to, text string }

func newFakeWeChat(t *testing.T) *fakeWeChat {
	t.Helper()
	f := &fakeWeChat{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f.mu.Lock()
		defer f.mu.Unlock()
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/cgi-bin/token":
			if q.Get("grant_type") != "client_credential" || q.Get("appid") != testAppID || q.Get("secret") != testSecret {
				fmt.Fprint(w, `{"errcode":40013,"errmsg":"invalid appid"}`)
				return
			}
			f.fetches++
			f.current = "ACCESS_TOKEN_" + strconv.Itoa(f.fetches) + "_" + strings.Repeat("x", 100)
			fmt.Fprintf(w, `{"access_token":%q,"expires_in":7200}`, f.current)
		case r.Method == http.MethodPost && r.URL.Path == "/cgi-bin/message/custom/send":
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				f.t.Errorf("content type: got %q, want application/json", ct)
			}
			var body struct {
				ToUser  string `json:"touser"`
				MsgType string `json:"msgtype"`
				Text    struct {
					Content string `json:"content"`
				} `json:"text"`
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.MsgType != "text" || body.ToUser == "" || body.Text.Content == "" {
				f.t.Errorf("custom send body: got %+v (%v), want a text message", body, err)
			}
			if q.Get("access_token") == "" || q.Get("access_token") != f.current {
				fmt.Fprint(w, `{"errcode":40001,"errmsg":"invalid credential, access_token is invalid or not latest"}`)
				return
			}
			if len(f.failures) > 0 {
				fl := f.failures[0]
				f.failures = f.failures[1:]
				if fl.status != 0 { // a zero failure lets this call through
					w.WriteHeader(fl.status)
					fmt.Fprint(w, fl.body)
					return
				}
			}
			f.sent = append(f.sent, sentMsg{body.ToUser, body.Text.Content})
			fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWeChat) fail(fs ...failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, fs...)
}

// expire makes the current token invalid, as a fetch elsewhere would.
func (f *fakeWeChat) expire() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.current = "revoked"
}

func (f *fakeWeChat) tokenFetches() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fetches
}

func (f *fakeWeChat) sentTo(user string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, m := range f.sent {
		if m.to == user {
			out = append(out, m.text)
		}
	}
	return out
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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
	plain       bool // no EncodingAESKey: plaintext mode
	rotated     bool // a new key is current, kaAESKey is the previous one
	replyWindow time.Duration
	replay      time.Duration
	// alone runs the adapter by itself on a mux of its own: no router and
	// no delivery loop, so what it stores stays on the bus unanswered.
	// Otherwise the whole gateway runs, as serve assembles it.
	alone bool
	// modes adds the SMS account degraded modes reroute to (sms-main),
	// behind a fake provider.
	modes bool
}

// gateway is a hotline gateway with one WeChat account against a fake
// WeChat API, on an embedded NATS server, or the adapter alone.
type gateway struct {
	b    *bus.Bus
	a    *Adapter
	url  string // where the webhooks are served
	api  *fakeWeChat
	logs *lockedBuffer
	// The gateway's mode store and phone bindings (nil when alone), and
	// with gatewayOpts.modes the fake SMS provider behind sms-main.
	modes    *fallback.Store
	bindings *fallback.Bindings
	sms      *outboundtest.Platform
}

func testConfig(apiBase string, replyWindow, replay time.Duration) Config {
	return Config{Account: testAccount, AppID: testAppID, AppSecret: testSecret, Token: testToken,
		EncodingAESKey: kaAESKey, APIBase: apiBase, ReplyWindow: replyWindow, ReplayWindow: replay}
}

func newGateway(t *testing.T, opts gatewayOpts) *gateway {
	t.Helper()
	if opts.replyWindow == 0 {
		opts.replyWindow = 4 * time.Second
	}
	b := bustest.Open(t)
	api := newFakeWeChat(t)
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	settings := testConfig(api.srv.URL, opts.replyWindow, opts.replay)
	if opts.plain {
		settings.EncodingAESKey = ""
	}
	if opts.rotated {
		settings.EncodingAESKey, settings.PreviousEncodingAESKey = rotatedKey, kaAESKey
	}
	g := &gateway{b: b, api: api, logs: logs}
	if opts.alone {
		reg := prometheus.NewRegistry()
		a, err := New(settings, Deps{Bus: b, Logger: log, Registry: reg, HTTPClient: &http.Client{Timeout: 5 * time.Second}})
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
	cfg.Router.DefaultLang, cfg.Router.Menu = "zh", map[string]string{"1": "account_security"}
	if opts.modes {
		var sms config.Account
		sms, g.sms = fallbacktest.SMS(t)
		cfg.Accounts = append(cfg.Accounts, sms)
	}
	gw := gatewaytest.Start(t, b, cfg, log)
	s, _ := gw.Adapter("wechat", testAccount)
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

var seq atomic.Int64

func nextNonce() string { return strconv.FormatInt(1320562132+seq.Add(1), 10) }

// newUser returns an OpenID no other test uses.
func newUser() string { return fmt.Sprintf("oyORnuP8q7ou2gfYjqLz%08d", seq.Add(1)) }

func newMsgID() string { return strconv.FormatInt(6054768590064713728+seq.Add(1), 10) }

func textPush(user, text, msgID string, at time.Time) string {
	return fmt.Sprintf("<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName><CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content><MsgId>%s</MsgId></xml>",
		accountGH, user, at.Unix(), text, msgID)
}

// plainRequest signs a plaintext push as WeChat does.
func plainRequest(token string, at time.Time, body string) (query, payload string) {
	ts, nonce := strconv.FormatInt(at.Unix(), 10), nextNonce()
	return "?" + url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {Signature(token, ts, nonce)}, "openid": {"o"}}.Encode(), body
}

// safeRequest encrypts and signs a push as WeChat does in safe mode.
func safeRequest(t testing.TB, token string, at time.Time, body string) (query, payload string) {
	t.Helper()
	key, _ := AESKey(kaAESKey)
	enc, err := Encrypt(key, testAppID, nil, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	ts, nonce := strconv.FormatInt(at.Unix(), 10), nextNonce()
	q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {Signature(token, ts, nonce)}, "encrypt_type": {"aes"},
		"msg_signature": {Signature(token, ts, nonce, enc)}}
	return "?" + q.Encode(), fmt.Sprintf("<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt></xml>", accountGH, enc)
}

func (g *gateway) post(t *testing.T, query, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(g.url+"/webhooks/wechat/"+testAccount+query, "text/xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// passiveText reads a passive text reply, opening it first in safe mode,
// and checks its shape.
func passiveText(t *testing.T, body, user string, safe bool) string {
	t.Helper()
	if safe {
		var s struct{ Encrypt, MsgSignature, TimeStamp, Nonce string }
		if err := xml.Unmarshal([]byte(body), &s); err != nil || s.Encrypt == "" {
			t.Fatalf("sealed reply %q: %v", body, err)
		}
		if s.MsgSignature != Signature(testToken, s.TimeStamp, s.Nonce, s.Encrypt) {
			t.Fatalf("sealed reply signature %s does not check", s.MsgSignature)
		}
		key, _ := AESKey(kaAESKey)
		plain, err := Decrypt(key, testAppID, s.Encrypt)
		if err != nil {
			t.Fatal(err)
		}
		body = string(plain)
	}
	var r struct{ ToUserName, FromUserName, MsgType, Content, CreateTime string }
	if err := xml.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("passive reply %q: %v", body, err)
	}
	if r.ToUserName != user || r.FromUserName != accountGH || r.MsgType != "text" || r.CreateTime == "" {
		t.Fatalf("passive reply: got %+v, want to %s from %s, type text", r, user, accountGH)
	}
	return r.Content
}

func outCount(t *testing.T, b *bus.Bus) int {
	return len(bustest.Messages(t, b, bus.StreamOut, "hotline.out.wechat."+testAccount))
}

func inCount(t *testing.T, b *bus.Bus) int {
	return len(bustest.Messages(t, b, bus.StreamIn, "hotline.in.wechat."+testAccount))
}

func passiveStatuses(t *testing.T, b *bus.Bus) int {
	n := 0
	for _, raw := range bustest.Messages(t, b, bus.StreamStatus, "hotline.status.wechat."+testAccount) {
		var st envelope.Status
		if envelope.Decode(raw, &st) == nil && st.State == envelope.StatePassive {
			n++
		}
	}
	return n
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

var modes = []struct {
	name string
	safe bool
}{{"plain", false}, {"safe", true}}

func (g *gateway) request(t *testing.T, safe bool, body string) (string, string) {
	if safe {
		return safeRequest(t, testToken, time.Now(), body)
	}
	return plainRequest(testToken, time.Now(), body)
}

func TestQuickAnswerIsPassive(t *testing.T) {
	t.Parallel()
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			g := newGateway(t, gatewayOpts{plain: !mode.safe, replay: 5 * time.Minute})
			user := newUser()
			code, body := g.at(t)((g.request(t, mode.safe, textPush(user, "帮助", newMsgID(), time.Now()))))
			if code != 200 {
				t.Fatalf("push: got %d %s, want 200", code, body)
			}
			if got := passiveText(t, body, user, mode.safe); !strings.Contains(got, "1 账号安全") {
				t.Fatalf("passive text: got %q, want the help text", got)
			}
			bustest.WaitFor(t, "the passive status event", func() bool { return passiveStatuses(t, g.b) == 1 })
			if n, sent := outCount(t, g.b), g.api.sentTo(user); n != 0 || len(sent) != 0 {
				t.Fatalf("HOTLINE_OUT holds %d, the API sent %q; want the passive reply only", n, sent)
			}
		})
	}
}

// at returns a poster, so a request helper's (query, body) can be passed
// to it directly.
func (g *gateway) at(t *testing.T) func(query, body string) (int, string) {
	return func(query, body string) (int, string) { return g.post(t, query, body) }
}

func TestSlowAnswerSuccessThenCustomerSend(t *testing.T) {
	t.Parallel()
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			// A window too short for any router: the answer goes by the API.
			g := newGateway(t, gatewayOpts{plain: !mode.safe, replyWindow: time.Millisecond})
			user := newUser()
			code, body := g.at(t)((g.request(t, mode.safe, textPush(user, "帮助", newMsgID(), time.Now()))))
			if code != 200 || body != "success" {
				t.Fatalf("push: got %d %q, want 200 success (never encrypted)", code, body)
			}
			bustest.WaitFor(t, "the customer-service send", func() bool { return len(g.api.sentTo(user)) == 1 })
			if got := g.api.sentTo(user)[0]; !strings.Contains(got, "1 账号安全") {
				t.Fatalf("sent %q, want the help text", got)
			}
			if n := passiveStatuses(t, g.b); n != 0 {
				t.Fatalf("%d passive status events, want 0", n)
			}
		})
	}
}

func TestRetriedPushOneMessageOneReply(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{plain: true, replay: 5 * time.Minute})
	user := newUser()
	push := textPush(user, "帮助", newMsgID(), time.Now())
	passive := 0
	for i := range 3 {
		code, body := g.at(t)((plainRequest(testToken, time.Now(), push))) // each retry is signed anew
		if code != 200 {
			t.Fatalf("attempt %d: got %d %s, want 200", i+1, code, body)
		}
		if body != "success" {
			passiveText(t, body, user, false)
			passive++
		}
	}
	if passive != 1 {
		t.Fatalf("%d passive replies, want 1", passive)
	}
	if n := inCount(t, g.b); n != 1 {
		t.Fatalf("HOTLINE_IN holds %d messages for one push, want 1", n)
	}
	bustest.WaitFor(t, "the passive status event", func() bool { return passiveStatuses(t, g.b) == 1 })
	// Once the router has handled every copy it got, HOTLINE_OUT holds
	// every reply it made, and the delivery loop sends only what is
	// there: empty, nothing can reach the API.
	bustest.RouterCaughtUp(t, g.b)
	if n, sent := outCount(t, g.b), g.api.sentTo(user); n != 0 || len(sent) != 0 {
		t.Fatalf("HOTLINE_OUT holds %d, the API sent %q; want nothing besides the passive reply", n, sent)
	}
}

func TestURLVerification(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{alone: true, replay: 5 * time.Minute})
	q, _ := plainRequest(testToken, time.Now(), "")
	resp, err := http.Get(g.url + "/webhooks/wechat/" + testAccount + q + "&echostr=5837397520665436492")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "5837397520665436492" {
		t.Fatalf("verification: got %d %q, want 200 and the echostr", resp.StatusCode, b)
	}
	// The echo is the caller's string: plain text no browser may sniff.
	if ct, sniff := resp.Header.Get("Content-Type"), resp.Header.Get("X-Content-Type-Options"); !strings.HasPrefix(ct, "text/plain") || sniff != "nosniff" {
		t.Fatalf("verification echo: Content-Type %q, X-Content-Type-Options %q; want text/plain and nosniff", ct, sniff)
	}
	q, _ = plainRequest("another-token", time.Now(), "")
	resp, err = http.Get(g.url + "/webhooks/wechat/" + testAccount + q + "&echostr=1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || strings.Contains(string(b), "1\n") && len(b) < 3 {
		t.Fatalf("bad verification: got %d %q, want 401", resp.StatusCode, b)
	}
}

func TestUnsignedOrStalePushRefused(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{alone: true, plain: true, replay: 5 * time.Minute, replyWindow: 50 * time.Millisecond})
	sg := newGateway(t, gatewayOpts{alone: true, replay: 5 * time.Minute, replyWindow: 50 * time.Millisecond})
	push := textPush(newUser(), "hello", newMsgID(), time.Now())
	now := time.Now()
	safeQ, safeBody := safeRequest(t, testToken, now, push)
	otherQ, otherBody := safeRequest(t, "another-token", now, push)
	staleSafeQ, staleSafeBody := safeRequest(t, testToken, now.Add(-10*time.Minute), push)
	noMsgSig := strings.Replace(safeQ, "msg_signature=", "x=", 1)
	tests := []struct {
		name, query, body string
	}{
		{"no query", "", push},
		{"no signature", "?timestamp=" + strconv.FormatInt(now.Unix(), 10) + "&nonce=1", push},
		{"wrong signature", "?timestamp=" + strconv.FormatInt(now.Unix(), 10) + "&nonce=1&signature=" + strings.Repeat("a", 40), push},
		{"other token", mustQ1(plainRequest("another-token", now, push)), push},
		{"stale", mustQ1(plainRequest(testToken, now.Add(-10*time.Minute), push)), push},
		{"from the future", mustQ1(plainRequest(testToken, now.Add(10*time.Minute), push)), push},
		{"the Tencent sample, replayed", "?timestamp=" + kaTimestamp + "&nonce=" + kaNonce + "&signature=" + Signature(testToken, kaTimestamp, kaNonce), push},
		{"safe: other token", otherQ, otherBody},
		{"safe: no msg_signature", noMsgSig, safeBody},
		{"safe: downgraded to plain", mustQ1(plainRequest(testToken, now, push)), push},
		{"safe: body swapped", safeQ, otherBody},
		{"safe: stale", staleSafeQ, staleSafeBody},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gw := g
			if strings.HasPrefix(tc.name, "safe:") {
				gw = sg
			}
			if code, body := gw.post(t, tc.query, tc.body); code != http.StatusUnauthorized {
				t.Fatalf("got %d %q, want 401", code, body)
			}
		})
	}
	if n := len(bustest.Messages(t, g.b, bus.StreamIn, "hotline.in.")) + len(bustest.Messages(t, sg.b, bus.StreamIn, "hotline.in.")); n != 0 {
		t.Fatalf("%d messages stored from refused pushes, want 0", n)
	}
	key, _ := AESKey(kaAESKey)
	wrongApp, _ := Encrypt(key, "wx0000000000000000", nil, []byte(push))
	for name, tc := range map[string]struct {
		body string
		want int
	}{
		"bad xml":   {`<xml><MsgType>text`, http.StatusBadRequest},
		"too large": {`<xml><Content>` + strings.Repeat("x", maxBody) + `</Content></xml>`, http.StatusRequestEntityTooLarge},
		"no sender": {`<xml><CreateTime>1</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId></xml>`, http.StatusBadRequest},
	} {
		if code, _ := g.at(t)((plainRequest(testToken, time.Now(), tc.body))); code != tc.want {
			t.Errorf("%s: got %d, want %d", name, code, tc.want)
		}
	}
	ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), "7"
	q := "?" + url.Values{"timestamp": {ts}, "nonce": {nonce}, "encrypt_type": {"aes"}, "msg_signature": {Signature(testToken, ts, nonce, wrongApp)}}.Encode()
	if code, _ := sg.post(t, q, "<xml><Encrypt><![CDATA["+wrongApp+"]]></Encrypt></xml>"); code != http.StatusBadRequest {
		t.Errorf("another app id: got %d, want 400", code)
	}
	if code, body := sg.post(t, safeQ, safeBody); code != 200 || body != "success" {
		t.Fatalf("good safe push: got %d %q, want 200 success", code, body)
	}
}

func mustQ1(q, _ string) string { return q }

func testReply(user, text string) envelope.Reply {
	now := time.Now().UTC()
	return envelope.Reply{ID: envelope.NewID(now), Platform: "wechat", Account: testAccount,
		Conversation: envelope.ConversationKey("wechat", testAccount, user), To: envelope.Party{ID: user},
		Text: text, Source: envelope.SourceBot, CreatedAt: now}
}

func TestTokenRefreshedOnceOn40001(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{alone: true})
	user := newUser()
	ctx := context.Background()
	if _, err := g.a.Send(ctx, testReply(user, "first")); err != nil {
		t.Fatal(err)
	}
	g.api.expire() // the next send hears 40001
	if _, err := g.a.Send(ctx, testReply(user, "second")); err != nil {
		t.Fatalf("send after 40001: %v, want it refreshed and sent", err)
	}
	if got := g.api.tokenFetches(); got != 2 {
		t.Fatalf("token fetches: got %d, want 2 (one, then one refresh)", got)
	}
	if got := g.api.sentTo(user); len(got) != 2 || got[1] != "second" {
		t.Fatalf("sent %q, want first and second", got)
	}
	// A token refused even after the refresh: exactly one refetch, then
	// a retryable error for the loop.
	g.api.fail(failure{200, `{"errcode":42001,"errmsg":"access_token expired"}`}, failure{200, `{"errcode":42001,"errmsg":"access_token expired"}`})
	_, err := g.a.Send(ctx, testReply(user, "third"))
	var se *outbound.SendError
	if !errors.As(err, &se) || se.Kind != outbound.Retryable {
		t.Fatalf("got %v, want a retryable SendError", err)
	}
	// Two 42001 answers to good tokens: one refresh, not two.
	if got := g.api.tokenFetches(); got != 3 {
		t.Fatalf("token fetches: got %d, want 3", got)
	}
}

func TestTwoAdaptersShareOneTokenFetch(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	api := newFakeWeChat(t)
	var adapters []*Adapter
	for range 3 {
		a, err := New(testConfig(api.srv.URL, 0, 0), Deps{Bus: b})
		if err != nil {
			t.Fatal(err)
		}
		adapters = append(adapters, a)
	}
	user := newUser()
	// Two at once: the lock key lets one fetch while the other waits.
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, a := range adapters[:2] {
		wg.Go(func() {
			_, err := a.Send(context.Background(), testReply(user, "hello"))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// And one later reads what the first stored.
	if _, err := adapters[2].Send(context.Background(), testReply(user, "again")); err != nil {
		t.Fatal(err)
	}
	if got := api.tokenFetches(); got != 1 {
		t.Fatalf("token fetches: got %d, want 1 for three instances", got)
	}
	if got := api.sentTo(user); len(got) != 3 {
		t.Fatalf("sent %q, want 3 messages", got)
	}
}

func TestSendErrcodes(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	api := newFakeWeChat(t)
	logs := &lockedBuffer{}
	a, err := New(testConfig(api.srv.URL, 0, 0), Deps{Bus: b, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		fl     failure
		kind   outbound.Kind
		reason string
		after  time.Duration
	}{
		{"45015 window closed", failure{200, `{"errcode":45015,"errmsg":"response out of time limit or subscription is canceled"}`}, outbound.Permanent, outbound.ReasonWindowClosed, 0},
		{"40003 invalid openid", failure{200, `{"errcode":40003,"errmsg":"invalid openid"}`}, outbound.Permanent, "wechat_40003", 0},
		{"45047 quota", failure{200, `{"errcode":45047,"errmsg":"out of response count limit"}`}, outbound.Retryable, "wechat_45047", 0},
		{"-1 busy", failure{200, `{"errcode":-1,"errmsg":"system error"}`}, outbound.Retryable, "wechat_-1", 0},
		{"45009 daily limit", failure{200, `{"errcode":45009,"errmsg":"reach max api daily quota limit"}`}, outbound.Throttled, "wechat_45009", ThrottleWait},
		{"45011 minute limit", failure{200, `{"errcode":45011,"errmsg":"api minute-quota reach limit, must slower, retry next minute"}`}, outbound.Throttled, "wechat_45011", ThrottleWait},
		{"HTTP 502", failure{502, `<html>Bad Gateway</html>`}, outbound.Retryable, "http_502", 0},
		{"HTML page", failure{200, `<html>maintenance</html>`}, outbound.Retryable, "bad_response", 0},
		{"errcode as text", failure{200, `{"errcode":"45015","errmsg":"ok"}`}, outbound.Retryable, "bad_response", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api.fail(tc.fl)
			_, err := a.Send(context.Background(), testReply(newUser(), "hi"))
			var se *outbound.SendError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a SendError", err)
			}
			if se.Kind != tc.kind || se.Reason != tc.reason || se.RetryAfter != tc.after {
				t.Fatalf("got %s %q after %s, want %s %q after %s", se.Kind, se.Reason, se.RetryAfter, tc.kind, tc.reason, tc.after)
			}
			api.mu.Lock()
			token := api.current
			api.mu.Unlock()
			if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), testSecret) {
				t.Fatalf("error %q carries the access token or app secret", err)
			}
		})
	}
	if l := logs.String(); strings.Contains(l, testSecret) || strings.Contains(l, "ACCESS_TOKEN_") {
		t.Fatalf("logs carry a secret: %s", l)
	}
}

// A transport error quotes the URL; the token must not survive in it.
func TestTransportErrorRedacted(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	api := newFakeWeChat(t)
	a, err := New(testConfig(api.srv.URL, 0, 0), Deps{Bus: b})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.accessToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	api.srv.Close()
	_, err = a.Send(context.Background(), testReply(newUser(), "hi"))
	if err == nil || strings.Contains(err.Error(), tok) {
		t.Fatalf("got %v, want an error without the token", err)
	}
}

func TestLongReplySplitInOrder(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{alone: true})
	user := newUser()
	long := strings.Repeat("一二三四五六七八九十", 130) // 1300 runes
	rc, err := g.a.Send(context.Background(), testReply(user, long))
	if err != nil {
		t.Fatal(err)
	}
	got := g.api.sentTo(user)
	if len(got) != 3 || rc.Segments != 3 || strings.Join(got, "") != long {
		t.Fatalf("got %d parts (receipt %d), want 3 that join to the text", len(got), rc.Segments)
	}
}

// A send that failed after its first part resumes after it, even on
// another adapter (another instance, or this one after a restart): the
// user never gets the first part twice.
func TestSplitReplyResumesOnAnotherInstance(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{alone: true})
	user := newUser()
	long := strings.Repeat("一二三四五六七八九十", 130) // 1300 runes: 3 parts
	rep := testReply(user, long)
	g.api.fail(failure{}, failure{http.StatusOK, `{"errcode":-1,"errmsg":"system error"}`}) // part 1 goes, part 2 fails
	if _, err := g.a.Send(context.Background(), rep); err == nil {
		t.Fatal("the send whose second part failed reported success")
	}
	other, err := New(testConfig(g.api.srv.URL, time.Second, 0), Deps{Bus: g.b})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := other.Send(context.Background(), rep)
	if err != nil {
		t.Fatal(err)
	}
	got := g.api.sentTo(user)
	if len(got) != 3 || strings.Join(got, "") != long || rc.Segments != 3 {
		t.Fatalf("the user got %d parts (%d runes), want the 3 parts once each", len(got), len([]rune(strings.Join(got, ""))))
	}
}

// A reply too long for one passive text is not answered passively: the
// response is success and the whole reply goes by the API, once.
func TestLongPassiveReplyGoesByAPI(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{})
	user := newUser()
	m, err := ToMessage([]byte(textPush(user, "退款", newMsgID(), time.Now())), testAccount, envelope.NewID(time.Now()), time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("退款将在三个工作日内到账。", 60) // 780 runes
	rep := testReply(user, long)
	for range 2 { // a second offer of the same reply is a duplicate
		w := httptest.NewRecorder()
		g.a.answer(context.Background(), w, m, rep, "1", g.a.key)
		if w.Body.String() != "success" {
			t.Fatalf("got %q, want success", w.Body.String())
		}
	}
	bustest.WaitFor(t, "the API parts", func() bool { return len(g.api.sentTo(user)) == 2 })
	if got := g.api.sentTo(user); strings.Join(got, "") != long {
		t.Fatalf("sent %q, want the whole reply", got)
	}
	if n := outCount(t, g.b); n != 1 {
		t.Fatalf("HOTLINE_OUT holds %d, want 1", n)
	}
}

// Plain mode signs the query, not the body: a signed query read from a
// log must not carry another body while its timestamp is fresh.
func TestPlainCapturedQueryWithAnotherBodyRefused(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{alone: true, plain: true, replay: 5 * time.Minute, replyWindow: 50 * time.Millisecond})
	user := newUser()
	q, genuine := plainRequest(testToken, time.Now(), textPush(user, "hello", newMsgID(), time.Now()))
	for i := range 2 { // the push and WeChat's retry of it
		if code, body := g.post(t, q, genuine); code != 200 {
			t.Fatalf("attempt %d of the genuine push: %d %q", i+1, code, body)
		}
	}
	forged := textPush(user, "unbind", newMsgID(), time.Now())
	if code, body := g.post(t, q, forged); code != http.StatusUnauthorized {
		t.Fatalf("captured query with another body: %d %q, want 401", code, body)
	}
	if n := inCount(t, g.b); n != 1 {
		t.Fatalf("HOTLINE_IN holds %d messages, want the genuine one only", n)
	}
}
