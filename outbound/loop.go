// Package outbound is the one delivery loop every platform sender runs
// in: it consumes replies for one account from HOTLINE_OUT, applies rate
// limits, retries with backoff and the platform's retry-after, trips a
// circuit breaker when the platform is down, reroutes to SMS when
// sms_fallback is on, reports every outcome on hotline.status, and never
// sends the same reply twice. Adapters only implement Sender.
package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/time/rate"

	"hotline/bus"
	"hotline/envelope"
)

// Sender delivers one reply to its platform and returns the platform's
// receipt. Failures should be *SendError so the loop knows what to do.
type Sender interface {
	Send(ctx context.Context, r envelope.Reply) (envelope.Receipt, error)
}

// Modes is the part of the degraded-mode view the loop needs.
type Modes interface {
	// SMSFallback reports whether replies for platform/account go by SMS
	// now, and whether the gateway engaged it by itself.
	SMSFallback(platform, account string) (on, auto bool)
	// EngageAuto turns sms_fallback on for the account unless an
	// operator has decided otherwise.
	EngageAuto(ctx context.Context, platform, account, reason string) error
	// ReleaseAuto turns it off again if it was engaged automatically.
	ReleaseAuto(ctx context.Context, platform, account string) error
	// Changed returns a channel closed at the next change of any mode,
	// so replies held by sms_fallback are looked at again at once.
	Changed() <-chan struct{}
}

// PhoneBook finds the phone bound to a conversation.
type PhoneBook interface {
	Phone(ctx context.Context, conversation string) (phone string, ok bool, err error)
}

// Config tunes one account's loop. Zero values take Defaults().
type Config struct {
	Platform string
	Account  string
	// Label is how a rerouted SMS names the channel the reply was for
	// ("[<Label>] ..."); empty: Platform.
	Label string
	// AccountRate and AccountBurst bound sends for the whole account.
	AccountRate  rate.Limit
	AccountBurst int
	// RecipientRate and RecipientBurst bound sends to one user.
	RecipientRate  rate.Limit
	RecipientBurst int
	// MaxAttempts is how many failed sends a reply gets before it goes
	// to dead letters; waiting for an open circuit or a held reply does
	// not count.
	MaxAttempts int
	// MaxAge is how long a reply may wait in all, outages included.
	MaxAge time.Duration
	// Backoff gives the delay after failed attempt n.
	Backoff func(attempt int) time.Duration
	// BreakerFailures consecutive retryable failures open the circuit.
	// The first probe goes BreakerProbe after it opened (default 2s),
	// each failed probe doubles the wait, up to BreakerOpen.
	BreakerFailures uint32
	BreakerProbe    time.Duration
	BreakerOpen     time.Duration
	// HoldRecheck is how often a reply held for sms_fallback (its user
	// has no bound phone) is looked at again when no mode changes; a
	// change of mode or circuit wakes it at once.
	HoldRecheck time.Duration
	Workers     int
	// AckWait bounds one delivery attempt (the send and its
	// bookkeeping). The consumer's own ack wait is at most
	// crashTakeover: it is how long a crashed instance's account waits
	// before another instance takes it over, and a running send keeps
	// its delivery alive meanwhile.
	AckWait time.Duration
	// SMSAccount carries fallback replies; empty disables rerouting.
	SMSAccount string
	// AutoFallback engages sms_fallback when the circuit opens.
	AutoFallback bool
}

// Defaults returns what a loop runs with where its Config is zero. The
// send rates are generous on purpose: each platform's documented limits
// come from its descriptor (platform.Platform.Limits) through the wiring,
// so a loop built without them is never the bottleneck of a test.
func Defaults() Config {
	return Config{
		AccountRate: 200, AccountBurst: 200, RecipientRate: 10, RecipientBurst: 10,
		MaxAttempts: 8, MaxAge: 24 * time.Hour, BreakerFailures: 5, BreakerProbe: time.Second, BreakerOpen: 8 * time.Second,
		HoldRecheck: 30 * time.Second, Workers: 4, AckWait: time.Minute,
	}
}

