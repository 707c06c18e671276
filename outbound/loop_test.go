package outbound

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
)

// fakePlatform is an httptest server that behaves like a chat platform's
// send API and can be told to fail the way platforms fail.
type fakePlatform struct {
	srv  *httptest.Server
	mode atomic.Value // "ok", "down" (503), "html" (502 page), "throttle" (429), "bad" (400)

	mu         sync.Mutex
	delivered  map[string]int // reply id -> times accepted
	texts      map[string]string
	calls      []time.Time
	retryAfter int
}

func newFakePlatform(t *testing.T) *fakePlatform {
	t.Helper()
	f := &fakePlatform{delivered: map[string]int{}, texts: map[string]string{}, retryAfter: 1}
	f.mode.Store("ok")
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ ID, To, Text string }
		if r.Method != http.MethodPost || r.URL.Path != "/send" || json.NewDecoder(r.Body).Decode(&body) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls = append(f.calls, time.Now())
		switch f.mode.Load().(string) {
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
		default:
			f.delivered[body.ID]++
			f.texts[body.ID] = body.Text
			fmt.Fprintf(w, `{"ok":true,"message_id":"m-%d"}`, len(f.delivered))
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakePlatform) count(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.delivered[id]
}

func (f *fakePlatform) callTimes() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.calls...)
}

// httpSender is what an adapter's Send looks like: one POST, its answer
// classified.
type httpSender struct {
	url    string
	client *http.Client
}

