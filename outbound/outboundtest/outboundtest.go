// Package outboundtest has a fake chat platform for tests of delivery:
// an httptest server with a send API that can be told to fail the way
// platforms fail, and the Sender that talks to it. Import it from _test.go
// files only.
package outboundtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"hotline/envelope"
	"hotline/outbound"
)

// Platform is an httptest server that behaves like a chat platform's send
// API. SetMode switches it between "ok", "down" (503), "html" (502 page), "throttle"
// (429 with Retry-After), "bad" (400, chat not found) or "window" (403, the
// user's reply window closed).
type Platform struct {
	srv *httptest.Server

	mu         sync.Mutex
	cur        string
	to         map[string]string
	delivered  map[string]int // reply id -> times accepted
	texts      map[string]string
	calls      []time.Time
	sends      []Send
	retryAfter int
}

// Send is one send the platform accepted.
type Send struct {
	ID, To, Text string
	At           time.Time // when the call arrived
}

// NewPlatform starts a fake platform that accepts everything until told
// otherwise; it stops when the test ends.
func NewPlatform(t testing.TB) *Platform {
	t.Helper()
	f := &Platform{delivered: map[string]int{}, texts: map[string]string{}, to: map[string]string{}, retryAfter: 1}
	f.cur = "ok"
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ ID, To, Text string }
		if r.Method != http.MethodPost || r.URL.Path != "/send" || json.NewDecoder(r.Body).Decode(&body) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		now := time.Now()
		f.calls = append(f.calls, now)
		switch f.cur {
		case "down":
			http.Error(w, `{"error":"service unavailable"}`, http.StatusServiceUnavailable)
		case "html":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html><body>502 Bad Gateway</body></html>")
		case "throttle":
			w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprintf(w, `{"ok":false,"error_code":429,"parameters":{"retry_after":%d}}`, f.retryAfter)
		case "bad":
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`)
		case "window":
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"ok":false,"error_code":403,"description":"Forbidden: outside the reply window"}`)
		default:
			f.sends = append(f.sends, Send{ID: body.ID, To: body.To, Text: body.Text, At: now})
			f.delivered[body.ID]++
			f.texts[body.ID] = body.Text
			f.to[body.ID] = body.To
			fmt.Fprintf(w, `{"ok":true,"message_id":"m-%d"}`, len(f.delivered))
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// Count says how many times the reply with this id was accepted.
func (f *Platform) Count(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.delivered[id]
}

// Calls returns when each send call arrived.
func (f *Platform) Calls() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.calls...)
}

// Sends returns every accepted send in the order the calls arrived.
func (f *Platform) Sends() []Send {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Send(nil), f.sends...)
}

// Sender is what an adapter's Send looks like: one POST to the platform,
// its answer classified.
type Sender struct{ p *Platform }

// Sender returns a Sender for this platform.
func (f *Platform) Sender() Sender { return Sender{f} }

// Send implements outbound.Sender.
func (s Sender) Send(ctx context.Context, r envelope.Reply) (envelope.Receipt, error) {
	body, _ := json.Marshal(map[string]string{"id": r.ID, "to": r.To.ID, "text": r.Text})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.p.srv.URL+"/send", bytes.NewReader(body))
	resp, err := s.p.srv.Client().Do(req)
	if err != nil {
		return envelope.Receipt{}, outbound.RetryableError("transport", err)
	}
	defer resp.Body.Close()
	var out struct {
		OK        bool   `json:"ok"`
		MessageID string `json:"message_id"`
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return envelope.Receipt{}, outbound.ThrottledError("http_429", time.Duration(secs)*time.Second, nil)
	case resp.StatusCode == http.StatusForbidden:
		return envelope.Receipt{}, outbound.PermanentError(outbound.ReasonWindowClosed, nil)
	case resp.StatusCode >= 500:
		return envelope.Receipt{}, outbound.RetryableError("http_"+strconv.Itoa(resp.StatusCode), nil)
	case resp.StatusCode >= 400:
		return envelope.Receipt{}, outbound.PermanentError("chat_not_found", nil)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || !out.OK {
		return envelope.Receipt{}, outbound.RetryableError("bad_response", err)
	}
	return envelope.Receipt{PlatformMsgID: out.MessageID, SentAt: time.Now()}, nil
}

// SetMode switches how the platform answers.
func (f *Platform) SetMode(mode string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cur = mode
}

// Mode is how the platform answers now.
func (f *Platform) Mode() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur
}

// SetRetryAfter sets the seconds a 429 asks the caller to wait.
func (f *Platform) SetRetryAfter(secs int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retryAfter = secs
}

// Text returns the text of the accepted reply with this id.
func (f *Platform) Text(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.texts[id]
}

// Accepted returns every accepted send as reply id -> recipient and text.
func (f *Platform) Accepted() map[string][2]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][2]string{}
	for id := range f.delivered {
		out[id] = [2]string{f.to[id], f.texts[id]}
	}
	return out
}