func (c *Config) fill() {
	d := Defaults()
	if c.AccountRate == 0 {
		c.AccountRate, c.AccountBurst = d.AccountRate, d.AccountBurst
	}
	if c.RecipientRate == 0 {
		c.RecipientRate, c.RecipientBurst = d.RecipientRate, d.RecipientBurst
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = d.MaxAttempts
	}
	if c.MaxAge <= 0 {
		c.MaxAge = d.MaxAge
	}
	if c.BreakerFailures == 0 {
		c.BreakerFailures = d.BreakerFailures
	}
	if c.BreakerOpen <= 0 {
		c.BreakerOpen = d.BreakerOpen
	}
	if c.BreakerProbe <= 0 {
		c.BreakerProbe = d.BreakerProbe
	}
	if c.HoldRecheck <= 0 {
		c.HoldRecheck = d.HoldRecheck
	}
	if c.Workers <= 0 {
		c.Workers = d.Workers
	}
	if c.AckWait <= 0 {
		c.AckWait = d.AckWait
	}
	if c.Backoff == nil {
		c.Backoff = defaultBackoff
	}
}

// defaultBackoff doubles from 1s to 5m with ±20% jitter.
func defaultBackoff(attempt int) time.Duration {
	return bus.Backoff(attempt, time.Second, 5*time.Minute)
}

// Deps are the loop's collaborators. Modes and Phones may be nil: no
// SMS fallback then.
type Deps struct {
	Bus     *bus.Bus
	Sender  Sender
	Modes   Modes
	Phones  PhoneBook
	Metrics *Metrics
	Logger  *slog.Logger
	Now     func() time.Time
}

// Loop delivers one account's replies.
type Loop struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	now     func() time.Time
	sent    jetstream.KeyValue
	breaker *circuit
	account *rate.Limiter
	m       *Metrics
	changes chan stateChange

	// woken is closed and replaced when the circuit or a mode changes:
	// the consumer then hands every held reply back at once.
	wakeMu sync.Mutex
	woken  chan struct{}

	mu         sync.Mutex
	recipients map[string]*recipientLimiter
	pruned     time.Time
}

type recipientLimiter struct {
	lim  *rate.Limiter
	used time.Time
}

// New builds a loop for cfg.Platform/cfg.Account.
func New(cfg Config, deps Deps) (*Loop, error) {
	if err := envelope.ValidToken(cfg.Platform); err != nil {
		return nil, fmt.Errorf("outbound: platform: %w", err)
	}
	if err := envelope.ValidToken(cfg.Account); err != nil {
		return nil, fmt.Errorf("outbound: account: %w", err)
	}
	if deps.Bus == nil || deps.Sender == nil {
		return nil, errors.New("outbound: bus and sender are required")
	}
	cfg.fill()
	l := &Loop{cfg: cfg, deps: deps, log: deps.Logger, now: deps.Now, m: deps.Metrics,
		recipients: map[string]*recipientLimiter{}, changes: make(chan stateChange, 16), woken: make(chan struct{})}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.log = l.log.With("component", "outbound", "platform", cfg.Platform, "account", cfg.Account)
	if l.now == nil {
		l.now = time.Now
	}
	if l.m == nil {
		l.m = NewMetrics(nil)
	}
	l.sent = deps.Bus.KV(bus.BucketSent)
	l.account = rate.NewLimiter(cfg.AccountRate, cfg.AccountBurst)
	l.breaker = newCircuit(cfg.Platform+"/"+cfg.Account, cfg.BreakerFailures, cfg.BreakerProbe, cfg.BreakerOpen,
		// Only failures that say the platform is unwell count: a 429 or
		// a bad recipient is a platform that answered.
		func(err error) bool { return err == nil || classify(err).Kind != Retryable },
		func(err error) bool { return errors.Is(err, context.Canceled) },
		l.now,
		// Called under the breaker's lock: hand the change to Run.
		func(from, to gobreaker.State) {
			select {
			case l.changes <- stateChange{from, to}:
			default:
			}
			l.wake()
		})
	l.m.circuit.WithLabelValues(cfg.Platform, cfg.Account).Set(0)
	return l, nil
}

// OwnGroup is the name the instances share the delivery loops under
// (bus.Own): one instance at a time sends for an account, so the
// account's send rate holds cluster-wide.
const OwnGroup = "outbound"

// crashTakeover bounds the consumer's ack wait (see Config.AckWait).
const crashTakeover = 10 * time.Second

// Durable is the consumer name of this account's loop.
func (l *Loop) Durable() string { return "out-" + l.cfg.Platform + "-" + l.cfg.Account }

