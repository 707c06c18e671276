package modemtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

const (
	ctrlZ   = 0x1A // ends the PDU after the AT+CMGS prompt
	esc     = 0x1B // abandons it
	maxLine = 1024 // longer command lines are answered ERROR
)

// pending is a response withheld by Hold or Delay.
type pending struct {
	release <-chan struct{} // Hold; nil once released or when none
	delay   time.Duration   // Delay, counted from the release
	timer   *time.Timer
	body    string // framed information text
	final   string // final result code, framed when written
}

// conn is one connection being served: what the modem has read but not
// yet acted on. Modem state lives in Sim.
type conn struct {
	s        *Sim
	rw       io.ReadWriter
	in       []byte // received, not yet processed
	line     []byte // command line being assembled
	overlong bool   // the line exceeded maxLine
	spoke    bool   // the host has sent something: URCs may flow
	wait     *pending
}

// deadliner is what net.Conn and *os.File offer to unblock I/O.
type deadliner interface{ SetDeadline(time.Time) error }

// Serve serves one connection until ctx ends (it then returns nil) or I/O
// fails. Modem and SIM state persist across Serve calls, as a modem's does
// across gateway restarts; one connection is served at a time (ErrBusy).
//
// Serve leaves no goroutine behind: on its way out it unblocks its reader
// with SetDeadline if rw has it (net.Conn, *os.File), and then resets the
// deadline, or else closes rw if it is an io.Closer. For other readers the
// reading goroutine ends when rw's Read returns.
func (s *Sim) Serve(ctx context.Context, rw io.ReadWriter) error {
	if err := s.attach(rw); err != nil {
		return err
	}
	defer s.detach()
	c := &conn{s: s, rw: rw}
	err := c.serve(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// presence is implemented by connections that know whether the host is
// there at all (a pty whose slave nobody has open).
type presence interface{ hostPresent() bool }

func (s *Sim) attach(rw io.ReadWriter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attached {
		return ErrBusy
	}
	s.attached = true
	s.presence = nil
	if p, ok := rw.(presence); ok {
		s.presence = p
	}
	s.urcs = nil
	select { // drop a stale wake-up
	case <-s.kick:
	default:
	}
	return nil
}

// detach forgets the host: URCs not yet written are lost with it.
func (s *Sim) detach() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attached = false
	s.presence = nil
	if len(s.urcs) > 0 {
		s.logf("modemtest: host gone, dropped %q", s.urcs)
	}
	s.urcs = nil
}

// serve runs the loop with a reading goroutine it always waits for, when
// it can unblock it.
func (c *conn) serve(ctx context.Context) error {
	data := make(chan []byte)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		readLoop(c.rw, data, readErr, done)
	}()

	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(interrupted)
		c.interrupt()
	})
	defer func() {
		if !stop() {
			<-interrupted
		}
		close(done)
		if c.wait != nil && c.wait.timer != nil {
			c.wait.timer.Stop()
		}
		if c.interrupt() {
			wg.Wait()
			if d, ok := c.rw.(deadliner); ok {
				_ = d.SetDeadline(time.Time{})
			}
		}
	}()
	return c.loop(ctx, data, readErr)
}

// interrupt unblocks pending reads and writes; it reports whether it could.
func (c *conn) interrupt() bool {
	if d, ok := c.rw.(deadliner); ok {
		_ = d.SetDeadline(time.Unix(1, 0))
		return true
	}
	if cl, ok := c.rw.(io.Closer); ok {
		_ = cl.Close()
		return true
	}
	return false
}

// readLoop forwards what the host writes until Read fails.
func readLoop(r io.Reader, data chan<- []byte, readErr chan<- error, done <-chan struct{}) {
	buf := make([]byte, 512)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			select {
			case data <- bytes.Clone(buf[:n]):
			case <-done:
				return
			}
		}
		if err != nil {
			readErr <- err
			return
		}
	}
}

