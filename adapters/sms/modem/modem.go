// Package modem is the GSM modem SMS provider (accounts.sms entries with
// provider: modem): a SIM in a modem on a serial port, spoken to in AT
// commands and PDU mode. It is the SMS path that still works when every
// internet provider is down. The README's "GSM modem" section has the
// wiring, docs/protocols.md §D the commands and the PDU layout; package
// at frames the dialogue, package pdu the messages.
//
// The SIM is the inbox, and nothing leaves it before hotline holds it: a
// message is deleted from the SIM (AT+CMGD) only after JetStream
// acknowledged storing it, or, for one part of a long message, after the
// part is in the hotline_modem bucket. A crash between the two reads the
// message again at the next start, and the publish's dedup id (sender,
// SMSC timestamp, index in the memory or part reference, and text: PDUs
// carry no id) stores it once, while a double-tapped "1" in one second
// stays two messages. A PDU line that does not match the
// length the modem announced was garbled on the serial line: it stays on
// the SIM for the next read rather than being stored as undecodable.
// At every start, and every poll, AT+CMGL=4 lists what is stored, so
// a message that arrived while hotline was down, or whose +CMTI was lost,
// is read too.
//
// One session owns the port at a time: it opens the device, runs the
// start-up commands, and reads until the port fails; Run opens it again
// with backoff, since a USB modem that resets vanishes and comes back.
// A wrong PIN or a SIM asking for its PUK stops the adapter for good,
// never retrying the PIN.
package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.bug.st/serial"

	"hotline/adapters/sms"
	"hotline/adapters/sms/modem/at"
	"hotline/bus"
	"hotline/envelope"
	"hotline/platform"
)

// Bucket keeps what the modem adapters must not lose between steps: the
// parts of long messages waiting for the rest, and which reply each
// message reference belongs to, for status reports.
const Bucket = "hotline_modem"

// Deps are the adapter's collaborators.
type Deps struct {
	Bus    *bus.Bus
	Logger *slog.Logger
	// Registry exports the modem's metrics; nil keeps them private.
	Registry prometheus.Registerer
	Now      func() time.Time
	// Open opens the device; nil opens it as a serial port.
	Open func(device string, baud int) (io.ReadWriteCloser, error)
	// Retry bounds the backoff between attempts to open the device
	// (1 s doubling to 30 s when zero).
	RetryMin, RetryMax time.Duration
	// Timeouts of a command and of a send (package at's defaults, 10 s
	// and 90 s, when zero).
	CommandTimeout, SendTimeout time.Duration
}

// Adapter receives and sends SMS through one modem.
type Adapter struct {
	cfg    Config
	bus    *bus.Bus
	kv     jetstream.KeyValue
	log    *slog.Logger
	now    func() time.Time
	open   func(device string, baud int) (io.ReadWriteCloser, error)
	retry  [2]time.Duration
	atOpts at.Options // timeouts for each session's Conn
	// pinTried is set once the PIN was sent to the SIM: never twice.
	pinTried atomic.Bool
	// reportMemory is a memory other than Memory where the modem keeps
	// status reports ("SR"), once an indication named it: swept too.
	reportMemory atomic.Pointer[string]
	optouts      sms.OptOuts
	limiter      *sms.InboundLimiter
	metrics      metrics

	mu   sync.Mutex
	conn *at.Conn // the running session's, nil while down
	// endSession ends the running session, so a send that broke the
	// dialogue (a timeout) has the port reopened at once.
	endSession func()
	health     Health
}

// New checks cfg and builds the adapter; it does not touch the device,
// so a missing modem does not stop the gateway from starting.
func New(ctx context.Context, cfg Config, deps Deps) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, platform.Prefixed("modem "+cfg.Account+": ", err)
	}
	if deps.Bus == nil {
		return nil, fmt.Errorf("modem %s: a bus is required", cfg.Account)
	}
	kv, err := deps.Bus.EnsureBucket(ctx, bus.BucketSpec{Name: Bucket, History: 1, ExpireWithSessions: true,
		Description: "GSM modems: parts of long messages waiting for the rest, message references for status reports"})
	if err != nil {
		return nil, fmt.Errorf("modem %s: %w", cfg.Account, err)
	}
	cfg = cfg.withDefaults()
	rt := platform.NewRuntime(deps.Logger, nil, deps.Now, envelope.PlatformSMS, cfg.Account)
	a := &Adapter{cfg: cfg, bus: deps.Bus, kv: kv, log: rt.Log, now: rt.Now, open: deps.Open,
		retry:   [2]time.Duration{deps.RetryMin, deps.RetryMax},
		atOpts:  at.Options{Timeout: deps.CommandTimeout, SendTimeout: deps.SendTimeout, Log: rt.Log},
		optouts: sms.NewOptOuts(deps.Bus), limiter: sms.NewInboundLimiter(2*time.Second, 10),
		health: Health{Device: cfg.Device, State: "starting"}}
	if a.open == nil {
		a.open = openSerial
	}
	if a.retry[0] <= 0 {
		a.retry[0] = time.Second
	}
	if a.retry[1] <= 0 {
		a.retry[1] = 30 * time.Second
	}
	if a.metrics, err = newMetrics(deps.Registry, cfg.Account); err != nil {
		return nil, fmt.Errorf("modem %s: metrics: %w", cfg.Account, err)
	}
	return a, nil
}