// CircuitState is "closed", "half-open" or "open".
func (l *Loop) CircuitState() string { return l.breaker.State().String() }

// Run delivers until ctx ends.
func (l *Loop) Run(ctx context.Context) error {
	subject, err := envelope.OutSubject(l.cfg.Platform, l.cfg.Account)
	if err != nil {
		return err
	}
	go l.followCircuit(ctx)
	if l.deps.Modes != nil {
		go l.followModes(ctx)
	}
	return l.deps.Bus.Consume(ctx, bus.ConsumerConfig{
		Stream:          bus.StreamOut,
		Durable:         l.Durable(),
		FilterSubjects:  []string{subject},
		MaxDeliver:      -1, // the loop decides when to give up
		AckWait:         min(l.cfg.AckWait, crashTakeover),
		HandlerTimeout:  l.cfg.AckWait,
		Workers:         l.cfg.Workers,
		PartitionHeader: envelope.HeaderConversation,
		Wake:            l.wakeup,
		// One instance sends for the account at a time: its rate
		// limits and one user's order hold across instances.
		Exclusive: true,
	}, l.handle)
}

// wake hands every held reply back to the loop: the circuit or a mode
// changed, so what they wait for may be over.
func (l *Loop) wake() {
	l.wakeMu.Lock()
	defer l.wakeMu.Unlock()
	close(l.woken)
	l.woken = make(chan struct{})
}

// wakeup returns the channel the next wake closes.
func (l *Loop) wakeup() <-chan struct{} {
	l.wakeMu.Lock()
	defer l.wakeMu.Unlock()
	return l.woken
}

// followModes wakes held replies whenever a mode changes: an operator
// clearing sms_fallback releases the replies it held at once.
func (l *Loop) followModes(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.deps.Modes.Changed():
			l.wake()
		}
	}
}

// followCircuit reports circuit changes and engages or releases the
// automatic SMS fallback.
func (l *Loop) followCircuit(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ch := <-l.changes:
			st := ch.to
			l.m.circuit.WithLabelValues(l.cfg.Platform, l.cfg.Account).Set(float64(circuitValue(st)))
			l.log.Warn("circuit "+st.String(), "circuit", st.String())
			if l.deps.Modes == nil || !l.cfg.AutoFallback || l.cfg.Platform == envelope.PlatformSMS {
				continue
			}
			var err error
			switch {
			case st == gobreaker.StateOpen && ch.from == gobreaker.StateClosed:
				// A failed half-open probe (half-open → open) tells the
				// mode store nothing new.
				err = l.deps.Modes.EngageAuto(ctx, l.cfg.Platform, l.cfg.Account,
					fmt.Sprintf("%s/%s failed %d times in a row", l.cfg.Platform, l.cfg.Account, l.cfg.BreakerFailures))
			case st == gobreaker.StateClosed:
				err = l.deps.Modes.ReleaseAuto(ctx, l.cfg.Platform, l.cfg.Account)
			}
			if err != nil {
				l.log.Error("automatic sms_fallback", "circuit", st.String(), "err", err)
			}
		}
	}
}

type stateChange struct{ from, to gobreaker.State }

func circuitValue(s gobreaker.State) int {
	switch s {
	case gobreaker.StateHalfOpen:
		return 1
	case gobreaker.StateOpen:
		return 2
	}
	return 0
}

// RerouteCause says why a reply went by SMS instead of its platform.
// envelope.Status has no field for it, so the rerouted status event
// (hotline.status.<platform>.<account>) carries it at the start of its
// Error field, followed by "; to <sms account>":
//
//	sms_fallback: operator; to sms-main
//
// The causes are stable strings, none a prefix of another; read them back
// with RerouteCauseOf rather than by matching the whole text.
type RerouteCause string

// Causes of a reroute.
const (
	// RerouteOperator: an operator set sms_fallback for the account.
	RerouteOperator RerouteCause = "sms_fallback: operator"
	// RerouteAuto: sms_fallback was engaged automatically (by this or
	// another instance) and this loop's circuit is open.
	RerouteAuto RerouteCause = "sms_fallback: auto"
	// RerouteWindowClosed: the platform, up, refused the reply for good
	// because its reply window with the user closed (ReasonWindowClosed),
	// and sms_fallback was on (operator or auto).
	RerouteWindowClosed RerouteCause = "sms_fallback: window_closed"
)

