package webchat

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// conn is one open socket. Frames for it wait in out, written in order by
// its one writer goroutine.
type conn struct {
	ws      *websocket.Conn
	visitor string
	address string // where the socket comes from, for the address limit
	lang    string
	out     chan []byte
	gone    chan struct{} // closed when the socket is being closed
	closed  chan struct{} // closed when close's handshake is over
	// drop cancels the handler's context and closes the connection under
	// the library, close handshake or not.
	drop func()

	goneOnce sync.Once
	mu       sync.Mutex
	shown    announcement // the banner the page shows
}

func newConn(ws *websocket.Conn, visitor, address, lang string, drop func()) *conn {
	return &conn{ws: ws, visitor: visitor, address: address, lang: lang, out: make(chan []byte, outboxSize),
		gone: make(chan struct{}), closed: make(chan struct{}), drop: drop}
}

// push queues a frame without blocking. A socket whose outbox is full is
// too slow for the others to wait on: it is closed and will catch up with
// the next hello.
func (c *conn) push(frame []byte) {
	select {
	case <-c.gone:
		return
	default:
	}
	select {
	case c.out <- frame:
	default:
		c.close(websocket.StatusPolicyViolation, "too slow")
	}
}

// close starts the close handshake once, in the background: it waits for
// the peer, which must not hold up the caller.
func (c *conn) close(code websocket.StatusCode, reason string) {
	c.goneOnce.Do(func() {
		close(c.gone)
		go func() {
			defer close(c.closed)
			_ = c.ws.Close(code, reason)
		}()
	})
}

// finish ends the socket when its handler returns: it waits for a close
// handshake begun by close, or drops the connection if none was.
func (c *conn) finish() {
	begun := true
	c.goneOnce.Do(func() {
		close(c.gone)
		begun = false
	})
	if begun {
		<-c.closed
		return
	}
	_ = c.ws.CloseNow()
}

// setShown records the banner sent to the page and reports whether it
// changed.
func (c *conn) setShown(a announcement) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shown == a {
		return false
	}
	c.shown = a
	return true
}

// writeLoop writes queued frames and pings, until the socket goes or ctx
// ends.
func (c *conn) writeLoop(ctx context.Context) error {
	tick := time.NewTicker(pingInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.gone:
			return nil
		case f := <-c.out:
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := c.ws.Write(wctx, websocket.MessageText, f)
			cancel()
			if err != nil {
				return err
			}
		case <-tick.C:
			pctx, cancel := context.WithTimeout(ctx, pingTimeout)
			err := c.ws.Ping(pctx)
			cancel()
			if err != nil {
				return err
			}
		}
	}
}

// hub knows every open socket of this instance by visitor.
type hub struct {
	mu       sync.Mutex
	visitors map[string]map[*conn]struct{}
	count    int // sockets registered
	max      int
	// perAddress caps the sockets of one client address, so one client
	// cannot hold every socket of the instance (and lock everyone out).
	addresses  map[string]int
	perAddress int
	closed     bool
	wg         sync.WaitGroup // sockets being served
}

func newHub(maxSockets, perAddress int) *hub {
	return &hub{visitors: map[string]map[*conn]struct{}{}, max: maxSockets, addresses: map[string]int{}, perAddress: perAddress}
}

// errHubFull and errHubClosed say why add refused a socket.
var (
	errHubClosed = errors.New("webchat: shutting down")
	errHubFull   = errors.New("webchat: too many sockets")
	errAddrFull  = errors.New("webchat: too many sockets from this address")
)

// add registers c, unless the hub is shut down or holds its maximum.
func (h *hub) add(c *conn) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return errHubClosed
	}
	if h.count >= h.max {
		return errHubFull
	}
	if h.addresses[c.address] >= h.perAddress {
		return errAddrFull
	}
	h.addresses[c.address]++
	h.count++
	set := h.visitors[c.visitor]
	if set == nil {
		set = map[*conn]struct{}{}
		h.visitors[c.visitor] = set
	}
	set[c] = struct{}{}
	h.wg.Add(1)
	return nil
}

func (h *hub) remove(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set, ok := h.visitors[c.visitor]
	if !ok {
		return
	}
	if _, ok := set[c]; !ok {
		return
	}
	delete(set, c)
	if len(set) == 0 {
		delete(h.visitors, c.visitor)
	}
	if h.addresses[c.address]--; h.addresses[c.address] <= 0 {
		delete(h.addresses, c.address)
	}
	h.count--
	h.wg.Done()
}

// broadcast queues frame on every socket of visitor.
func (h *hub) broadcast(visitor string, frame []byte) {
	for _, c := range h.conns(visitor) {
		c.push(frame)
	}
}

// conns returns the sockets of visitor, or every socket for "".
func (h *hub) conns(visitor string) []*conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*conn
	for v, set := range h.visitors {
		if visitor != "" && v != visitor {
			continue
		}
		for c := range set {
			out = append(out, c)
		}
	}
	return out
}

// shutdown refuses new sockets, closes every open one with code and waits
// until they are done. It returns how many it closed.
func (h *hub) shutdown(code websocket.StatusCode, reason string) int {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	all := h.conns("")
	for _, c := range all {
		c.close(code, reason)
	}
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(closeGrace):
		// A peer that does not answer the close handshake (a phone
		// gone off the network) is dropped rather than waited for: the
		// whole gateway's stop is waiting on this.
		for _, c := range all {
			c.drop()
		}
		<-done
	}
	return len(all)
}

// hijackRecorder keeps the connection the WebSocket library takes over,
// so a stop can close it outright when the page does not answer the close
// handshake.
type hijackRecorder struct {
	http.ResponseWriter
	conn net.Conn
}

// Hijack hands the connection to the library and keeps a reference.
func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	h.conn = c
	return c, rw, err
}