// loop processes input, writes URCs and waits for the next event.
func (c *conn) loop(ctx context.Context, data <-chan []byte, readErr <-chan error) error {
	for {
		if err := c.processInput(); err != nil {
			return err
		}
		if err := c.flushURCs(); err != nil {
			return err
		}
		var hold <-chan struct{}
		var timer <-chan time.Time
		if c.wait != nil {
			hold = c.wait.release
			if c.wait.timer != nil {
				timer = c.wait.timer.C
			}
		}
		select {
		case b := <-data:
			c.in = append(c.in, b...)
			c.spoke = true
		case err := <-readErr:
			return fmt.Errorf("modemtest: read: %w", err)
		case <-c.s.kick:
		case <-hold:
			if err := c.released(); err != nil {
				return err
			}
		case <-timer:
			if err := c.finishWait(); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// processInput acts on received bytes until they run out or a response is
// withheld; a modem handles one command at a time and buffers the rest.
func (c *conn) processInput() error {
	for len(c.in) > 0 && c.wait == nil {
		out, p := c.step()
		if err := c.write(out); err != nil {
			return err
		}
		if p != nil {
			c.wait = p
			if p.release == nil {
				if err := c.released(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// step consumes input for one unit of work: a command line, or PDU hex
// after the prompt. It returns what to write now and any withheld response.
func (c *conn) step() ([]byte, *pending) {
	c.s.mu.Lock()
	if c.s.prompt != nil {
		defer c.s.mu.Unlock()
		return c.promptInput()
	}
	c.s.mu.Unlock()
	line, ok := c.nextLine()
	if !ok {
		return nil, nil
	}
	return c.command(line)
}

// nextLine returns the next complete non-empty command line.
func (c *conn) nextLine() (string, bool) {
	for len(c.in) > 0 {
		i := bytes.IndexAny(c.in, "\r\n")
		chunk := c.in
		if i >= 0 {
			chunk = c.in[:i]
		}
		for _, b := range chunk {
			if b == ctrlZ || b == esc {
				continue // a host recovering from a prompt; no modem minds
			}
			if len(c.line) == maxLine {
				c.overlong = true
				continue
			}
			c.line = append(c.line, b)
		}
		if i < 0 {
			c.in = c.in[:0]
			return "", false
		}
		c.in = c.in[i+1:]
		line := string(c.line)
		c.line = c.line[:0]
		if len(bytes.TrimSpace([]byte(line))) > 0 || c.overlong {
			return line, true
		}
	}
	return "", false
}

// command echoes and runs one command line.
func (c *conn) command(line string) ([]byte, *pending) {
	s := c.s
	s.logf("modemtest: rx %q", line)
	s.mu.Lock()
	s.commands = append(s.commands, line)
	var out []byte
	if s.set.echo {
		out = append(append(out, line...), '\r')
	}
	overlong := c.overlong
	c.overlong = false
	s.mu.Unlock()

	if hook := s.opts.OnCommand; hook != nil && !overlong {
		if reply, handled := hook(line); handled {
			return append(out, reply...), nil
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if overlong {
		return append(out, s.finalText("ERROR")...), nil
	}
	r, isCommand := s.exec(line)
	switch {
	case !isCommand:
		return out, nil
	case r.prompt != nil:
		s.prompt = r.prompt
		return append(out, "\r\n> "...), nil
	}
	return c.respond(out, line, r)
}

// promptInput reads PDU hex after the AT+CMGS prompt, echoing it, until
// Ctrl-Z submits or ESC abandons; s.mu is held.
func (c *conn) promptInput() ([]byte, *pending) {
	s := c.s
	p := s.prompt
	var echo []byte
	for i, b := range c.in {
		switch b {
		case ctrlZ:
			c.in = c.in[i+1:]
			s.prompt = nil
			s.logf("modemtest: rx PDU %q", p.hex)
			return c.respond(echo, p.line, s.submit(p))
		case esc:
			c.in = c.in[i+1:]
			s.prompt = nil
			s.logf("modemtest: rx ESC, AT+CMGS abandoned")
			return append(echo, s.finalText("OK")...), nil
		}
		if s.set.echo {
			echo = append(echo, b)
		}
		if len(p.hex) == maxPDUHex {
			p.overflow = true
			continue
		}
		p.hex = append(p.hex, b)
	}
	c.in = c.in[:0]
	return echo, nil
}

// respond frames a result after out, or withholds it as Hold and Delay ask;
// s.mu is held.
func (c *conn) respond(out []byte, line string, r result) ([]byte, *pending) {
	body := ""
	if len(r.lines) > 0 {
		body = frame(r.lines...)
	}
	if p := c.s.takeWait(line); p != nil {
		p.body, p.final = body, r.final
		return out, p
	}
	return append(append(out, body...), c.s.finalText(r.final)...), nil
}

// finalText frames a final result code, preceded by the held URCs under
// URCBeforeFinal; s.mu is held.
func (s *Sim) finalText(final string) string {
	if s.timing != URCBeforeFinal || len(s.urcs) == 0 {
		return frame(final)
	}
	var b bytes.Buffer
	for _, u := range s.urcs {
		b.WriteString(u)
	}
	s.urcs = nil
	b.WriteString(frame(final))
	return b.String()
}

// released moves a withheld response from its hold to its delay, or
// writes it when there is no delay.
func (c *conn) released() error {
	p := c.wait
	p.release = nil
	if p.delay > 0 {
		p.timer = time.NewTimer(p.delay)
		return nil
	}
	return c.finishWait()
}

// finishWait writes the withheld response.
func (c *conn) finishWait() error {
	p := c.wait
	c.wait = nil
	c.s.mu.Lock()
	out := p.body + c.s.finalText(p.final)
	c.s.mu.Unlock()
	return c.write([]byte(out))
}

// flushURCs writes queued URCs when the host may receive them: it has
// spoken, URCs are not held for a final result, no prompt is open.
func (c *conn) flushURCs() error {
	s := c.s
	s.mu.Lock()
	if !c.spoke || s.timing != URCImmediate || s.prompt != nil || len(s.urcs) == 0 {
		s.mu.Unlock()
		return nil
	}
	var b bytes.Buffer
	for _, u := range s.urcs {
		b.WriteString(u)
	}
	s.urcs = nil
	s.mu.Unlock()
	return c.write(b.Bytes())
}

// write sends bytes to the host.
func (c *conn) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	c.s.logf("modemtest: tx %q", b)
	if _, err := c.rw.Write(b); err != nil {
		return fmt.Errorf("modemtest: write: %w", err)
	}
	return nil
}