// RerouteCauseOf returns the cause a rerouted status event records; ok is
// false for any other event, or one from before causes were recorded
// ("sms_fallback to <account>").
func RerouteCauseOf(st envelope.Status) (cause RerouteCause, ok bool) {
	if st.State != envelope.StateRerouted {
		return "", false
	}
	head, _, _ := strings.Cut(st.Error, ";")
	switch c := RerouteCause(head); c {
	case RerouteOperator, RerouteAuto, RerouteWindowClosed:
		return c, true
	}
	return "", false
}

var (
	errHeld        = errors.New("held: sms_fallback is on and the user has no bound phone")
	errCircuitOpen = errors.New("circuit open: platform is failing")
)

// sentMark is stored under s.<reply id> once a reply left.
type sentMark struct {
	State         envelope.DeliveryState `json:"state"`
	PlatformMsgID string                 `json:"platform_msg_id,omitempty"`
	At            time.Time              `json:"at"`
}

func (l *Loop) handle(ctx context.Context, d *bus.Delivery) error {
	var rep envelope.Reply
	if err := envelope.Decode(d.Data, &rep); err != nil {
		return bus.Permanent(fmt.Errorf("outbound: %w", err))
	}
	sent, err := l.deps.Bus.WasSent(ctx, rep.ID)
	if err != nil {
		return bus.Retry(err, 5*time.Second)
	}
	if sent {
		l.m.outcomes.WithLabelValues(l.cfg.Platform, l.cfg.Account, "duplicate").Inc()
		return nil
	}
	if !rep.OptOutConfirmation {
		opted, err := l.deps.Bus.OptedOut(ctx, rep.Conversation)
		if err != nil {
			return bus.Retry(err, 5*time.Second) // unknown is not "no"
		}
		if opted {
			return l.giveUp(ctx, &rep, 0, envelope.StateDead, "recipient opted out")
		}
	}
	if age := l.now().Sub(rep.CreatedAt); age > l.cfg.MaxAge {
		return l.giveUp(ctx, &rep, 0, envelope.StateDead, fmt.Sprintf("expired: not delivered within %s", l.cfg.MaxAge))
	}

	autoEngaged := false
	if l.deps.Modes != nil && l.cfg.Platform != envelope.PlatformSMS {
		on, auto := l.deps.Modes.SMSFallback(l.cfg.Platform, l.cfg.Account)
		autoEngaged = on && auto
		// An automatic fallback reroutes only while this loop's circuit
		// is open. Closed (after a restart, or on another instance's
		// word) or half-open, the platform gets the reply: that is the
		// probe that lets the fallback clear.
		if on && (!auto || l.breaker.State() == gobreaker.StateOpen) {
			cause := RerouteOperator
			if auto {
				cause = RerouteAuto
			}
			rerouted, err := l.reroute(ctx, &rep, cause)
			if err != nil {
				return err
			}
			if rerouted {
				return nil
			}
			if !auto {
				// An operator switched the platform to SMS: a user
				// without a phone gets the reply here once it clears.
				if d.Attempt == 1 && d.Holds == 0 {
					l.status(ctx, &rep, envelope.StateHeld, 0, "", errHeld.Error())
				}
				return bus.Hold(errHeld, l.cfg.HoldRecheck)
			}
		}
	}

	if l.breaker.State() == gobreaker.StateOpen {
		return l.waitCircuit()
	}
	if err := l.account.Wait(ctx); err != nil {
		return bus.Retry(fmt.Errorf("outbound: rate limit: %w", err), time.Second)
	}
	if res := l.reserveRecipient(rep.To.ID); res != nil {
		if wait := res.Delay(); wait > 5*time.Second {
			res.Cancel() // the token goes back; the redelivery asks again
			return bus.Retry(fmt.Errorf("outbound: recipient rate limit"), wait)
		} else if wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				res.Cancel()
				return ctx.Err()
			}
		}
	}

	attempt := 1
	if d.Attempt > 1 || d.Holds > 0 { // only a second look can have failed attempts behind it
		attempt = l.attempts(ctx, rep.ID) + 1
	}
	start := time.Now()
	receipt, err := l.breaker.Execute(func() (envelope.Receipt, error) {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return l.deps.Sender.Send(sctx, rep)
	})
	l.m.sendSeconds.WithLabelValues(l.cfg.Platform, l.cfg.Account).Observe(time.Since(start).Seconds())
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return l.waitCircuit()
	}
	if err == nil {
		l.markSent(ctx, rep.ID, sentMark{State: envelope.StateSent, PlatformMsgID: receipt.PlatformMsgID, At: l.now().UTC()})
		l.status(ctx, &rep, envelope.StateSent, attempt, receipt.PlatformMsgID, "")
		l.m.outcomes.WithLabelValues(l.cfg.Platform, l.cfg.Account, "sent").Inc()
		if autoEngaged {
			// The platform took a reply: the outage that engaged the
			// fallback is over, whichever instance engaged it.
			if err := l.deps.Modes.ReleaseAuto(ctx, l.cfg.Platform, l.cfg.Account); err != nil {
				l.log.Warn("releasing automatic sms_fallback", "err", err)
			}
		}
		return nil
	}
	se := classify(err)
	l.m.failures.WithLabelValues(l.cfg.Platform, l.cfg.Account, se.Kind.String()).Inc()
	if se.Kind == Permanent {
		if se.Reason == ReasonWindowClosed && l.deps.Modes != nil {
			if on, _ := l.deps.Modes.SMSFallback(l.cfg.Platform, l.cfg.Account); on {
				rerouted, err := l.reroute(ctx, &rep, RerouteWindowClosed)
				if err != nil {
					return err
				}
				if rerouted {
					return nil
				}
			}
		}
		return l.giveUp(ctx, &rep, attempt, envelope.StateFailed, se.Error())
	}
	if se.Kind == Throttled {
		// The platform is up and asked us to slow down: waiting uses
		// no attempt (MaxAge still bounds it).
		l.status(ctx, &rep, envelope.StateRetrying, attempt-1, "", se.Error())
		return bus.Retry(se, max(se.RetryAfter, l.cfg.Backoff(1)))
	}
	l.saveAttempts(ctx, rep.ID, attempt)
	if attempt >= l.cfg.MaxAttempts {
		return l.giveUp(ctx, &rep, attempt, envelope.StateDead, fmt.Sprintf("gave up after %d attempts: %v", attempt, se))
	}
	delay := l.cfg.Backoff(attempt)
	if se.RetryAfter > delay {
		delay = se.RetryAfter
	}
	l.status(ctx, &rep, envelope.StateRetrying, attempt, "", se.Error())
	l.log.Warn("send failed; will retry", "reply", rep.ID, "attempt", attempt, "delay", delay, "err", se)
	if se.RetryAfter > 0 {
		return bus.Retry(se, delay)
	}
	// Held rather than nak'ed: the circuit closing means the platform
	// is back, and the reply should not sit out the rest of its backoff.
	return bus.Hold(se, delay)
}

