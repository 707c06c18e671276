package modemtest

import (
	"context"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// PDUs of 3GPP TS 23.040 used throughout the tests.
const (
	// submitPDU is an SMS-SUBMIT with SMSC "00": 24 octets, TPDU 23.
	submitPDU = "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
	// deliverPDU is an SMS-DELIVER with an 8-octet SMSC part: TPDU 30.
	deliverPDU = "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07"
	// reportPDU is an SMS-STATUS-REPORT with SMSC "00": TPDU 25.
	reportPDU = "0006050B916407281553F8211062917404402110629174054000"
)

const testTimeout = 5 * time.Second

const okReply = "\r\nOK\r\n"

// client is the host side of a connection: it records everything the
// modem writes so tests can compare exact bytes.
type client struct {
	t        testing.TB
	rw       io.ReadWriter
	mu       sync.Mutex
	buf      []byte
	err      error
	more     chan struct{}
	readDone chan struct{}
	serveErr chan error // Serve's result, for connections made by dial
	closed   bool
}

func newClient(t testing.TB, rw io.ReadWriter) *client {
	c := &client{t: t, rw: rw, more: make(chan struct{}, 1), readDone: make(chan struct{})}
	go c.readLoop()
	return c
}

// dial serves s on one end of a net.Pipe and returns a client on the
// other. At cleanup the connection is cancelled and must end cleanly.
func dial(t *testing.T, s *Sim) *client {
	t.Helper()
	modemSide, hostSide := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	c := newClient(t, hostSide)
	c.serveErr = make(chan error, 1)
	go func() { c.serveErr <- s.Serve(ctx, modemSide) }()
	eventually(t, "Serve to take the connection", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.attached
	})
	t.Cleanup(func() {
		cancel()
		if !c.closed {
			if err := <-c.serveErr; err != nil {
				t.Errorf("Serve: %v", err)
			}
		}
		c.close()
	})
	return c
}

func (c *client) readLoop() {
	defer close(c.readDone)
	buf := make([]byte, 256)
	for {
		n, err := c.rw.Read(buf)
		c.mu.Lock()
		c.buf = append(c.buf, buf[:n]...)
		if err != nil {
			c.err = err
		}
		c.mu.Unlock()
		select {
		case c.more <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// close closes the host side and waits for the reading goroutine.
func (c *client) close() {
	if cl, ok := c.rw.(io.Closer); ok {
		_ = cl.Close()
	}
	<-c.readDone
}

// hangup closes the host side of a dialled connection, like a gateway
// that exits, and returns Serve's error once it has returned.
func (c *client) hangup() error {
	c.t.Helper()
	c.closed = true
	c.close()
	select {
	case err := <-c.serveErr:
		return err
	case <-time.After(testTimeout):
		c.t.Fatal("Serve did not return after hang-up")
		return nil
	}
}

func (c *client) send(raw string) {
	c.t.Helper()
	if d, ok := c.rw.(interface{ SetWriteDeadline(time.Time) error }); ok {
		_ = d.SetWriteDeadline(time.Now().Add(testTimeout))
	}
	if _, err := c.rw.Write([]byte(raw)); err != nil {
		c.t.Fatalf("write %q: %v", raw, err)
	}
}

// expect consumes exactly want from what the modem wrote, failing as soon
// as the bytes diverge.
func (c *client) expect(want string) {
	c.t.Helper()
	timeout := time.NewTimer(testTimeout)
	defer timeout.Stop()
	for {
		c.mu.Lock()
		have, err := string(c.buf), c.err
		if len(have) >= len(want) && have[:len(want)] == want {
			c.buf = c.buf[len(want):]
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if !strings.HasPrefix(want, have) {
			c.t.Fatalf("modem wrote %q\nwant %q", have, want)
		}
		if err != nil {
			c.t.Fatalf("read: %v; have %q, want %q", err, have, want)
		}
		select {
		case <-c.more:
		case <-timeout.C:
			c.t.Fatalf("timed out: have %q, want %q", have, want)
		}
	}
}

// cmd sends a command line and expects exactly want in return.
func (c *client) cmd(line, want string) {
	c.t.Helper()
	c.send(line + "\r")
	c.expect(want)
}

// quiet asserts that no unsolicited output was queued before it was
// called: whatever the modem has queued is written at the latest right
// after the response to the first AT, so a second one proves the line is
// clear. Echo must be off.
func (c *client) quiet() {
	c.t.Helper()
	c.cmd("AT", okReply)
	c.cmd("AT", okReply)
}

// readErr returns the error that ended reading, if any.
func (c *client) readErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// eventually polls cond until it holds or the test times out.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// noLeaks fails the test if goroutines started after it was called are
// still running once the test's cleanups have run.
func noLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		eventually(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
	})
}

// ready returns a connection with echo off and numeric errors.
func ready(t *testing.T, s *Sim) *client {
	t.Helper()
	c := dial(t, s)
	c.cmd("ATE0", "ATE0\r"+okReply)
	c.cmd("AT+CMEE=1", okReply)
	return c
}
