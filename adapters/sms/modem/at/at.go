// Package at speaks the AT command language of GSM modems (ITU-T V.250,
// 3GPP TS 27.007 and TS 27.005 in PDU mode) over one serial port.
//
// The protocol gives no way to match an answer to its command: a command
// is a line ending in CR, and the modem answers with lines framed by CR LF
// until a final result code (OK, ERROR, +CMS ERROR: n, +CME ERROR: n).
// Unsolicited result codes (URCs: +CMTI for a stored message, +CDSI for a
// status report, RING, ...) can arrive at any moment, also between a
// command's answer lines and its final result; +CMT and +CDS carry a PDU
// on the line after them. The echo of the command comes back while ATE0
// has not yet turned it off, and AT+CMGS's prompt "> " has no line ending
// at all.
//
// So one goroutine, Conn.Run, reads every byte the modem sends and
// classifies each line: the echo of the pending command is dropped, a final
// result ends it, a URC (even in the middle of an answer) goes to the URC
// callback, anything else is part of the pending command's answer, and a
// line when no command is pending is noise and only logged.
//
// Invariants: one command is in flight at a time (Command and SendPDU
// serialize); every command ends with its final result, its timeout, or
// the port failing, never later. After a timeout the Conn refuses further
// commands (ErrBroken): a final result arriving late would otherwise be
// taken for the next command's, and the caller reopens the port instead.
// The reader holds at most one line of 1 KiB, whatever the modem sends.
package at

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// URC is an unsolicited result code.
type URC struct {
	// Name is the code up to its colon ("+CMTI", "RING").
	Name string
	// Args is what follows the colon, trimmed (`"SM",3`).
	Args string
	// PDU is the hex line that follows +CMT and +CDS.
	PDU string
}

// Response is what a command answered before its final OK: every line
// that was neither echo, URC nor noise, in order.
type Response struct{ Lines []string }