// waitCircuit holds a reply until the circuit changes or its probe is
// due; while a probe is out (half-open) only its result can end the wait.
func (l *Loop) waitCircuit() error {
	l.m.outcomes.WithLabelValues(l.cfg.Platform, l.cfg.Account, "circuit_wait").Inc()
	after := l.breaker.untilProbe()
	if after <= 0 {
		after = l.cfg.BreakerOpen
	}
	return bus.Hold(errCircuitOpen, after)
}

// giveUp reports the final state and hands the reply to dead letters
// with the reason.
func (l *Loop) giveUp(ctx context.Context, rep *envelope.Reply, attempt int, state envelope.DeliveryState, reason string) error {
	l.status(ctx, rep, state, attempt, "", reason)
	l.m.outcomes.WithLabelValues(l.cfg.Platform, l.cfg.Account, "dead").Inc()
	return bus.Permanent(errors.New(reason))
}

// reroute sends the reply by SMS to the conversation's bound phone; its
// status event records the cause.
func (l *Loop) reroute(ctx context.Context, rep *envelope.Reply, cause RerouteCause) (bool, error) {
	if l.cfg.SMSAccount == "" || l.deps.Phones == nil {
		return false, nil
	}
	phone, ok, err := l.deps.Phones.Phone(ctx, rep.Conversation)
	if err != nil {
		return false, bus.Retry(fmt.Errorf("outbound: phone lookup: %w", err), 5*time.Second)
	}
	if !ok {
		return false, nil
	}
	sms := *rep
	sms.ID = envelope.DeriveID(rep.ID, "sms-fallback")
	sms.Platform, sms.Account = envelope.PlatformSMS, l.cfg.SMSAccount
	sms.Conversation = envelope.ConversationKey(envelope.PlatformSMS, l.cfg.SMSAccount, phone)
	sms.To = envelope.Party{ID: phone, Phone: phone}
	sms.Text = "[" + l.channelName(rep) + "] " + rep.Text
	sms.Buttons, sms.Dir = nil, ""
	sms.Rerouted = rep.Platform + "/" + rep.Account
	// The phone may have opted out of SMS even if the chat did not: a
	// copy never carries the confirmation mark, so the SMS loop checks
	// the phone's own opt-out before sending.
	sms.OptOutConfirmation = false
	if _, err := l.deps.Bus.PublishReply(ctx, &sms); err != nil {
		return false, bus.Retry(fmt.Errorf("outbound: reroute: %w", err), 5*time.Second)
	}
	l.markSent(ctx, rep.ID, sentMark{State: envelope.StateRerouted, PlatformMsgID: sms.ID, At: l.now().UTC()})
	l.status(ctx, rep, envelope.StateRerouted, 0, "", string(cause)+"; to "+sms.Account)
	l.m.outcomes.WithLabelValues(l.cfg.Platform, l.cfg.Account, "rerouted").Inc()
	return true, nil
}

