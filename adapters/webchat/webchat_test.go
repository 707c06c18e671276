package webchat

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// fixture is one adapter on a real bus behind a real HTTP server.
type fixture struct {
	b   *bus.Bus
	a   *Adapter
	srv *httptest.Server
}

func newFixture(t testing.TB, cfg Config, ann Announcer) *fixture {
	t.Helper()
	return newFixtureOn(t, bustest.Open(t), cfg, ann)
}

func newFixtureOn(t testing.TB, b *bus.Bus, cfg Config, ann Announcer) *fixture {
	t.Helper()
	if err := EnsureBuckets(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if cfg.CookieKey == nil {
		cfg.CookieKey = testKey
	}
	deps := Deps{Bus: b}
	if ann != nil {
		deps.Announcer = ann
	}
	a, err := New(cfg, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mux := http.NewServeMux()
	for pattern, h := range a.Routes() {
		mux.Handle(pattern, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &fixture{b: b, a: a, srv: srv}
}

// run starts Run until the test ends and waits until it is ready. The
// returned channel yields Run's result.
func (f *fixture) run(t *testing.T) (cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		ch <- f.a.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(20 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
	bustest.WaitFor(t, "Run ready", func() bool { return f.a.Ready() == nil })
	return cancel, ch
}

// frame is any server frame.
type frame struct {
	Type         string        `json:"type"`
	Visitor      string        `json:"visitor"`
	History      []entry       `json:"history"`
	Announcement *announcement `json:"announcement"`
	ID           string        `json:"id"`
	Code         string        `json:"code"`
	Message      string        `json:"message"`
	Text         string        `json:"text"`
	Dir          string        `json:"dir"`
	Entry        entry         `json:"entry"`
	Lang         string        `json:"lang"`
}

type client struct {
	ws    *websocket.Conn
	hello frame
}

func newJar(t testing.TB) http.CookieJar {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return jar
}

// dial opens a socket with jar's cookies and reads its hello.
func (f *fixture) dial(t testing.TB, jar http.CookieJar, query string) *client {
	t.Helper()
	return f.dialHeader(t, jar, query, nil)
}

// dialHeader is dial with extra handshake headers.
func (f *fixture) dialHeader(t testing.TB, jar http.CookieJar, query string, header http.Header) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/chat/ws" + query
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: &http.Client{Jar: jar}, HTTPHeader: header})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = ws.CloseNow() })
	c := &client{ws: ws}
	c.hello = c.next(t)
	if c.hello.Type != "hello" {
		t.Fatalf("first frame: got %q, want hello", c.hello.Type)
	}
	if c.hello.History == nil {
		t.Fatalf("hello history: got null, want a list")
	}
	return c
}

// next reads the next frame, failing after 10 s.
func (c *client) next(t testing.TB) frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	typ, data, err := c.ws.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("frame type: got %v, want text", typ)
	}
	var fr frame
	if err := json.Unmarshal(data, &fr); err != nil {
		t.Fatalf("frame %s: %v", data, err)
	}
	return fr
}

// until reads frames until one satisfies ok, returning it and those
// before it.
func (c *client) until(t *testing.T, what string, ok func(frame) bool) (frame, []frame) {
	t.Helper()
	var before []frame
	for range 20 {
		fr := c.next(t)
		if ok(fr) {
			return fr, before
		}
		before = append(before, fr)
	}
	t.Fatalf("no %s in 20 frames: %+v", what, before)
	return frame{}, nil
}

func (c *client) sendRaw(t *testing.T, data string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(data)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func (c *client) send(t *testing.T, id, text string) {
	t.Helper()
	b, _ := json.Marshal(clientFrame{Type: "send", ID: id, Text: text})
	c.sendRaw(t, string(b))
}

// sendAcked sends a message and waits for its ack.
func (c *client) sendAcked(t *testing.T, id, text string) {
	t.Helper()
	c.send(t, id, text)
	fr, _ := c.until(t, "ack "+id, func(fr frame) bool { return fr.Type == "ack" || fr.Type == "error" })
	if fr.Type != "ack" || fr.ID != id {
		t.Fatalf("answer to %s: got %+v, want ack", id, fr)
	}
}

// closedWith waits for the server to close the socket and returns the
// status.
func (c *client) closedWith(t *testing.T) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		_, _, err := c.ws.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) == -1 {
				t.Logf("the socket ended without a close frame: %v", err)
			}
			return websocket.CloseStatus(err)
		}
	}
}

