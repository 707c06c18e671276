package webchat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go/jetstream"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
	"hotline/outbound"
)

func TestBadFramesKeepTheSocket(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, nil)
	c := f.dial(t, newJar(t), "")
	tests := []struct {
		name, data, id, code string
	}{
		{"not json", `hello there`, "", codeBadFrame},
		{"json but not an object", `["send"]`, "", codeBadFrame},
		{"unknown type", `{"type":"typing","id":"a1"}`, "", codeBadFrame},
		{"no type", `{"id":"a1","text":"hi"}`, "", codeBadFrame},
		{"missing id", `{"type":"send","text":"hi"}`, "", codeBadFrame},
		{"bad id", `{"type":"send","id":"a.b","text":"hi"}`, "", codeBadFrame},
		{"id too long", `{"type":"send","id":"` + strings.Repeat("a", 65) + `","text":"hi"}`, "", codeBadFrame},
		{"text not a string", `{"type":"send","id":"a1","text":5}`, "", codeBadFrame},
		{"empty text", `{"type":"send","id":"e1","text":" \n\t "}`, "e1", codeEmpty},
		{"no text", `{"type":"send","id":"e2"}`, "e2", codeEmpty},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c.sendRaw(t, tc.data)
			fr := c.next(t)
			if fr.Type != "error" || fr.Code != tc.code || fr.ID != tc.id || fr.Message == "" {
				t.Errorf("got %+v, want error %s for id %q with a message", fr, tc.code, tc.id)
			}
		})
	}
	// Still open and working.
	c.sendAcked(t, "ok-1", "still here")
	if in := f.inbound(t); len(in) != 1 || in[0].Text != "still here" {
		t.Fatalf("HOTLINE_IN: got %+v, want only the good message", in)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageBinary, []byte(`{"type":"send","id":"b1","text":"x"}`)); err != nil {
		t.Fatal(err)
	}
	if got := c.closedWith(t); got != websocket.StatusUnsupportedData {
		t.Errorf("after a binary frame: closed with %v, want %v", got, websocket.StatusUnsupportedData)
	}
	if in := f.inbound(t); len(in) != 1 {
		t.Errorf("HOTLINE_IN after the binary frame: got %d messages, want 1", len(in))
	}
}

func TestOversized(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{MaxTextRunes: 10, MaxFrameBytes: 1024}, nil)
	c := f.dial(t, newJar(t), "")

	c.send(t, "long", strings.Repeat("é", 11))
	if fr := c.next(t); fr.Type != "error" || fr.Code != codeTooLong || fr.ID != "long" {
		t.Errorf("11 runes: got %+v, want too_long", fr)
	}
	c.sendAcked(t, "fits", strings.Repeat("é", 10)) // 20 bytes, 10 runes
	if in := f.inbound(t); len(in) != 1 || in[0].PlatformMsgID != c.hello.Visitor+"-fits" {
		t.Fatalf("HOTLINE_IN: got %+v, want only the message that fits", in)
	}

	c.send(t, "huge", strings.Repeat("x", 2000))
	if got := c.closedWith(t); got != websocket.StatusMessageTooBig {
		t.Errorf("frame over MaxFrameBytes: closed with %v, want %v", got, websocket.StatusMessageTooBig)
	}
	if in := f.inbound(t); len(in) != 1 {
		t.Errorf("HOTLINE_IN after the huge frame: got %d messages, want 1", len(in))
	}
	if tr := f.transcript(t, c.hello.Visitor); len(tr) != 1 {
		t.Errorf("transcript: got %d entries, want 1", len(tr))
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{RatePerMinute: 1, Burst: 3}, nil)
	jar := newJar(t)
	c := f.dial(t, jar, "")
	for _, id := range []string{"r1", "r2", "r3"} {
		c.sendAcked(t, id, "message "+id)
	}
	// A second tab of the same visitor shares the budget.
	c2 := f.dial(t, jar, "")
	c2.send(t, "r4", "one too many")
	fr, _ := c2.until(t, "an answer", func(fr frame) bool { return fr.Type == "ack" || fr.Type == "error" })
	if fr.Type != "error" || fr.Code != codeRateLimited || fr.ID != "r4" {
		t.Fatalf("4th message: got %+v, want rate_limited for r4", fr)
	}
	in := f.inbound(t)
	if len(in) != 3 {
		t.Fatalf("HOTLINE_IN: got %d messages, want 3", len(in))
	}
	for i, m := range in {
		if want := c.hello.Visitor + "-r" + string(rune('1'+i)); m.PlatformMsgID != want {
			t.Errorf("message %d: got %s, want %s", i, m.PlatformMsgID, want)
		}
	}
	if tr := f.transcript(t, c.hello.Visitor); len(tr) != 3 {
		t.Errorf("transcript: got %d entries, want 3", len(tr))
	}
	// Another visitor has a budget of their own.
	other := f.dial(t, newJar(t), "")
	other.sendAcked(t, "r1", "hello")
}