func (s httpSender) Send(ctx context.Context, r envelope.Reply) (envelope.Receipt, error) {
	body, _ := json.Marshal(map[string]string{"id": r.ID, "to": r.To.ID, "text": r.Text})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/send", bytes.NewReader(body))
	resp, err := s.client.Do(req)
	if err != nil {
		return envelope.Receipt{}, RetryableError("transport", err)
	}
	defer resp.Body.Close()
	var out struct {
		OK        bool   `json:"ok"`
		MessageID string `json:"message_id"`
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return envelope.Receipt{}, ThrottledError("http_429", time.Duration(secs)*time.Second, nil)
	case resp.StatusCode >= 500:
		return envelope.Receipt{}, RetryableError("http_"+strconv.Itoa(resp.StatusCode), nil)
	case resp.StatusCode >= 400:
		return envelope.Receipt{}, PermanentError("chat_not_found", nil)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || !out.OK {
		return envelope.Receipt{}, RetryableError("bad_response", err)
	}
	return envelope.Receipt{PlatformMsgID: out.MessageID, SentAt: time.Now()}, nil
}

func reply(platform, account, user, text string) envelope.Reply {
	now := time.Now().UTC()
	return envelope.Reply{ID: envelope.NewID(now), Platform: platform, Account: account,
		Conversation: envelope.ConversationKey(platform, account, user), To: envelope.Party{ID: user},
		Text: text, Source: envelope.SourceBot, CreatedAt: now}
}

// fastConfig keeps the loop's waits short enough for a test.
func fastConfig(platform, account string) Config {
	return Config{Platform: platform, Account: account, MaxAttempts: 4,
		Backoff: func(int) time.Duration { return 50 * time.Millisecond }, BreakerFailures: 3,
		BreakerOpen: 300 * time.Millisecond, HoldRecheck: 100 * time.Millisecond, Workers: 2,
		AccountRate: 1000, AccountBurst: 1000, RecipientRate: 1000, RecipientBurst: 1000}
}

func startLoop(t *testing.T, b *bus.Bus, cfg Config, sender Sender, modes Modes, phones PhoneBook) *Loop {
	t.Helper()
	l, err := New(cfg, Deps{Bus: b, Sender: sender, Modes: modes, Phones: phones})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = l.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

func publish(t *testing.T, b *bus.Bus, r envelope.Reply) {
	t.Helper()
	if _, err := b.PublishReply(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
}

func deadLetters(t *testing.T, b *bus.Bus) []envelope.DeadLetter {
	t.Helper()
	var out []envelope.DeadLetter
	for _, d := range bustest.Messages(t, b, bus.StreamDead, "") {
		var dl envelope.DeadLetter
		if err := json.Unmarshal(d, &dl); err != nil {
			t.Fatal(err)
		}
		out = append(out, dl)
	}
	return out
}

func statuses(t *testing.T, b *bus.Bus, replyID string) []envelope.DeliveryState {
	t.Helper()
	var out []envelope.DeliveryState
	for _, d := range bustest.Messages(t, b, bus.StreamStatus, "") {
		var st envelope.Status
		if err := envelope.Decode(d, &st); err != nil {
			t.Fatal(err)
		}
		if st.ReplyID == replyID {
			out = append(out, st.State)
		}
	}
	return out
}

func TestDeliversOnceEvenWhenRedelivered(t *testing.T) {
	b := bustest.Open(t)
	p := newFakePlatform(t)
	l := startLoop(t, b, fastConfig("telegram", "tg-main"), httpSender{p.srv.URL, p.srv.Client()}, nil, nil)
	r := reply("telegram", "tg-main", "42", "hello")
	publish(t, b, r)
	bustest.WaitFor(t, "delivery", func() bool { return p.count(r.ID) == 1 })
	// The same reply stored again past the duplicate window.
	data, _ := envelope.Encode(&r)
	if _, err := b.Publish(context.Background(), "hotline.out.telegram.tg-main", data, "again-"+r.ID, nil); err != nil {
		t.Fatal(err)
	}
	bustest.WaitFor(t, "the duplicate to be recognized", func() bool {
		return testutil.ToFloat64(l.m.outcomes.WithLabelValues("telegram", "tg-main", "duplicate")) == 1
	})
	if n := p.count(r.ID); n != 1 {
		t.Fatalf("sent %d times, want 1", n)
	}
	if got := statuses(t, b, r.ID); len(got) != 1 || got[0] != envelope.StateSent {
		t.Fatalf("statuses %v, want one sent", got)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	b := bustest.Open(t)
	p := newFakePlatform(t)
	p.mode.Store("throttle")
	p.retryAfter = 1
	startLoop(t, b, fastConfig("telegram", "tg-main"), httpSender{p.srv.URL, p.srv.Client()}, nil, nil)
	r := reply("telegram", "tg-main", "42", "hi")
	publish(t, b, r)
	bustest.WaitFor(t, "the first, throttled call", func() bool { return len(p.callTimes()) == 1 })
	p.mode.Store("ok")
	bustest.WaitFor(t, "delivery", func() bool { return p.count(r.ID) == 1 })
	calls := p.callTimes()
	if gap := calls[1].Sub(calls[0]); gap < time.Second {
		t.Fatalf("second call %v after the 429, want at least the 1s retry_after", gap)
	}
}

func TestServerErrorsRetriedThenDelivered(t *testing.T) {
	b := bustest.Open(t)
	p := newFakePlatform(t)
	p.mode.Store("html")
	cfg := fastConfig("wechat", "oa-main")
	cfg.BreakerFailures = 10
	startLoop(t, b, cfg, httpSender{p.srv.URL, p.srv.Client()}, nil, nil)
	r := reply("wechat", "oa-main", "oUser", "你好")
	publish(t, b, r)
	bustest.WaitFor(t, "two failed calls", func() bool { return len(p.callTimes()) >= 2 })
	p.mode.Store("ok")
	bustest.WaitFor(t, "delivery", func() bool { return p.count(r.ID) == 1 })
	got := statuses(t, b, r.ID)
	if len(got) < 3 || got[0] != envelope.StateRetrying || got[len(got)-1] != envelope.StateSent {
		t.Fatalf("statuses %v, want retrying... then sent", got)
	}
	if len(deadLetters(t, b)) != 0 {
		t.Fatal("a delivered reply was dead-lettered")
	}
}

func TestPermanentErrorDeadLettersAtOnce(t *testing.T) {
	b := bustest.Open(t)
	p := newFakePlatform(t)
	p.mode.Store("bad")
	startLoop(t, b, fastConfig("telegram", "tg-main"), httpSender{p.srv.URL, p.srv.Client()}, nil, nil)
	r := reply("telegram", "tg-main", "404", "anyone?")
	publish(t, b, r)
	bustest.WaitFor(t, "the dead letter", func() bool { return len(deadLetters(t, b)) == 1 })
	dl := deadLetters(t, b)[0]
	if dl.Reason != "permanent: chat_not_found" {
		t.Fatalf("reason %q, want the platform's permanent error", dl.Reason)
	}
	var orig envelope.Reply
	if err := envelope.Decode(dl.Data, &orig); err != nil || orig.ID != r.ID {
		t.Fatalf("dead letter does not carry the reply: %v", err)
	}
	if n := len(p.callTimes()); n != 1 {
		t.Fatalf("%d calls, want 1 (no retry of a permanent error)", n)
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	b := bustest.Open(t)
	p := newFakePlatform(t)
	p.mode.Store("down")
	cfg := fastConfig("weibo", "wb")
	cfg.BreakerFailures = 100
	startLoop(t, b, cfg, httpSender{p.srv.URL, p.srv.Client()}, nil, nil)
	r := reply("weibo", "wb", "u", "x")
	publish(t, b, r)
	bustest.WaitFor(t, "the dead letter", func() bool { return len(deadLetters(t, b)) == 1 })
	if dl := deadLetters(t, b)[0]; dl.Reason != "gave up after 4 attempts: retryable: http_503" {
		t.Fatalf("reason %q", dl.Reason)
	}
	if n := len(p.callTimes()); n != 4 {
		t.Fatalf("%d calls, want MaxAttempts=4", n)
	}
}

func TestCircuitOpensAndCloses(t *testing.T) {
	b := bustest.Open(t)
	p := newFakePlatform(t)
	p.mode.Store("down")
	l := startLoop(t, b, fastConfig("telegram", "tg-main"), httpSender{p.srv.URL, p.srv.Client()}, nil, nil)
	var rs []envelope.Reply
	for i := range 5 {
		r := reply("telegram", "tg-main", fmt.Sprint("u", i), "x")
		rs = append(rs, r)
		publish(t, b, r)
	}
	bustest.WaitFor(t, "the circuit to open", func() bool { return l.CircuitState() == "open" })
	calls := len(p.callTimes())
	bustest.WaitFor(t, "replies to wait on the open circuit", func() bool {
		return testutil.ToFloat64(l.m.outcomes.WithLabelValues("telegram", "tg-main", "circuit_wait")) >= 3
	})
	if now := len(p.callTimes()); now != calls {
		t.Fatalf("%d calls while the circuit was open", now-calls)
	}
	p.mode.Store("ok")
	bustest.WaitFor(t, "every reply delivered", func() bool {
		for _, r := range rs {
			if p.count(r.ID) != 1 {
				return false
			}
		}
		return true
	})
	if st := l.CircuitState(); st != "closed" {
		t.Fatalf("circuit %s after recovery, want closed", st)
	}
	if n := len(deadLetters(t, b)); n != 0 {
		t.Fatalf("%d dead letters: waiting on an open circuit must not use up attempts", n)
	}
}

func TestOptedOutRecipientGetsNothing(t *testing.T) {
	b := bustest.Open(t)
	p := newFakePlatform(t)
	r := reply("sms", "sms-main", "+15550123", "promo")
	if _, err := b.KV(bus.BucketOptOut).Put(context.Background(), bus.OptOutKey(r.Conversation), []byte("x")); err != nil {
		t.Fatal(err)
	}
	startLoop(t, b, fastConfig("sms", "sms-main"), httpSender{p.srv.URL, p.srv.Client()}, nil, nil)
	publish(t, b, r)
	confirm := reply("sms", "sms-main", "+15550123", "You're unsubscribed.")
	confirm.Source = envelope.SourceSystem
	publish(t, b, confirm)
	bustest.WaitFor(t, "the confirmation", func() bool { return p.count(confirm.ID) == 1 })
	bustest.WaitFor(t, "the dead letter", func() bool { return len(deadLetters(t, b)) == 1 })
	if p.count(r.ID) != 0 || deadLetters(t, b)[0].Reason != "recipient opted out" {
		t.Fatalf("opted-out recipient: sent %d, dead letters %+v", p.count(r.ID), deadLetters(t, b))
	}
}