// channelName is how an SMS names the channel a rerouted reply was for.
// WhatsApp rides on the SMS provider's account; its address says so.
func (l *Loop) channelName(rep *envelope.Reply) string {
	if strings.HasPrefix(rep.To.ID, "whatsapp:") {
		return "WhatsApp"
	}
	if l.cfg.Label != "" {
		return l.cfg.Label
	}
	return rep.Platform
}

// reserveRecipient takes a token from the recipient's bucket. The caller
// waits its Delay or cancels it.
func (l *Loop) reserveRecipient(to string) *rate.Reservation {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.pruned) > time.Minute {
		l.pruned = now
		for k, r := range l.recipients {
			if now.Sub(r.used) > 10*time.Minute {
				delete(l.recipients, k)
			}
		}
	}
	r, ok := l.recipients[to]
	if !ok {
		r = &recipientLimiter{lim: rate.NewLimiter(l.cfg.RecipientRate, l.cfg.RecipientBurst)}
		l.recipients[to] = r
	}
	r.used = now
	res := r.lim.Reserve()
	if !res.OK() {
		return nil
	}
	return res
}

// markSent records the reply as gone before the message is acked, so a
// redelivery finds it. It tries hard, on a context of its own: the send
// already happened, and failing here risks a second one.
func (l *Loop) markSent(ctx context.Context, id string, m sentMark) {
	data, _ := json.Marshal(m)
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for i := range 3 {
		err := l.deps.Bus.MarkSent(mctx, id, data)
		if err == nil {
			return
		}
		if i == 2 {
			l.log.Error("recording a sent reply failed; a redelivery may send it again", "reply", id, "err", err)
			return
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-mctx.Done():
		}
	}
}

func (l *Loop) attempts(ctx context.Context, id string) int {
	e, err := l.sent.Get(ctx, bus.AttemptsKey(id))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(string(e.Value()))
	return n
}

func (l *Loop) saveAttempts(ctx context.Context, id string, n int) {
	if _, err := l.sent.Put(ctx, bus.AttemptsKey(id), []byte(strconv.Itoa(n))); err != nil {
		l.log.Warn("recording attempts", "reply", id, "err", err)
	}
}

// status publishes a delivery event without waiting for the stream;
// losing one is logged, not fatal.
func (l *Loop) status(ctx context.Context, rep *envelope.Reply, state envelope.DeliveryState, attempt int, platformID, reason string) {
	st := envelope.Status{ReplyID: rep.ID, Platform: l.cfg.Platform, Account: l.cfg.Account, Conversation: rep.Conversation,
		State: state, Attempt: attempt, PlatformMsgID: platformID, Error: reason, At: l.now().UTC()}
	subject, _ := envelope.StatusSubject(l.cfg.Platform, l.cfg.Account)
	dedup := fmt.Sprintf("status:%s:%s:%d", rep.ID, state, attempt)
	if err := l.deps.Bus.PublishEvent(subject, &st, dedup); err != nil {
		l.log.Warn("status event", "reply", rep.ID, "state", state, "err", err)
	}
}