// openSerial opens a real port. The read timeout lets the reader notice
// a stopped session even when the modem is silent.
func openSerial(device string, baud int) (io.ReadWriteCloser, error) {
	p, err := serial.Open(device, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, err
	}
	if err := p.SetReadTimeout(time.Second); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// errSendBroke ends a session whose dialogue a send broke (a timeout).
var errSendBroke = errors.New("modem: a send timed out; reopening the port")

// errStop marks a failure hotline must not retry on its own.
type errStop struct{ err error }

func (e *errStop) Error() string { return e.err.Error() }
func (e *errStop) Unwrap() error { return e.err }

// Run keeps a session with the modem until ctx ends: it opens the device,
// and when the port fails, opens it again with backoff. It returns nil
// even when the SIM refuses its PIN, after saying so: one modem must not
// stop the gateway's other channels.
func (a *Adapter) Run(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		began := a.now()
		err := a.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if stop := (*errStop)(nil); errors.As(err, &stop) {
			a.setDown("stopped", err)
			a.log.Error("modem stopped; fix the setting and restart hotline", "device", a.cfg.Device, "err", err)
			<-ctx.Done()
			return nil
		}
		if a.now().Sub(began) > time.Minute {
			attempt = 1 // it worked for a while: this is a new failure
		}
		wait := bus.Backoff(attempt, a.retry[0], a.retry[1])
		a.setDown("reopening", err)
		a.log.Warn("modem unavailable; opening it again", "device", a.cfg.Device, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// session is one life of the port: open, start, then serve indications
// and polls until the port fails or ctx ends.
func (a *Adapter) session(ctx context.Context) error {
	port, err := a.open(a.cfg.Device, a.cfg.Baud)
	if err != nil {
		return fmt.Errorf("modem: open %s: %w", a.cfg.Device, err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		<-ctx.Done()
		port.Close() // unblocks the reader
	}()
	// A gateway that died while typing a PDU left the modem waiting for
	// its end; ESC cancels that, and is ignored otherwise.
	if _, err := port.Write([]byte{0x1B, '\r'}); err != nil {
		return fmt.Errorf("modem: write %s: %w", a.cfg.Device, err)
	}
	if err := settle(ctx, port); err != nil {
		return fmt.Errorf("modem: flush %s: %w", a.cfg.Device, err)
	}
	urcs := make(chan at.URC, 64)
	opts := a.atOpts
	opts.URC = func(u at.URC) {
		select {
		case urcs <- u:
		default:
			// The message stays on the SIM; the next poll lists it.
			a.log.Warn("modem indication dropped: too many waiting", "urc", u.Name)
		}
	}
	conn := at.New(port, opts)
	go func() { _ = conn.Run(ctx) }()
	if err := a.start(ctx, conn); err != nil {
		return err
	}
	a.setUp(conn, func() { cancel(errSendBroke) })
	defer a.setConn(nil)
	a.log.Info("modem ready", "device", a.cfg.Device)
	if err := a.sweep(ctx, conn); err != nil {
		return err
	}
	poll := time.NewTicker(a.cfg.Poll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-conn.Done():
			return fmt.Errorf("modem: %s: %w", a.cfg.Device, at.ErrClosed)
		case u := <-urcs:
			err = a.indication(ctx, conn, u)
		case <-poll.C:
			err = a.poll(ctx, conn)
		}
		if err != nil {
			return err
		}
	}
}

// settleTime is how long a freshly opened port is left to answer the
// ESC before its input is discarded; modems answer within tens of ms.
const settleTime = 200 * time.Millisecond

// settle waits settleTime, then discards what the port received: the
// modem's answer to the ESC, or a late answer to the command whose
// timeout ended the previous session. Either, read as the answer to the
// first command of this session, would shift every answer after it by
// one command. A port that cannot discard its input (a test's pipe) is
// left as it is.
func settle(ctx context.Context, port io.ReadWriteCloser) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(settleTime):
	}
	if f, ok := port.(interface{ ResetInputBuffer() error }); ok {
		return f.ResetInputBuffer()
	}
	return nil
}

// portFailed reports whether err means the session is over: the port
// failed, or a timeout broke the dialogue. The modem's own refusals are
// not: the session goes on.
func portFailed(err error) bool {
	return errors.Is(err, at.ErrClosed) || errors.Is(err, at.ErrBroken) || errors.Is(err, at.ErrTimeout)
}

// current returns the running session's connection, or why there is none.
func (a *Adapter) current() (*at.Conn, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn == nil {
		return nil, errors.New(a.health.describe())
	}
	return a.conn, nil
}

func (a *Adapter) setConn(c *at.Conn) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.conn, a.endSession = c, nil
	a.metrics.up.Set(0)
}

func (a *Adapter) setUp(c *at.Conn, end context.CancelFunc) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.conn, a.endSession = c, end
	a.health.State, a.health.Error = "up", ""
	a.metrics.up.Set(1)
}

// dropSession ends the session of c if it is still the running one.
func (a *Adapter) dropSession(c *at.Conn) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn == c && a.endSession != nil {
		a.endSession()
	}
}

func (a *Adapter) setDown(state string, err error) {
	if err == nil {
		err = errors.New("the session ended")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.conn = nil
	a.health.State, a.health.Error = state, err.Error()
	a.metrics.up.Set(0)
}