// Value returns what follows "prefix:" on the first line that starts with
// it ("+CSQ" → "21,99").
func (r Response) Value(prefix string) (string, bool) {
	for _, l := range r.Lines {
		if v, ok := strings.CutPrefix(l, prefix+":"); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// Options tune a Conn; the zero value works.
type Options struct {
	// Timeout bounds a command without its own (10 s).
	Timeout time.Duration
	// SendTimeout bounds AT+CMGS from the PDU to its final result: the
	// modem answers once the network has taken the message (90 s).
	SendTimeout time.Duration
	// URC is called, on the reader goroutine, for every unsolicited
	// result code. It must not block; hand the URC on.
	URC func(URC)
	// Log receives noise, stray results and timeouts at debug and warn.
	Log *slog.Logger
}

// Conn is one open port. Create it with New, run Run in a goroutine, and
// issue commands from any goroutine.
type Conn struct {
	w    io.Writer
	r    io.Reader
	opts Options
	log  *slog.Logger

	turn   chan struct{} // holds a token while a command is in flight
	cur    atomic.Pointer[pending]
	broken atomic.Bool

	done    chan struct{}
	readErr error // set before done is closed

	// Noise counts lines dropped as noise, for tests and metrics.
	noise atomic.Int64
}

// pending is the command in flight. The reader appends its answer lines
// and signals the prompt and the final result.
type pending struct {
	command string
	// shown is command as errors and logs print it: a PIN is masked.
	shown string
	// prefix is the answer prefix this command expects ("+CREG"), so a
	// line that could also be a URC counts as its answer.
	prefix     string
	wantPrompt bool

	mu     sync.Mutex
	lines  []string
	prompt chan struct{} // closed at the prompt
	final  chan error    // receives the final result, once
}

// New wraps rw, which Run reads and commands write.
func New(rw io.ReadWriter, opts Options) *Conn {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = 90 * time.Second
	}
	if opts.URC == nil {
		opts.URC = func(URC) {}
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Conn{w: rw, r: rw, opts: opts, log: log, done: make(chan struct{}), turn: make(chan struct{}, 1)}
}

// Run reads the port until it fails or ctx ends, and returns why. A read
// that returns nothing (a serial port's read timeout) is not a failure;
// it only lets Run notice ctx. To stop a Run blocked in a read, close
// the port.
func (c *Conn) Run(ctx context.Context) error {
	err := c.read(ctx)
	c.readErr = err
	close(c.done)
	return err
}

func (c *Conn) read(ctx context.Context) error {
	var lex lexer
	var cr classifier
	buf := make([]byte, 512)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := c.r.Read(buf)
		if n > 0 {
			p := c.cur.Load()
			for _, t := range lex.feed(buf[:n], p != nil && p.wantPrompt) {
				c.handle(&cr, t)
			}
		}
		if err != nil {
			return fmt.Errorf("at: read: %w", err)
		}
	}
}

// classifier remembers a +CMT or +CDS whose PDU line is still to come.
type classifier struct{ awaitingPDU *URC }

// handle routes one token: to the pending command, to the URC callback,
// or to the noise counter.
func (c *Conn) handle(cr *classifier, t token) {
	p := c.cur.Load()
	if t.prompt {
		if p != nil && p.wantPrompt {
			p.wantPrompt = false
			close(p.prompt)
			return
		}
		c.dropNoise("prompt with no AT+CMGS waiting", "> ")
		return
	}
	if t.overlong || !printable(t.line) {
		// A +CMT whose PDU line is garbled is lost either way; what
		// follows must not be taken for its PDU.
		cr.awaitingPDU = nil
		c.dropNoise("unprintable or overlong line", t.line)
		return
	}
	line := strings.TrimSpace(t.line)
	if u := cr.awaitingPDU; u != nil {
		cr.awaitingPDU = nil
		if isHex(line) {
			u.PDU = line
			c.opts.URC(*u)
			return
		}
		c.dropNoise(u.Name+" without its PDU line", line)
		// and the line is read for what it is
	}
	if p != nil && line == p.command {
		return // echo, until ATE0
	}
	if p != nil {
		if err, final := parseFinal(p.shown, line); final {
			c.finish(p, err)
			return
		}
	}
	if u, ok := parseURC(line, p); ok {
		if u.Name == "+CMT" || u.Name == "+CDS" {
			cr.awaitingPDU = &u
			return
		}
		c.opts.URC(u)
		return
	}
	if p == nil {
		if _, final := parseFinal("", line); final {
			c.log.Debug("final result with no command waiting", "line", line)
			return
		}
		c.dropNoise("line with no command waiting", line)
		return
	}
	p.mu.Lock()
	p.lines = append(p.lines, line)
	p.mu.Unlock()
}

func (c *Conn) finish(p *pending, err error) {
	if c.cur.CompareAndSwap(p, nil) {
		p.final <- err
	}
}

func (c *Conn) dropNoise(why, line string) {
	c.noise.Add(1)
	c.log.Debug("modem noise dropped", "why", why, "line", truncate(line, 64))
}

// Noise is how many lines were dropped as noise so far.
func (c *Conn) Noise() int64 { return c.noise.Load() }

// urcPrefixes are the codes that are never an answer to a command.
var urcPrefixes = []string{"+CMTI", "+CDSI", "+CMT", "+CDS", "+CBM", "+CBMI", "RING", "+CRING", "+CLIP",
	"+CUSD", "RDY", "SMS Ready", "Call Ready", "+CFUN", "+QIND", "+CIEV", "NO CARRIER"}

// answerOrURC are codes a command asks for that a modem also sends
// unsolicited (registration changes, the SIM becoming ready after boot):
// an answer while that command waits, a URC otherwise.
var answerOrURC = []string{"+CREG", "+CGREG", "+CEREG", "+CPIN", "+CSQ"}

// parseURC recognizes an unsolicited result code. "NO CARRIER" is a URC
// only when no command waits (it is then a final result, handled first).
func parseURC(line string, p *pending) (URC, bool) {
	name, args, _ := strings.Cut(line, ":")
	name = strings.TrimSpace(name)
	for _, code := range answerOrURC {
		if name == code {
			if p != nil && p.prefix == code {
				return URC{}, false
			}
			return URC{Name: name, Args: strings.TrimSpace(args)}, true
		}
	}
	for _, code := range urcPrefixes {
		if name == code {
			return URC{Name: name, Args: strings.TrimSpace(args)}, true
		}
	}
	return URC{}, false
}

func isHex(s string) bool {
	if s == "" || len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'A' || c > 'F') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// printable is true for a line of visible ASCII and tabs: what AT answers
// are made of. Anything else is line noise.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c > 0x7E {
			return false
		}
	}
	return true
}

// Command sends one command line (without CR) and waits for its final
// result: the answer lines on OK, an *Error on a refusal, or ErrTimeout,
// ErrBroken, ErrClosed or ctx's error. ctx bounds the wait for the
// command's turn; once written, a command is waited for until its final
// result or its timeout, whatever ctx does, since abandoning it would
// break the dialogue (closing the port is what stops it at once).
func (c *Conn) Command(ctx context.Context, command string) (Response, error) {
	return c.CommandTimeout(ctx, command, c.opts.Timeout)
}

// CommandTimeout is Command with its own timeout, for commands the modem
// answers slowly (listing a full SIM, registering).
func (c *Conn) CommandTimeout(ctx context.Context, command string, timeout time.Duration) (Response, error) {
	if err := c.lock(ctx); err != nil {
		return Response{}, err
	}
	defer c.unlock()
	p, err := c.start(command, false)
	if err != nil {
		return Response{}, err
	}
	return c.await(p, timeout)
}

// lock waits for the turn to send a command, or for ctx, or for the port
// to fail.
func (c *Conn) lock(ctx context.Context) error {
	select {
	case c.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return c.closedErr()
	}
	if err := ctx.Err(); err != nil { // both ready: do not start late work
		c.unlock()
		return err
	}
	return nil
}