func TestPublishFailureIsNotAcked(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, nil)
	c := f.dial(t, newJar(t), "")
	ctx := context.Background()
	if err := f.b.JetStream().DeleteStream(ctx, bus.StreamIn); err != nil {
		t.Fatal(err)
	}
	c.send(t, "lost-1", "is anyone there?")
	fr, _ := c.until(t, "an answer", func(fr frame) bool { return fr.Type == "ack" || fr.Type == "error" })
	if fr.Type != "error" || fr.Code != codeUnavailable || fr.ID != "lost-1" {
		t.Fatalf("publish failure: got %+v, want unavailable for lost-1", fr)
	}
	if tr := f.transcript(t, c.hello.Visitor); len(tr) != 0 {
		t.Errorf("transcript: got %+v, want nothing for a message that was not stored", tr)
	}
}

func TestReplyWhileSocketClosed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, nil)
	jar := newJar(t)
	c := f.dial(t, jar, "")
	v := c.hello.Visitor
	c.sendAcked(t, "q1", "where is my order?")
	if err := c.ws.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}

	r := reply(v, "It ships today.")
	r.Buttons = []envelope.Button{{Label: "Track", Data: "track"}}
	r.Lang, r.Dir = "en", ""
	rcpt, err := f.a.Send(context.Background(), r)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if rcpt.PlatformMsgID != r.ID || rcpt.SentAt.IsZero() {
		t.Errorf("receipt: got %+v", rcpt)
	}
	agent := reply(v, "مرحبا، أنا سارة")
	agent.Source, agent.Agent, agent.Dir, agent.Lang = envelope.SourceAgent, "sara", "rtl", "ar"
	if _, err := f.a.Send(context.Background(), agent); err != nil {
		t.Fatalf("Send agent: %v", err)
	}
	// Redelivered by the outbound loop: not shown twice.
	if _, err := f.a.Send(context.Background(), r); err != nil {
		t.Fatalf("Send again: %v", err)
	}

	back := f.dial(t, jar, "")
	if back.hello.Visitor != v {
		t.Fatalf("visitor: got %s, want %s", back.hello.Visitor, v)
	}
	h := back.hello.History
	if len(h) != 3 {
		t.Fatalf("history: got %d entries %+v, want 3", len(h), h)
	}
	if h[0].Role != roleUser || h[0].Text != "where is my order?" || h[0].ClientID != "q1" {
		t.Errorf("history[0]: got %+v, want the visitor's message", h[0])
	}
	if h[1].ID != r.ID || h[1].Role != roleBot || h[1].Text != r.Text || len(h[1].Buttons) != 1 || h[1].Buttons[0] != r.Buttons[0] || h[1].Lang != "en" {
		t.Errorf("history[1]: got %+v, want the bot reply", h[1])
	}
	if h[2].ID != agent.ID || h[2].Role != roleAgent || h[2].Dir != "rtl" || h[2].Lang != "ar" {
		t.Errorf("history[2]: got %+v, want the agent's rtl reply", h[2])
	}
}

func TestSendRefusesBadRecipients(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, nil)
	tests := []struct {
		name   string
		mutate func(*envelope.Reply)
		reason string
	}{
		{"dot in the id", func(r *envelope.Reply) { r.To.ID = "a.b" }, "bad_recipient"},
		{"wildcard", func(r *envelope.Reply) { r.To.ID = "*" }, "bad_recipient"},
		{"empty", func(r *envelope.Reply) { r.To.ID = "" }, "bad_recipient"},
		{"other account", func(r *envelope.Reply) { r.Account = "other" }, "wrong_account"},
		{"nothing to show", func(r *envelope.Reply) { r.Text = " " }, "empty_reply"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := reply("visitor1", "hi")
			tc.mutate(&r)
			_, err := f.a.Send(context.Background(), r)
			var se *outbound.SendError
			if !errors.As(err, &se) || se.Kind != outbound.Permanent || se.Reason != tc.reason {
				t.Fatalf("got %v, want a permanent %s", err, tc.reason)
			}
		})
	}
	if tr := f.transcript(t, "visitor1"); len(tr) != 0 {
		t.Errorf("transcript: got %+v, want nothing", tr)
	}
}

func TestSendFailsRetryablyWithoutKV(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, nil)
	if err := f.b.JetStream().DeleteKeyValue(context.Background(), TranscriptsBucket); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := f.a.Send(ctx, reply("visitor1", "hi"))
	var se *outbound.SendError
	if err == nil || errors.As(err, &se) {
		t.Fatalf("got %v, want a plain (retryable) error", err)
	}
}

func TestCrossOriginRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/chat/ws"
	tests := []struct {
		origin string
		ok     bool
	}{
		{"http://evil.example", false},
		{"https://" + strings.TrimPrefix(f.srv.URL, "http://") + ".evil.example", false},
		{f.srv.URL, true},
	}
	for _, tc := range tests {
		ws, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {tc.origin}}})
		if tc.ok {
			if err != nil {
				t.Errorf("origin %s: got %v, want the same origin accepted", tc.origin, err)
				continue
			}
			_ = ws.CloseNow()
			continue
		}
		if err == nil {
			_ = ws.CloseNow()
			t.Errorf("origin %s: handshake accepted, want it refused", tc.origin)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %s: got %v, want 403", tc.origin, resp)
		}
	}
}

