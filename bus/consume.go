package bus

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"hotline/envelope"
)

// Delivery is one stored message handed to a Handler.
type Delivery struct {
	Subject  string
	Data     []byte
	Header   nats.Header
	Attempt  int    // 1 on first delivery
	Holds    int    // times this delivery was held (Hold) and handed back
	Sequence uint64 // stream sequence
	msg      jetstream.Msg
}

// InProgress tells the server the handler is still working, resetting the
// ack timer, for handlers that wait on a slow platform.
func (d *Delivery) InProgress() error { return d.msg.InProgress() }

// Handler processes one delivery. Returning nil acknowledges it; an error
// made by Permanent sends it to hotline.dead at once; any other error asks
// for redelivery after a back-off (Retry sets the delay), until the
// consumer's MaxDeliver is reached and the message goes to hotline.dead
// with the error as its reason.
type Handler func(ctx context.Context, d *Delivery) error

type retryError struct {
	err   error
	after time.Duration
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// Retry asks for redelivery no sooner than after (a platform's
// retry-after, say).
func Retry(err error, after time.Duration) error { return &retryError{err: err, after: after} }

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks an error redelivery cannot fix (a malformed payload); the
// message goes to hotline.dead without further attempts.
func Permanent(err error) error { return &permanentError{err: err} }

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// ConsumerConfig describes one durable consumer.
type ConsumerConfig struct {
	Stream  string
	Durable string // shared by every instance, so they split the work
	// FilterSubjects limits the consumer to some subjects of the stream.
	FilterSubjects []string
	// MaxDeliver is how many times a message is tried before it goes to
	// hotline.dead. Default 5. Negative means no limit: the handler
	// decides when to give up by returning Permanent (the outbound loop
	// does, because waiting out an outage must not use up attempts).
	MaxDeliver int
	// AckWait is how long the server waits without a word from this
	// instance before it sends a delivery again (to whichever instance
	// pulls next). While a handler runs, the ack timer is restarted
	// every AckWait/2, so it only has to outlast a crashed or cut-off
	// instance, not the slowest handler. Default 30s.
	AckWait time.Duration
	// HandlerTimeout bounds one handler call. Default AckWait.
	HandlerTimeout time.Duration
	// Exclusive pins the consumer to one client at a time (a JetStream
	// priority group with the pinned-client policy): whichever
	// instances pull, the server delivers to one of them, so the
	// consumer's messages are handled in order by one instance. Another
	// instance takes over when the pinned one stops (Consume unpins on
	// the way out) or goes quiet for longer than AckWait plus a pull's
	// lifetime, by which time everything the quiet one had taken is due
	// for redelivery and goes first. See Own.
	Exclusive bool
	// Workers handle deliveries concurrently. Default 1, which keeps each
	// consumer's messages in stream order.
	Workers int
	// PartitionHeader, when set with several workers, sends every
	// message with the same value of this header to the same worker, so
	// one conversation's messages are handled in order while different
	// conversations run in parallel. The order holds within one
	// instance and for first deliveries: a message that is retried later
	// is overtaken by the ones after it.
	PartitionHeader string
	// Backoff gives the delay before attempt n+1 after attempt n failed
	// without a Retry delay. Default: 1s doubling to 1m, with jitter.
	Backoff func(attempt int) time.Duration
	// Wake, for handlers that Hold deliveries, returns a channel closed
	// at the next event that may end a hold (a circuit closing, a mode
	// clearing); every held delivery is then handed back at once. Nil:
	// holds end only when their time is up.
	Wake func() <-chan struct{}
}

func (c *ConsumerConfig) setDefaults() {
	if c.MaxDeliver == 0 {
		c.MaxDeliver = 5
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.HandlerTimeout <= 0 {
		c.HandlerTimeout = c.AckWait
	}
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.Backoff == nil {
		c.Backoff = DefaultBackoff
	}
}

// DefaultBackoff doubles from 1s to at most 1m: Backoff(attempt, time.Second, time.Minute).
func DefaultBackoff(attempt int) time.Duration { return Backoff(attempt, time.Second, time.Minute) }

// Backoff is the delay after failed attempt n (from 1): first doubled
// n-1 times, at most limit, with ±20% jitter so that work failing
// together does not come back together. Every retry in hotline waits
// this way: redeliveries, sends, polls.
func Backoff(attempt int, first, limit time.Duration) time.Duration {
	d := first
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d + time.Duration(rand.Int64N(int64(d)/5*2+1)) - d/5
}

// Consume runs a durable consumer until ctx ends, then stops pulling,
// hands back what it had not started, and waits for the handlers in
// flight. Handlers get a context that outlives ctx by up to
// HandlerTimeout so that shutdown does not abort a half-done delivery. An
// Exclusive consumer then unpins, so another instance takes over at once.
func (b *Bus) Consume(ctx context.Context, cfg ConsumerConfig, h Handler) error {
	cfg.setDefaults()
	if err := envelope.ValidToken(cfg.Durable); err != nil {
		return fmt.Errorf("bus: consumer name: %w", err)
	}
	const queueDepth = 4
	maxAckPending := max(1000, cfg.Workers*(queueDepth+2))
	ccfg := jetstream.ConsumerConfig{
		Durable:        cfg.Durable,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        cfg.AckWait,
		FilterSubjects: cfg.FilterSubjects,
		// The server never gives up on a message: this loop counts
		// deliveries and moves a message to hotline.dead itself, and if
		// storing the dead letter fails it naks, so the message comes
		// back instead of being stranded.
		MaxDeliver:    -1,
		MaxAckPending: maxAckPending,
	}
	pullOpts := []jetstream.PullConsumeOpt{
		// Pull a few batches ahead of the workers, not the library's
		// default 500, so messages do not sit in a client buffer while
		// their ack timers run out (a long wait also restarts the timer,
		// see the workers below).
		jetstream.PullMaxMessages(max(8, cfg.Workers*8)),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			// Missing heartbeats after an outage are reported here and
			// are not fatal: the pull resumes once the server is back.
			// A pinned consumer answers the instances it is not pinned
			// to this way too, which is routine.
			if !errors.Is(err, jetstream.ErrPinIDMismatch) {
				b.log.Warn("consume", "consumer", cfg.Durable, "stream", cfg.Stream, "err", err)
			}
		}),
	}
	if cfg.Exclusive {
		ccfg.PriorityPolicy = jetstream.PriorityPolicyPinned
		ccfg.PriorityGroups = []string{pinGroup}
		ccfg.PinnedTTL = pinnedTTL(cfg.AckWait)
		pullOpts = append(pullOpts, jetstream.PullPriorityGroup(pinGroup), jetstream.PullExpiry(exclusivePull))
	}
	cons, err := b.js.CreateOrUpdateConsumer(ctx, cfg.Stream, ccfg)
	if err != nil {
		if ctx.Err() != nil {
			// Stopped before it started: a shutdown right after start-up
			// is not a failure, and nothing was pulled yet.
			return nil
		}
		return fmt.Errorf("bus: consumer %s on %s: %w", cfg.Durable, cfg.Stream, err)
	}
	log := b.log.With("consumer", cfg.Durable, "stream", cfg.Stream)

	// One queue per worker; without a partition header every message
	// goes to the first free worker through a shared queue.
	queues := make([]chan queued, cfg.Workers)
	shared := make(chan queued)
	for i := range queues {
		queues[i] = shared
		if cfg.PartitionHeader != "" {
			queues[i] = make(chan queued, queueDepth)
		}
	}
	var stopping atomic.Bool
	var workers, callbacks, parker sync.WaitGroup
	abort := make(chan struct{})
	handlerCtx := context.WithoutCancel(ctx)
	lot := newParking(maxAckPending/2, cfg.AckWait)
	parker.Go(func() {
		lot.run(cfg.Wake, func(q queued) {
			select {
			case queues[q.partition] <- q:
			case <-abort:
				_ = q.msg.Nak()
			}
		}, abort)
	})
	for i := range cfg.Workers {
		workers.Go(func() {
			for q := range queues[i] {
				if stopping.Load() {
					// Queued but not started: hand it back at once.
					_ = q.msg.Nak()
					continue
				}
				if time.Since(q.at) > cfg.AckWait/4 {
					// The ack timer started when the server delivered;
					// after a long wait in the queue, restart it now
					// that the work begins.
					_ = q.msg.InProgress()
				}
				b.handle(handlerCtx, cfg, h, q, lot)
			}
		})
	}
	var pin pinSeen
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		callbacks.Add(1)
		defer callbacks.Done()
		if stopping.Load() {
			// Hand it straight back so another instance, or this one
			// after a restart, takes it without waiting for AckWait.
			_ = msg.Nak()
			return
		}
		pin.note(msg)
		p := partition(msg, cfg.PartitionHeader, cfg.Workers)
		select {
		case queues[p] <- queued{msg: msg, at: time.Now(), partition: p}:
		case <-abort:
			_ = msg.Nak()
		}
	}, pullOpts...)
	stop := func() {
		stopping.Store(true)
		close(abort)
		callbacks.Wait()
		parker.Wait()
		close(shared)
		if cfg.PartitionHeader != "" {
			for _, q := range queues {
				close(q)
			}
		}
		workers.Wait()
	}
	if err != nil {
		stop()
		return fmt.Errorf("bus: consume %s: %w", cfg.Durable, err)
	}
	log.Info("consumer started", "workers", cfg.Workers)
	var ended error
	select {
	case <-ctx.Done():
	case <-b.closed:
	case <-cc.Closed():
		// The library stopped by itself (consumer deleted): say so
		// rather than stay up and deaf.
		ended = fmt.Errorf("bus: consumer %s on %s stopped by the server", cfg.Durable, cfg.Stream)
	}
	stopping.Store(true)
	cc.Drain()
	<-cc.Closed()
	stop()
	if cfg.Exclusive {
		b.unpin(cfg, pin.id())
	}
	log.Info("consumer stopped")
	return ended
}

