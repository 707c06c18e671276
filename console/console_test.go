package console

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hotline/envelope"
)

const testToken = envelope.Secret("console-test-token-0123456789")

// fakeSource counts snapshots and can be told to fail.
type fakeSource struct {
	calls atomic.Int32
	fail  atomic.Bool
}

func (f *fakeSource) Snapshot(context.Context) (Snapshot, error) {
	n := f.calls.Add(1)
	if f.fail.Load() {
		return Snapshot{}, errors.New("bus unreachable")
	}
	return Snapshot{At: time.Unix(int64(n), 0).UTC(), Traffic: map[string]Traffic{"webchat": {In: float64(n)}},
		Status: map[string]any{"circuits": map[string]string{"out-webchat-demo": "closed"}}}, nil
}

// newServer serves the console and a stand-in admin API route behind its
// Auth on a loopback httptest server.
func newServer(t *testing.T, token envelope.Secret, now func() time.Time) (*httptest.Server, *Console, *fakeSource) {
	t.Helper()
	src := &fakeSource{}
	auth := NewAuth(AuthConfig{Token: token, Now: now})
	c := New(Config{Interval: 20 * time.Millisecond}, Deps{Auth: auth, Source: src})
	mux := http.NewServeMux()
	for p, h := range c.Routes() {
		mux.Handle(p, h)
	}
	mux.Handle("/admin/v1/modes", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	srv := httptest.NewServer(mux)
	srv.Config.RegisterOnShutdown(c.Shutdown)
	t.Cleanup(func() { c.Shutdown(); srv.Close() })
	return srv, c, src
}

// browser is an http.Client with a cookie jar that does not follow
// redirects, so tests see where the login sends them.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func login(t *testing.T, c *http.Client, srv *httptest.Server, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+"/console/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", srv.URL)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

func session(t *testing.T, c *http.Client, srv *httptest.Server) sessionInfo {
	t.Helper()
	res, err := c.Get(srv.URL + "/console/session")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var info sessionInfo
	if err := json.NewDecoder(res.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	return info
}

func TestRequireBearerOrLoopback(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	tests := []struct {
		name          string
		token         envelope.Secret
		method        string
		remote, authz string
		header        [2]string
		want          int
	}{
		{"token, none sent", testToken, "GET", "10.0.0.5:1234", "", [2]string{}, 401},
		{"token, wrong", testToken, "GET", "127.0.0.1:1234", "Bearer nope", [2]string{}, 401},
		{"token, basic scheme", testToken, "GET", "127.0.0.1:1234", "Basic " + testToken.Reveal(), [2]string{}, 401},
		{"token, right", testToken, "GET", "10.0.0.5:1234", "Bearer " + testToken.Reveal(), [2]string{}, 204},
		{"token, right, change", testToken, "PUT", "10.0.0.5:1234", "Bearer " + testToken.Reveal(), [2]string{}, 204},
		{"no token, loopback", "", "GET", "127.0.0.1:1234", "", [2]string{}, 204},
		{"no token, ipv6 loopback", "", "GET", "[::1]:1234", "", [2]string{}, 204},
		{"no token, remote", "", "GET", "10.0.0.5:1234", "", [2]string{}, 403},
		{"no token, proxied", "", "GET", "127.0.0.1:1234", "", [2]string{"X-Forwarded-For", "203.0.113.9"}, 403},
		// A page on another site must not drive a token-less loopback API
		// through the operator's browser.
		{"no token, cross-site change", "", "PUT", "127.0.0.1:1234", "", [2]string{"Origin", "https://evil.example"}, 403},
		{"no token, cross-site fetch metadata", "", "POST", "127.0.0.1:1234", "", [2]string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"no token, same-origin change", "", "PUT", "127.0.0.1:1234", "", [2]string{"Origin", "http://127.0.0.1:8081"}, 204},
		{"token, lower-case scheme", testToken, "GET", "10.0.0.5:1234", "bearer " + testToken.Reveal(), [2]string{}, 204},
		// DNS rebinding: evil.example now resolves to 127.0.0.1, so its
		// page is a same-origin, loopback caller; the Host header is not.
		{"no token, rebound name", "", "PUT", "127.0.0.1:1234", "", [2]string{"Host", "evil.example:8081"}, 403},
		{"no token, rebound name, read", "", "GET", "127.0.0.1:1234", "", [2]string{"Host", "evil.example:8081"}, 403},
		{"no token, localhost name", "", "GET", "127.0.0.1:1234", "", [2]string{"Host", "localhost:8081"}, 204},
		{"no token, ipv6 host", "", "GET", "[::1]:1234", "", [2]string{"Host", "[::1]:8081"}, 204},
		{"no token, same-origin fetch metadata", "", "PUT", "127.0.0.1:1234", "", [2]string{"Sec-Fetch-Site", "same-origin"}, 204},
		{"no token, another port of the host", "", "PUT", "127.0.0.1:1234", "", [2]string{"Sec-Fetch-Site", "same-site"}, 403},
		{"no token, opaque origin, no metadata", "", "PUT", "127.0.0.1:1234", "", [2]string{"Origin", "null"}, 403},
		{"no token, cross-site read", "", "GET", "127.0.0.1:1234", "", [2]string{"Origin", "https://evil.example"}, 204},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "/admin/v1/modes", nil)
			req.RemoteAddr = tc.remote
			req.Host = "127.0.0.1:8081"
			if tc.authz != "" {
				req.Header.Set("Authorization", tc.authz)
			}
			switch tc.header[0] {
			case "":
			case "Host":
				req.Host = tc.header[1]
			default:
				req.Header.Set(tc.header[0], tc.header[1])
			}
			rec := httptest.NewRecorder()
			NewAuth(AuthConfig{Token: tc.token}).Require(ok).ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("got %d %s, want %d", rec.Code, rec.Body.String(), tc.want)
			}
			if rec.Code == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestLoginSetsSessionThatNeedsCSRFForChanges(t *testing.T) {
	srv, _, _ := newServer(t, testToken, nil)
	c := browser(t)
	if info := session(t, c, srv); !info.LoginRequired || info.Authenticated || info.CSRF != "" {
		t.Fatalf("before login: %+v", info)
	}
	res := login(t, c, srv, testToken.Reveal())
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/" {
		t.Fatalf("login answered %d to %q, want 303 to /console/", res.StatusCode, res.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == SessionCookie {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" {
		t.Fatalf("session cookie %+v, want HttpOnly, SameSite=Strict, Path=/", cookie)
	}
	if strings.Contains(cookie.Value, testToken.Reveal()) {
		t.Fatal("the cookie carries the admin token")
	}
	info := session(t, c, srv)
	if !info.Authenticated || info.CSRF == "" {
		t.Fatalf("after login: %+v", info)
	}

	call := func(method string, hdr map[string]string) int {
		req, _ := http.NewRequest(method, srv.URL+"/admin/v1/modes", nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	tests := []struct {
		name   string
		method string
		hdr    map[string]string
		want   int
	}{
		{"read with the cookie", "GET", nil, 204},
		{"change without CSRF token", "PUT", nil, 403},
		{"change with a wrong CSRF token", "PUT", map[string]string{CSRFHeader: "x" + info.CSRF}, 403},
		{"change with the CSRF token", "PUT", map[string]string{CSRFHeader: info.CSRF}, 204},
		{"change from another site, token and all", "DELETE", map[string]string{CSRFHeader: info.CSRF, "Origin": "https://evil.example"}, 403},
	}
	for _, tc := range tests {
		if got := call(tc.method, tc.hdr); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}

	// Logging out drops the cookie.
	req, _ := http.NewRequest("POST", srv.URL+"/console/logout", nil)
	req.Header.Set("Origin", srv.URL)
	if res, err := c.Do(req); err != nil {
		t.Fatal(err)
	} else {
		res.Body.Close()
	}
	if got := call("GET", nil); got != 401 {
		t.Errorf("after logout: got %d, want 401", got)
	}
}

func TestSessionCookieRefusedWhenForgedOrExpired(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	auth := NewAuth(AuthConfig{Token: testToken, TTL: time.Hour, Now: clock})
	value, _ := auth.newSession()
	other, _ := NewAuth(AuthConfig{Token: "another-token-0123456789", TTL: time.Hour, Now: clock}).newSession()
	body, mac, _ := cutLast(value, ".")
	tests := []struct {
		name  string
		value string
		at    time.Time
		want  bool
	}{
		{"fresh", value, now, true},
		{"just before expiry", value, now.Add(time.Hour - time.Second), true},
		{"expired", value, now.Add(time.Hour), false},
		{"signed with another token", other, now, false},
		{"expiry pushed back", strings.Replace(body, "v1.", "v1.9", 1) + "." + mac, now, false},
		{"no mac", body, now, false},
		{"garbage", "v1...", now, false},
		{"empty", "", now, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now = tc.at
			req := httptest.NewRequest("GET", "/admin/v1/modes", nil)
			req.AddCookie(&http.Cookie{Name: SessionCookie, Value: tc.value})
			if _, _, ok := auth.session(req); ok != tc.want {
				t.Fatalf("session ok = %v, want %v", ok, tc.want)
			}
		})
	}
}

// memoryRevocations is Revocations in a map, failing on demand.
type memoryRevocations struct {
	mu   sync.Mutex
	ids  map[string]time.Time
	fail bool
}

func (m *memoryRevocations) Revoke(_ context.Context, id string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errors.New("bucket unreachable")
	}
	m.ids[id] = until
	return nil
}

func (m *memoryRevocations) Revoked(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return false, errors.New("bucket unreachable")
	}
	_, ok := m.ids[id]
	return ok, nil
}

// With Revocations, logging out ends the session for a copy of the cookie
// too; without reaching the record, cookies are refused (fail closed).
func TestLogoutRevokesEveryCopy(t *testing.T) {
	rev := &memoryRevocations{ids: map[string]time.Time{}}
	auth := NewAuth(AuthConfig{Token: testToken, Revocations: rev})
	c := New(Config{}, Deps{Auth: auth, Source: &fakeSource{}})
	mux := http.NewServeMux()
	for p, h := range c.Routes() {
		mux.Handle(p, h)
	}
	mux.Handle("/admin/v1/modes", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	operator := browser(t)
	res := login(t, operator, srv, testToken.Reveal())
	var stolen *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == SessionCookie {
			stolen = ck
		}
	}
	withCookie := func(ck *http.Cookie) int {
		req, _ := http.NewRequest("GET", srv.URL+"/admin/v1/modes", nil)
		req.AddCookie(ck)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := withCookie(stolen); got != 204 {
		t.Fatalf("a copy of the cookie before logout: %d, want 204", got)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/console/logout", nil)
	req.Header.Set("Origin", srv.URL)
	if res, err := operator.Do(req); err != nil {
		t.Fatal(err)
	} else if res.Body.Close(); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	if got := withCookie(stolen); got != 401 {
		t.Fatalf("a copy of the cookie after logout: %d, want 401", got)
	}
	// A fresh login works; with the record unreachable it is refused.
	fresh := login(t, browser(t), srv, testToken.Reveal()).Cookies()[0]
	if got := withCookie(fresh); got != 204 {
		t.Fatalf("a new login: %d, want 204", got)
	}
	rev.mu.Lock()
	rev.fail = true
	rev.mu.Unlock()
	if got := withCookie(fresh); got != 401 {
		t.Fatalf("with revocations unreachable: %d, want 401 (fail closed)", got)
	}
}

func TestWrongLoginIsThrottled(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	srv, _, _ := newServer(t, testToken, func() time.Time { return now })
	c := browser(t)
	for i := range 5 {
		res := login(t, c, srv, "wrong-guess")
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/?login=failed" {
			t.Fatalf("guess %d: %d to %q, want 303 to /console/?login=failed", i, res.StatusCode, res.Header.Get("Location"))
		}
	}
	if res := login(t, c, srv, testToken.Reveal()); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("sixth try at once: %d, want 429 even with the right token", res.StatusCode)
	}
	if info := session(t, c, srv); info.Authenticated {
		t.Fatal("a throttled login signed in")
	}
	now = now.Add(3 * time.Second)
	if res := login(t, c, srv, testToken.Reveal()); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/" {
		t.Fatalf("after waiting: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if info := session(t, c, srv); !info.Authenticated {
		t.Fatal("the right token after the wait did not sign in")
	}
}

func TestLoginThrottlePerClientAndConcurrent(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	l := newLoginThrottle(func() time.Time { return now })
	// Guesses sent at once spend the budget before any is compared.
	var granted atomic.Int32
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			if l.take("198.51.100.7") {
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	if n := granted.Load(); n != 5 {
		t.Fatalf("40 concurrent attempts from one client: %d granted, want 5", n)
	}
	// Another operator is not locked out by them.
	if !l.take("203.0.113.9") {
		t.Fatal("a second client was throttled by the first one's guesses")
	}
	// Many clients together still meet the listener's budget.
	granted.Store(0)
	for i := range 100 {
		if l.take(fmt.Sprint("192.0.2.", i)) {
			granted.Add(1)
		}
	}
	if n := granted.Load(); n >= 20 {
		t.Fatalf("100 clients at once: %d attempts granted, want fewer than the listener's burst of 20", n)
	}
}

func TestCrossSiteLoginRefused(t *testing.T) {
	srv, _, _ := newServer(t, testToken, nil)
	req, _ := http.NewRequest("POST", srv.URL+"/console/login", strings.NewReader("token="+testToken.Reveal()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	res, err := browser(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || len(res.Cookies()) != 0 {
		t.Fatalf("cross-site login: %d with cookies %v, want 403 and none", res.StatusCode, res.Cookies())
	}
}

func TestEventsStreamEndsWhenTheSessionExpires(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv, _, _ := newServer(t, testToken, clock)
	c := browser(t)
	login(t, c, srv, testToken.Reveal())
	res, err := c.Get(srv.URL + "/console/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	r := bufio.NewReader(res.Body)
	if event, _ := readEvent(t, r); event != "live" {
		t.Fatalf("first event %q, want live", event)
	}
	mu.Lock()
	now = now.Add(DefaultSessionTTL + time.Minute)
	mu.Unlock()
	for {
		event, _ := readEvent(t, r)
		if event == "signed-out" {
			break
		}
		if event != "live" {
			t.Fatalf("event %q, want live until signed-out", event)
		}
	}
	if _, err := r.ReadString('\n'); err == nil {
		t.Fatal("the stream went on after signed-out")
	}
}

func TestPageAndAssets(t *testing.T) {
	srv, _, _ := newServer(t, "", nil)
	tests := []struct {
		path, wantType string
		wantBody       []string
	}{
		{"/console/", "text/html", []string{`id="mode-form"`, `id="traffic-body"`, `id="handoff-list"`, `id="review-list"`, `id="login-form"`, "/console/static/console.js"}},
		{"/console/static/console.js", "javascript", []string{"EventSource(\"/console/events\")", "X-CSRF-Token"}},
		{"/console/static/console.css", "text/css", []string{".handoff"}},
	}
	for _, tc := range tests {
		res, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		buf := new(strings.Builder)
		_, _ = bufio.NewReader(res.Body).WriteTo(buf)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), tc.wantType) {
			t.Errorf("%s: %d %q", tc.path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: CSP %q", tc.path, csp)
		}
		for _, want := range tc.wantBody {
			if !strings.Contains(buf.String(), want) {
				t.Errorf("%s: body lacks %q", tc.path, want)
			}
		}
	}
	// The page never inlines script: the CSP forbids it.
	res, _ := http.Get(srv.URL + "/console/")
	buf := new(strings.Builder)
	_, _ = bufio.NewReader(res.Body).WriteTo(buf)
	res.Body.Close()
	if strings.Contains(buf.String(), "<script>") || strings.Contains(buf.String(), " onclick=") {
		t.Error("index.html has inline script")
	}
}

// readEvent reads one server-sent event.
func readEvent(t *testing.T, r *bufio.Reader) (event, data string) {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("event stream ended: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "" && event != "":
			return event, data
		}
	}
}

func TestEventsStreamLiveSnapshotsUntilShutdown(t *testing.T) {
	srv, _, src := newServer(t, testToken, nil)
	// One connection per request: a pooled client may dial a spare
	// connection it never sends a request on, which a graceful shutdown
	// counts as busy for 5 s (serve closes such leftovers when it stops).
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	t.Cleanup(client.CloseIdleConnections)
	if res, err := client.Get(srv.URL + "/console/events"); err != nil {
		t.Fatal(err)
	} else if res.Body.Close(); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("events without credentials: %d, want 401", res.StatusCode)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/console/events", nil)
	req.Header.Set("Authorization", "Bearer "+testToken.Reveal())
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	r := bufio.NewReader(res.Body)
	var first, second Snapshot
	for i, snap := range []*Snapshot{&first, &second} {
		event, data := readEvent(t, r)
		if event != "live" {
			t.Fatalf("event %d is %q, want live", i, event)
		}
		if err := json.Unmarshal([]byte(data), snap); err != nil {
			t.Fatalf("event %d data %q: %v", i, data, err)
		}
	}
	if !second.At.After(first.At) || second.Traffic["webchat"].In <= first.Traffic["webchat"].In {
		t.Fatalf("the stream repeats itself: %+v then %+v", first, second)
	}
	src.fail.Store(true)
	if event, data := readEvent(t, r); event != "trouble" || !strings.Contains(data, "bus unreachable") {
		t.Fatalf("with the source failing: %q %q, want a trouble event naming the error", event, data)
	}
	// A graceful shutdown must not wait for the browser to hang up.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Config.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with a live stream open: %v", err)
	}
}