func TestRunClosesSocketsWhenItEnds(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, nil)
	cancel, done := f.run(t)
	c1 := f.dial(t, newJar(t), "")
	c2 := f.dial(t, newJar(t), "")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: got %v, want nil", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
	}
	for i, c := range []*client{c1, c2} {
		if got := c.closedWith(t); got != websocket.StatusGoingAway {
			t.Errorf("socket %d: closed with %v, want %v", i, got, websocket.StatusGoingAway)
		}
	}
	if f.a.Ready() == nil {
		t.Error("Ready after Run ended: got nil, want an error")
	}
}

// A page that never answers the close handshake (a phone that lost its
// network) must not hold up the gateway's stop for the library's 5 s
// handshake timeout.
func TestRunDropsSilentSocketsOnStop(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, nil)
	cancel, done := f.run(t)
	silent := f.dial(t, newJar(t), "") // read its hello, then never read again
	_ = silent
	stopped := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
	}
	if waited := time.Since(stopped); waited >= 4*time.Second {
		t.Fatalf("Run waited %v for a silent page; it should drop it after %v", waited.Round(time.Millisecond), closeGrace)
	}
}

func TestNotificationsAreNotStored(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := b.JetStream().Publish(ctx, notifySubject("demo", "v1"), []byte(`{}`))
	if !errors.Is(err, jetstream.ErrNoStreamResponse) {
		t.Fatalf("a JetStream publish on %s: got %v, want no stream to answer", notifySubject("demo", "v1"), err)
	}
}

func TestCookieKey(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	ctx := context.Background()
	k1, err := CookieKey(ctx, b, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != 32 {
		t.Fatalf("key: got %d bytes, want 32", len(k1))
	}
	k2, err := CookieKey(ctx, b, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if string(k1) != string(k2) {
		t.Error("second call: got another key, want the same")
	}
	other, err := CookieKey(ctx, b, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if string(other) == string(k1) {
		t.Error("another account: got the same key")
	}
	if _, err := CookieKey(ctx, b, "a.b"); err == nil {
		t.Error("bad account: got no error")
	}
	e, err := b.KV(bus.BucketTokens).Get(ctx, "webchat.demo.cookie-key")
	if err != nil || string(e.Value()) != string(k1) {
		t.Errorf("stored key: got %v, want the returned key", err)
	}
}

func TestTranscriptIsCapped(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{HistoryLimit: 3}, nil)
	var ids []string
	for i := range 5 {
		r := reply("visitor1", "reply "+string(rune('a'+i)))
		ids = append(ids, r.ID)
		if _, err := f.a.Send(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	tr := f.transcript(t, "visitor1")
	if len(tr) != 3 || tr[0].ID != ids[2] || tr[2].ID != ids[4] {
		t.Errorf("got %+v, want the newest 3", tr)
	}
}

// Long texts full of characters JSON likes to escape must not grow a
// transcript past what NATS stores: replies would then fail for good.
func TestTranscriptStaysUnderTheMessageLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, nil)
	long := strings.Repeat("<&>", 16384/3)
	for i := range 20 { // 20 × 16 KiB: past the cap even unescaped
		r := reply("visitor2", fmt.Sprint(i, long))
		if _, err := f.a.Send(context.Background(), r); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
	}
	last := reply("visitor2", "the newest")
	if _, err := f.a.Send(context.Background(), last); err != nil {
		t.Fatalf("a short reply after the long ones: %v", err)
	}
	tr := f.transcript(t, "visitor2")
	if len(tr) == 0 || tr[len(tr)-1].ID != last.ID {
		t.Fatalf("the newest reply is not last in the transcript")
	}
	e, err := f.b.KV(TranscriptsBucket).Get(context.Background(), "demo.visitor2")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.Value()); n > maxTranscriptBytes {
		t.Fatalf("transcript is %d bytes, over the %d cap", n, maxTranscriptBytes)
	}
}

// The bot may answer before the visitor's own message is added to the
// transcript; on reload the question must still come first.
func TestTranscriptKeepsTimeOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, nil)
	ctx := context.Background()
	asked := time.Now().UTC()
	answer := reply("visitor3", "the answer")
	answer.CreatedAt = asked.Add(time.Millisecond)
	if _, err := f.a.appendEntry(ctx, "visitor3", entry{ID: answer.ID, Role: roleBot, Text: answer.Text, At: asked.Add(time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.appendEntry(ctx, "visitor3", entry{ID: "q1", Role: roleUser, Text: "the question", At: asked}); err != nil {
		t.Fatal(err)
	}
	tr := f.transcript(t, "visitor3")
	if len(tr) != 2 || tr[0].Text != "the question" || tr[1].Text != "the answer" {
		t.Fatalf("transcript %+v, want the question before the answer", tr)
	}
}

func TestConcurrentAppendsAllKept(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, nil)
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := f.a.Send(context.Background(), reply("visitor1", "reply "+string(rune('a'+i))))
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	if tr := f.transcript(t, "visitor1"); len(tr) != n {
		t.Errorf("got %d entries, want %d", len(tr), n)
	}
}
