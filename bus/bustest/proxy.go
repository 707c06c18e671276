package bustest

import (
	"io"
	"net"
	"sync"
	"testing"
)

// proxy forwards TCP connections from its own loopback port to a target
// (none until point names it: those connections are closed at once, as
// a node that is not up yet refuses them).
// The cluster harness puts one in front of every node's client port and
// on every route between two nodes, so that Crash can cut a node off at
// once, as a killed process or a pulled cable would: its peers and
// clients lose it mid-stream, with no goodbye.
type proxy struct {
	ln net.Listener

	mu     sync.Mutex
	target string
	down   bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func newProxy(t testing.TB) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cluster: proxy: %v", err)
	}
	p := &proxy{ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.serve)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

// point sends the connections that come from now on to target.
func (p *proxy) point(target string) {
	p.mu.Lock()
	p.target = target
	p.mu.Unlock()
}

func (p *proxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Go(func() { p.forward(in) })
	}
}

// forward pipes one connection to the target until either side ends or
// the proxy is cut.
func (p *proxy) forward(in net.Conn) {
	p.mu.Lock()
	target := p.target
	p.mu.Unlock()
	if target == "" {
		in.Close()
		return
	}
	out, err := net.Dial("tcp", target)
	if err != nil {
		in.Close()
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		in.Close()
		out.Close()
		return
	}
	p.conns[in], p.conns[out] = struct{}{}, struct{}{}
	p.mu.Unlock()
	var both sync.WaitGroup
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// One side ended: end the other too.
		dst.Close()
		src.Close()
	}
	both.Go(func() { pipe(out, in) })
	both.Go(func() { pipe(in, out) })
	both.Wait()
	p.mu.Lock()
	delete(p.conns, in)
	delete(p.conns, out)
	p.mu.Unlock()
}

// cut drops every connection and refuses new ones while down; up lets
// them through again.
func (p *proxy) cut(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
	}
}

func (p *proxy) close() {
	p.cut(true)
	p.ln.Close()
	p.wg.Wait()
}