// pinGroup is the priority group of exclusive consumers.
const pinGroup = "owner"

// exclusivePull is how long a pull request of an exclusive consumer
// lives. The pinned instance renews its pin with every pull, so this
// bounds how stale a live pin can look.
const exclusivePull = 4 * time.Second

// pinnedTTL is how long an exclusive consumer's pin outlives its holder's
// last pull: long enough that everything a crashed holder had taken is
// due for redelivery (AckWait) before anyone else is pinned.
func pinnedTTL(ackWait time.Duration) time.Duration {
	return ackWait + exclusivePull + 2*time.Second
}

// pinSeen remembers the pin id the server sent with the latest message.
type pinSeen struct{ v atomic.Value }

func (p *pinSeen) note(msg jetstream.Msg) {
	if id := msg.Headers().Get("Nats-Pin-Id"); id != "" {
		p.v.Store(id)
	}
}

func (p *pinSeen) id() string {
	id, _ := p.v.Load().(string)
	return id
}

// unpin lets another instance take an exclusive consumer now rather than
// when the pin times out. Everything this instance had taken is settled
// or handed back by then. It unpins only its own pin: one that already
// moved to another instance stays.
func (b *Bus) unpin(cfg ConsumerConfig, mine string) {
	if mine == "" {
		return // never pinned here
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	cons, err := b.js.Consumer(ctx, cfg.Stream, cfg.Durable)
	if err != nil {
		return
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return
	}
	for _, g := range info.PriorityGroups {
		if g.Group == pinGroup && g.PinnedClientID == mine {
			st, err := b.js.Stream(ctx, cfg.Stream)
			if err == nil {
				err = st.UnpinConsumer(ctx, cfg.Durable, pinGroup)
			}
			if err != nil {
				b.log.Debug("unpin", "consumer", cfg.Durable, "err", err)
			}
		}
	}
}

// queued is a delivery waiting for a worker, with when it arrived.
type queued struct {
	msg       jetstream.Msg
	at        time.Time
	partition int // index of its worker's queue
	holds     int // times it was held and handed back
}

// partition picks the worker for msg: by the hash of its partition
// header, or of its payload when the header is missing.
func partition(msg jetstream.Msg, header string, workers int) int {
	if header == "" || workers == 1 {
		return 0
	}
	h := fnv.New32a()
	if key := msg.Headers().Get(header); key != "" {
		h.Write([]byte(key))
	} else {
		h.Write(msg.Data())
	}
	return int(h.Sum32() % uint32(workers))
}

// handle runs the handler on one message and settles it: ack, nak with a
// delay, or dead letter.
func (b *Bus) handle(ctx context.Context, cfg ConsumerConfig, h Handler, q queued, lot *parking) {
	msg := q.msg
	md, err := msg.Metadata()
	if err != nil {
		// Not a JetStream message: nothing to settle.
		b.log.Error("consume: message without metadata", "subject", msg.Subject(), "err", err)
		return
	}
	attempt := int(md.NumDelivered)
	d := &Delivery{Subject: msg.Subject(), Data: msg.Data(), Header: msg.Headers(), Attempt: attempt, Holds: q.holds, Sequence: md.Sequence.Stream, msg: msg}
	if cfg.MaxDeliver > 0 && attempt > cfg.MaxDeliver {
		b.settleDead(ctx, cfg, msg, md, fmt.Sprintf("no answer after %d deliveries (handler timed out or crashed)", cfg.MaxDeliver))
		return
	}
	var woken <-chan struct{}
	if cfg.Wake != nil {
		woken = cfg.Wake()
	}
	hctx, cancel := context.WithTimeout(ctx, cfg.HandlerTimeout)
	keep := keepAlive(msg, cfg.AckWait/2)
	err = runHandler(hctx, h, d)
	keep()
	cancel()
	switch {
	case err == nil:
		if ackErr := msg.Ack(); ackErr != nil {
			b.log.Warn("consume: ack", "consumer", cfg.Durable, "seq", d.Sequence, "err", ackErr)
		}
		b.metrics.handled.WithLabelValues(cfg.Durable, "ack").Inc()
	case IsPermanent(err):
		b.settleDead(ctx, cfg, msg, md, err.Error())
	default:
		if reason := b.storage.broken(); reason != "" {
			if _, ok := asHold(err); !ok {
				// A failure while the store cannot write says nothing
				// about the message: keep it, using up no delivery, so
				// a long outage does not send it to hotline.dead.
				err = Hold(fmt.Errorf("%w (storage: %s)", err, reason), brokenHold)
			}
		}
		if hold, ok := asHold(err); ok {
			// A hold waits for an event and uses up no delivery.
			if lot.park(q, d.Sequence, hold.after, woken) {
				b.log.Debug("consume: held", "consumer", cfg.Durable, "seq", d.Sequence, "for", hold.after, "err", err)
				b.metrics.handled.WithLabelValues(cfg.Durable, "hold").Inc()
				return
			}
			_ = msg.NakWithDelay(hold.after)
			b.metrics.handled.WithLabelValues(cfg.Durable, "retry").Inc()
			return
		}
		if cfg.MaxDeliver > 0 && attempt >= cfg.MaxDeliver {
			b.settleDead(ctx, cfg, msg, md, err.Error())
			return
		}
		delay := cfg.Backoff(attempt)
		var re *retryError
		if errors.As(err, &re) && re.after > 0 {
			delay = re.after
		}
		b.log.Warn("consume: will retry", "consumer", cfg.Durable, "subject", d.Subject, "seq", d.Sequence,
			"attempt", attempt, "delay", delay, "err", err)
		_ = msg.NakWithDelay(delay)
		b.metrics.handled.WithLabelValues(cfg.Durable, "retry").Inc()
	}
}

// keepAlive restarts msg's ack timer every interval until the returned
// stop is called: a handler slower than that keeps its delivery, and the
// server does not send it to another instance meanwhile.
func keepAlive(msg jetstream.Msg, every time.Duration) (stop func()) {
	var mu sync.Mutex
	stopped := false
	var t *time.Timer
	mu.Lock()
	defer mu.Unlock()
	t = time.AfterFunc(every, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		_ = msg.InProgress()
		t.Reset(every)
	})
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		t.Stop()
	}
}