// inbound returns what HOTLINE_IN holds for the fixture's account.
func (f *fixture) inbound(t *testing.T) []envelope.Message {
	t.Helper()
	var out []envelope.Message
	for _, data := range bustest.Messages(t, f.b, bus.StreamIn, "hotline.in.webchat."+f.a.cfg.Account) {
		var m envelope.Message
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("inbound %s: %v", data, err)
		}
		out = append(out, m)
	}
	return out
}

func (f *fixture) transcript(t *testing.T, visitor string) []entry {
	t.Helper()
	tr, _, err := f.a.loadTranscript(context.Background(), visitor)
	if err != nil {
		t.Fatalf("transcript: %v", err)
	}
	return tr.Entries
}

func reply(visitor, text string) envelope.Reply {
	now := time.Now().UTC()
	return envelope.Reply{
		ID: envelope.NewID(now), Platform: envelope.PlatformWebChat, Account: "demo",
		Conversation: envelope.ConversationKey(envelope.PlatformWebChat, "demo", visitor),
		To:           envelope.Party{ID: visitor}, Text: text, Source: envelope.SourceBot, CreatedAt: now,
	}
}

func noRedirect(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	if err := EnsureBuckets(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		deps Deps
		want string // in the error; "" for success
	}{
		{"defaults", Config{CookieKey: testKey}, Deps{Bus: b}, ""},
		{"no key", Config{}, Deps{Bus: b}, "cookie_key"},
		{"short key", Config{CookieKey: testKey[:31]}, Deps{Bus: b}, "cookie_key"},
		{"bad account", Config{Account: "a.b", CookieKey: testKey}, Deps{Bus: b}, "account"},
		{"negative burst", Config{CookieKey: testKey, Burst: -1}, Deps{Bus: b}, "burst"},
		{"tiny frames", Config{CookieKey: testKey, MaxFrameBytes: 10}, Deps{Bus: b}, "max_frame_bytes"},
		{"no bus", Config{CookieKey: testKey}, Deps{}, "bus"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(tc.cfg, tc.deps)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				if a.cfg.Account != "demo" || a.cfg.MaxTextRunes != 2000 || a.cfg.MaxFrameBytes != 16<<10 ||
					a.cfg.RatePerMinute != 30 || a.cfg.Burst != 10 || a.cfg.HistoryLimit != 50 {
					t.Errorf("defaults: got %+v", a.cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func TestPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, nil)
	jar := newJar(t)
	hc := noRedirect(jar)
	get := func(t *testing.T, path string) *http.Response {
		t.Helper()
		resp, err := hc.Get(f.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	visitorOf := func(t *testing.T, resp *http.Response) string {
		t.Helper()
		for _, c := range resp.Cookies() {
			if c.Name == CookieName {
				if !c.HttpOnly || c.Path != "/chat" || c.SameSite != http.SameSiteLaxMode || c.MaxAge != 30*24*3600 {
					t.Errorf("cookie attributes: got %+v", c)
				}
				r := httptest.NewRequest("GET", "/chat/", nil)
				r.AddCookie(c)
				v := f.a.visitorFromCookie(r)
				if v == "" {
					t.Fatalf("the issued cookie does not verify: %q", c.Value)
				}
				return v
			}
		}
		return ""
	}

	resp := get(t, "/chat/")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /chat/: got %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("content type: got %q", ct)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("CSP: got %q", csp)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	for _, want := range []string{`id="state"`, `data-state="connecting"`, `id="banner"`, `id="log"`, `id="menu"`,
		`id="composer"`, `id="text"`, `id="send"`, `data-code="menu"`, `data-code="help"`, `data-code="human"`, `name="viewport"`} {
		if !strings.Contains(body.String(), want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(body.String(), "<script>") || strings.Contains(body.String(), "http://") || strings.Contains(body.String(), "https://") {
		t.Errorf("page has an inline script or an external URL")
	}
	first := visitorOf(t, resp)
	if first == "" {
		t.Fatal("first visit: no cookie")
	}

	if v := visitorOf(t, get(t, "/chat/")); v != "" {
		t.Errorf("second visit: got a new cookie (%s), want the visitor kept", v)
	}

	u, _ := url.Parse(f.srv.URL + "/chat/")
	tampered := []*http.Cookie{{Name: CookieName, Value: first + "x." + f.a.sign(first)},
		{Name: CookieName, Value: first + "." + f.a.sign(first)[1:] + "A"},
		{Name: CookieName, Value: "garbage"}}
	for _, c := range tampered {
		jar.SetCookies(u, []*http.Cookie{{Name: CookieName, Value: c.Value, Path: "/chat"}})
		resp := get(t, "/chat/")
		v := visitorOf(t, resp)
		if resp.StatusCode != 200 || v == "" || v == first {
			t.Errorf("cookie %q: got status %d visitor %q, want 200 and a new visitor", c.Value, resp.StatusCode, v)
		}
	}

	statics := []struct{ path, ctype string }{
		{"/chat/static/chat.js", "javascript"},
		{"/chat/static/chat.css", "text/css"},
	}
	for _, s := range statics {
		resp := get(t, s.path)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), s.ctype) {
			t.Errorf("%s: got %d %q, want 200 %s", s.path, resp.StatusCode, resp.Header.Get("Content-Type"), s.ctype)
		}
	}
	if resp := get(t, "/chat/static/"); resp.StatusCode != 404 {
		t.Errorf("/chat/static/: got %d, want 404 (no listing)", resp.StatusCode)
	}
	resp = get(t, "/chat")
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/chat/" {
		t.Errorf("/chat: got %d to %q, want a redirect to /chat/", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestSocketIssuesCookie(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, nil)
	jar := newJar(t)
	c := f.dial(t, jar, "")
	u, _ := url.Parse(f.srv.URL + "/chat/")
	cookies := jar.Cookies(u)
	if len(cookies) != 1 || !strings.HasPrefix(cookies[0].Value, c.hello.Visitor+".") {
		t.Fatalf("cookie after a socket without one: got %v, want one for %s", cookies, c.hello.Visitor)
	}
	if again := f.dial(t, jar, ""); again.hello.Visitor != c.hello.Visitor {
		t.Errorf("second socket: visitor %s, want %s", again.hello.Visitor, c.hello.Visitor)
	}
}

func TestSendIsStoredOnceAndAcked(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, nil)
	c := f.dial(t, newJar(t), "?lang=fr-CA")
	v := c.hello.Visitor

	c.send(t, "m-1", "  Bonjour\nça va ?  ")
	ack, before := c.until(t, "ack", func(fr frame) bool { return fr.Type == "ack" })
	if ack.ID != "m-1" {
		t.Fatalf("ack: got %q, want m-1", ack.ID)
	}
	if len(before) != 1 || before[0].Type != "message" || before[0].Entry.ClientID != "m-1" || before[0].Entry.Role != "user" {
		t.Errorf("before the ack: got %+v, want the user's own entry", before)
	}
	in := f.inbound(t)
	if len(in) != 1 {
		t.Fatalf("HOTLINE_IN: got %d messages, want 1", len(in))
	}
	m := in[0]
	want := envelope.Message{Platform: "webchat", Account: "demo", PlatformMsgID: v + "-m-1",
		Conversation: "webchat:demo:" + v, From: envelope.Party{ID: v}, Kind: envelope.KindText, Text: "Bonjour\nça va ?", LangHint: "fr-CA"}
	if m.Platform != want.Platform || m.Account != want.Account || m.PlatformMsgID != want.PlatformMsgID ||
		m.Conversation != want.Conversation || m.From != want.From || m.Kind != want.Kind || m.Text != want.Text || m.LangHint != want.LangHint {
		t.Errorf("stored: got %+v, want %+v", m, want)
	}
	if before[0].Entry.ID != m.ID {
		t.Errorf("entry id: got %s, want the gateway id %s", before[0].Entry.ID, m.ID)
	}

	// The page sends it again after a reconnect: acked, stored once.
	c.sendAcked(t, "m-1", "Bonjour\nça va ?")
	if in := f.inbound(t); len(in) != 1 {
		t.Errorf("after a resend: got %d messages, want 1", len(in))
	}
	if tr := f.transcript(t, v); len(tr) != 1 || tr[0].ID != m.ID {
		t.Errorf("transcript after a resend: got %+v, want the one entry", tr)
	}
}
