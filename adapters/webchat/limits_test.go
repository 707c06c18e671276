package webchat

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hotline/bus/bustest"
)

// A script that drops its cookie is a new visitor every time; its address
// still has a budget (addressShare visitors' worth).
func TestAddressLimitCatchesCookieDroppers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{RatePerMinute: 1, Burst: 1}, nil)
	var answers []string
	for i := range addressShare + 2 {
		c := f.dial(t, newJar(t), "") // a fresh visitor each time, one address
		c.send(t, "m1", fmt.Sprint("message ", i))
		fr, _ := c.until(t, "an answer", func(fr frame) bool { return fr.Type == "ack" || fr.Type == "error" })
		answers = append(answers, fr.Type+fr.Code)
	}
	want := fmt.Sprint([]string{"ack", "ack", "ack", "ack", "error" + codeRateLimited, "error" + codeRateLimited})
	if fmt.Sprint(answers) != want {
		t.Fatalf("answers %v, want %v", answers, want)
	}
	if n := len(f.inbound(t)); n != addressShare {
		t.Fatalf("HOTLINE_IN holds %d messages, want %d", n, addressShare)
	}
}

// Behind a proxy every socket comes from the proxy's address: the header
// it sets tells the visitors' addresses apart, and only its last entry
// counts (the client writes the others).
func TestClientIPHeader(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{RatePerMinute: 1, Burst: 1, ClientIPHeader: "X-Forwarded-For"}, nil)
	send := func(xff string) string {
		t.Helper()
		c := f.dialHeader(t, newJar(t), "", http.Header{"X-Forwarded-For": {xff}})
		c.send(t, "m1", "hello")
		fr, _ := c.until(t, "an answer", func(fr frame) bool { return fr.Type == "ack" || fr.Type == "error" })
		return fr.Type + fr.Code
	}
	for i := range addressShare + 2 {
		if got := send(fmt.Sprintf("198.51.100.%d", i)); got != "ack" {
			t.Fatalf("visitor %d from their own address: %s, want ack", i, got)
		}
	}
	// A client that writes a new first entry each time is still one address.
	var last string
	for i := range addressShare + 1 {
		last = send(fmt.Sprintf("10.0.0.%d, 203.0.113.7", i))
	}
	if last != "error"+codeRateLimited {
		t.Fatalf("spoofed first entries from one address: last answer %s, want rate_limited", last)
	}
}

func TestSocketCap(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{MaxSockets: 1}, nil)
	first := f.dial(t, newJar(t), "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := "ws" + f.srv.URL[len("http"):] + "/chat/ws"
	ws, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	_, _, err = ws.Read(ctx)
	if got := websocket.CloseStatus(err); got != websocket.StatusTryAgainLater {
		t.Fatalf("second socket over a cap of 1: %v (status %v), want 1013 try again later", err, got)
	}
	// The first one still works, and its slot frees on close.
	first.sendAcked(t, "a1", "still here")
	_ = first.ws.Close(websocket.StatusNormalClosure, "")
	bustest.WaitFor(t, "the slot to free", func() bool { f.a.hub.mu.Lock(); defer f.a.hub.mu.Unlock(); return f.a.hub.count == 0 })
	f.dial(t, newJar(t), "")
}

// A page resending a message it never got an ack for, after the stream's
// duplicate window, must not store it twice nor spend rate budget on it.
func TestResendOfAStoredMessageIsAckedOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{RatePerMinute: 1, Burst: 1}, nil)
	jar := newJar(t)
	c := f.dial(t, jar, "")
	// Stored an hour ago, its ack lost with the connection.
	old := entry{ID: "01JOLDMESSAGE00000000000000", Role: roleUser, Text: "hello", At: time.Now().Add(-time.Hour), ClientID: "old1"}
	if _, err := f.a.appendEntry(context.Background(), c.hello.Visitor, old); err != nil {
		t.Fatal(err)
	}
	c.sendAcked(t, "old1", "hello")
	if n := len(f.inbound(t)); n != 0 {
		t.Fatalf("the resend was stored again: HOTLINE_IN holds %d", n)
	}
	c.sendAcked(t, "new1", "a new message") // the one message the budget allows
	c.send(t, "new2", "one too many")
	fr, _ := c.until(t, "an answer", func(fr frame) bool { return fr.Type == "ack" || fr.Type == "error" })
	if fr.Code != codeRateLimited {
		t.Fatalf("after a free resend and one message: %+v, want rate_limited", fr)
	}
}

// closeStatusOfNewSocket dials a socket with header and returns the close
// status it gets instead of hello (-1: it got hello).
func closeStatusOfNewSocket(t *testing.T, f *fixture, header http.Header) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+f.srv.URL[len("http"):]+"/chat/ws", &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if _, _, err := ws.Read(ctx); err != nil {
		return websocket.CloseStatus(err)
	}
	return -1
}

// One address cannot hold every socket: past its cap it is refused with
// 1013 while another address still connects; opening sockets too fast is
// refused with 1008.
func TestSocketsPerAddress(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{SocketsPerAddress: 3, NewSocketsPerMinute: 100, ClientIPHeader: "X-Forwarded-For"}, nil)
	from := func(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }
	for range 3 {
		f.dialHeader(t, newJar(t), "", from("203.0.113.7"))
	}
	if got := closeStatusOfNewSocket(t, f, from("203.0.113.7")); got != websocket.StatusTryAgainLater {
		t.Fatalf("a fourth socket from one address over a cap of 3: status %v, want 1013", got)
	}
	other := f.dialHeader(t, newJar(t), "", from("198.51.100.9"))
	other.sendAcked(t, "o1", "another address still gets in")

	g := newFixture(t, Config{NewSocketsPerMinute: 2, ClientIPHeader: "X-Forwarded-For"}, nil)
	for range 2 {
		g.dialHeader(t, newJar(t), "", from("203.0.113.8"))
	}
	if got := closeStatusOfNewSocket(t, g, from("203.0.113.8")); got != websocket.StatusPolicyViolation {
		t.Fatalf("a third new socket within a minute over 2 a minute: status %v, want 1008", got)
	}
}