func (c *Conn) unlock() { <-c.turn }

// SendPDU sends an SMS in PDU mode: AT+CMGS=<tpduLen>, the prompt, the
// hex PDU ended by Ctrl-Z. It returns the answer (+CMGS: <mr>). If the
// prompt does not come, or ctx ends before it, ESC cancels the command;
// once the PDU is written its result is awaited for SendTimeout whatever
// ctx does, since the network may be taking the message.
func (c *Conn) SendPDU(ctx context.Context, tpduLen int, hexPDU string) (Response, error) {
	if err := c.lock(ctx); err != nil {
		return Response{}, err
	}
	defer c.unlock()
	command := fmt.Sprintf("AT+CMGS=%d", tpduLen)
	p, err := c.start(command, true)
	if err != nil {
		return Response{}, err
	}
	timer := time.NewTimer(c.opts.Timeout)
	defer timer.Stop()
	select {
	case <-p.prompt:
	case err := <-p.final: // refused outright (+CMS ERROR: 304, SIM not ready)
		return p.answer(), err
	case <-timer.C:
		_, _ = c.w.Write([]byte{0x1B}) // ESC: do not leave the modem in text entry
		return c.timedOut(p)
	case <-ctx.Done():
		_, _ = c.w.Write([]byte{0x1B})
		return c.abandon(p, ctx.Err())
	case <-c.done:
		return Response{}, c.closedErr()
	}
	if _, err := io.WriteString(c.w, hexPDU+"\x1A"); err != nil {
		return c.abandon(p, fmt.Errorf("at: write PDU: %w", err))
	}
	return c.await(p, c.opts.SendTimeout)
}

// start registers command as pending and writes it. Callers hold mu.
func (c *Conn) start(command string, wantPrompt bool) (*pending, error) {
	if c.broken.Load() {
		return nil, ErrBroken
	}
	select {
	case <-c.done:
		return nil, c.closedErr()
	default:
	}
	p := &pending{command: command, shown: Redact(command), prefix: answerPrefix(command), wantPrompt: wantPrompt,
		prompt: make(chan struct{}), final: make(chan error, 1)}
	c.cur.Store(p)
	if _, err := io.WriteString(c.w, command+"\r"); err != nil {
		_, err = c.abandon(p, fmt.Errorf("at: write %s: %w", p.shown, err))
		return nil, err
	}
	return p, nil
}

// await waits for p's final result, its timeout, or the port failing.
func (c *Conn) await(p *pending, timeout time.Duration) (Response, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err := <-p.final:
		return p.answer(), err
	case <-timer.C:
		return c.timedOut(p)
	case <-c.done:
		return Response{}, c.closedErr()
	}
}

func (p *pending) answer() Response {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Response{Lines: p.lines}
}

// timedOut breaks the Conn: see the package invariants.
func (c *Conn) timedOut(p *pending) (Response, error) {
	res, err := c.abandon(p, fmt.Errorf("%w: %s", ErrTimeout, p.shown))
	if errors.Is(err, ErrTimeout) {
		c.log.Warn("modem command timed out; the port will be reopened", "command", p.shown)
	}
	return res, err
}

// abandon gives up on p with err. Its final result may still come, so the
// Conn is broken from now on; but if the result came in the meantime, it
// is returned instead: a message the network took is not reported failed.
func (c *Conn) abandon(p *pending, err error) (Response, error) {
	if c.cur.CompareAndSwap(p, nil) {
		c.broken.Store(true)
		return Response{}, err
	}
	final := <-p.final
	return p.answer(), final
}

func (c *Conn) closedErr() error {
	return fmt.Errorf("%w: %w", ErrClosed, c.readErr)
}

// Done is closed when Run has returned.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Broken reports whether a timeout broke the Conn.
func (c *Conn) Broken() bool { return c.broken.Load() }

// answerPrefix is the answer code a command asks for: "AT+CREG?" →
// "+CREG", "AT+CPIN?" → "+CPIN".
func answerPrefix(command string) string {
	rest, ok := strings.CutPrefix(strings.ToUpper(command), "AT")
	if !ok || !strings.HasPrefix(rest, "+") {
		return ""
	}
	end := strings.IndexAny(rest, "=?")
	if end < 0 {
		end = len(rest)
	}
	return rest[:end]
}

// Redact masks the secret in a command for logs and errors: the PIN or
// PUK of AT+CPIN, the password of AT+CLCK and AT+CPWD.
func Redact(command string) string {
	upper := strings.ToUpper(command)
	for _, prefix := range []string{"AT+CPIN=", "AT+CLCK=", "AT+CPWD="} {
		if strings.HasPrefix(upper, prefix) {
			return command[:len(prefix)] + "****"
		}
	}
	return command
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// IsModemError reports whether err is the modem's refusal (*Error), as
// opposed to a timeout or a failed port.
func IsModemError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