// runHandler turns a panic in a handler into an error, so one bad message
// cannot take the gateway down; it is retried and then dead-lettered like
// any other failure.
func runHandler(ctx context.Context, h Handler, d *Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v\n%s", r, debug.Stack())
		}
	}()
	return h(ctx, d)
}

// settleDead copies the message to hotline.dead with its reason and then
// terminates it. If the dead letter cannot be stored the message is
// nak'ed instead, so it is never dropped.
func (b *Bus) settleDead(ctx context.Context, cfg ConsumerConfig, msg jetstream.Msg, md *jetstream.MsgMetadata, reason string) {
	if len(reason) > 1024 {
		reason = reason[:1024]
	}
	dl := envelope.DeadLetter{
		Stream:     md.Stream,
		Subject:    msg.Subject(),
		Sequence:   md.Sequence.Stream,
		Consumer:   md.Consumer,
		Deliveries: md.NumDelivered,
		Reason:     reason,
		Headers:    msg.Headers(),
		Data:       msg.Data(),
		At:         time.Now().UTC(),
	}
	hdr := nats.Header{}
	hdr.Set(envelope.HeaderDeadReason, firstLine(reason))
	dedup := fmt.Sprintf("dead:%s:%s:%d", md.Stream, md.Consumer, md.Sequence.Stream)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := b.publishRaw(pctx, envelope.SubjectDead, dl, dedup, hdr); err != nil {
		b.log.Error("consume: dead letter not stored; will retry", "consumer", cfg.Durable, "seq", md.Sequence.Stream, "err", err)
		_ = msg.NakWithDelay(cfg.Backoff(int(md.NumDelivered)))
		b.metrics.handled.WithLabelValues(cfg.Durable, "retry").Inc()
		return
	}
	b.log.Warn("consume: moved to dead letters", "consumer", cfg.Durable, "subject", msg.Subject(),
		"seq", md.Sequence.Stream, "deliveries", md.NumDelivered, "reason", firstLine(reason))
	_ = msg.TermWithReason("dead-lettered")
	b.metrics.handled.WithLabelValues(cfg.Durable, "dead").Inc()
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
