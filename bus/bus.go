// Package bus connects hotline to NATS: it starts an embedded server when
// no cluster is configured, creates the streams and KV buckets every other
// package relies on, and offers publish-with-dedup and a durable consume
// loop with retries and dead letters.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Config says where NATS is and how streams are sized.
type Config struct {
	// URL of a NATS cluster (nats://a:4222,nats://b:4222). Empty starts
	// an embedded server.
	URL string
	// StoreDir is where the embedded server keeps JetStream data.
	StoreDir string
	// Listen is the embedded server's client address (127.0.0.1:4222).
	// Empty keeps it in-process: no port is opened.
	Listen string
	// Replicas of every stream and bucket; 1 on a single server.
	Replicas int
	// Streams holds per-stream limits keyed by in, out, handoff, review,
	// status, dead and audit.
	Streams map[string]StreamLimits
	// SessionTTL is how long an idle conversation is kept; 0 keeps it.
	SessionTTL time.Duration
	// SeenTTL is how long an inbound message's platform id is
	// remembered, so a replay after the stream's duplicate window is
	// still recognized. Default DefaultSeenTTL.
	SeenTTL time.Duration
	// Name identifies this client to the server (shown by nats-server).
	Name string
	// MediaMaxBytes bounds the hotline_media object store: 0 takes
	// DefaultMediaMaxBytes, < 0 means no byte limit.
	MediaMaxBytes int64
}

// DefaultSeenTTL outlasts every platform's retries (some retry for about
// a day) with room to spare.
const DefaultSeenTTL = 48 * time.Hour

func (c Config) seenTTL() time.Duration {
	if c.SeenTTL <= 0 {
		return DefaultSeenTTL
	}
	return c.SeenTTL
}

func (c Config) replicas() int {
	if c.Replicas < 1 {
		return 1
	}
	return c.Replicas
}

// Deps are the bus's collaborators.
type Deps struct {
	Logger   *slog.Logger
	Registry prometheus.Registerer // nil: metrics are kept but not exported
}

// Bus is a live NATS connection with hotline's topology in place.
type Bus struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	srv     *server.Server // nil when connected to a cluster
	// storeLock keeps another process's embedded server off the store
	// while srv runs.
	storeLock *storeLock
	srvOpts   *server.Options
	nc        *nats.Conn
	js        jetstream.JetStream
	kv        map[string]jetstream.KeyValue
	objs      map[string]jetstream.ObjectStore
	// own are the buckets adapters asked for (EnsureBucket), after
	// Open, so guarded.
	ownMu   sync.RWMutex
	own     map[string]jetstream.KeyValue
	closed  chan struct{}
	storage *storage
	// instance names this process among the gateways sharing the NATS
	// (see Own); shares is the fraction of each group it owns.
	instance string
	shareMu  sync.Mutex
	shares   map[string]float64

	stopWatch func() // stops the storage watchdog and waits for it
	closeOnce sync.Once
	closeErr  error
}

// Open starts or connects to NATS and makes sure every stream and bucket
// exists. Against a cluster that is not up yet it keeps trying until ctx
// ends, so hotline can start before its NATS does.
func Open(ctx context.Context, cfg Config, deps Deps) (*Bus, error) {
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := deps.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("bus: metrics: %w", err)
	}
	b := &Bus{cfg: cfg, log: log.With("component", "bus"), metrics: m, closed: make(chan struct{}), instance: newInstanceID()}
	b.storage = newStorage(b.log, m, time.Now)

	opts := b.connOptions()
	url := cfg.URL
	if url == "" {
		srv, srvOpts, lock, err := startEmbedded(cfg, log, b.storage.kick)
		if err != nil {
			return nil, fmt.Errorf("bus: embedded server: %w", err)
		}
		b.srv, b.srvOpts, b.storeLock = srv, srvOpts, lock
		opts = append(opts, nats.InProcessServer(srv))
	}
	b.nc, err = nats.Connect(url, opts...)
	if err != nil {
		b.shutdownServer()
		return nil, fmt.Errorf("bus: connect: %w", err)
	}
	b.js, err = jetstream.New(b.nc, jetstream.WithPublishAsyncErrHandler(b.asyncPublishFailed))
	if err != nil {
		b.abort()
		return nil, fmt.Errorf("bus: jetstream: %w", err)
	}
	if err := b.ensureTopologyRetrying(ctx); err != nil {
		b.abort()
		return nil, fmt.Errorf("bus: topology: %w", err)
	}
	watchCtx, cancelWatch := context.WithCancel(context.WithoutCancel(ctx))
	var watching sync.WaitGroup
	watching.Go(func() { b.watch(watchCtx) })
	b.stopWatch = func() {
		cancelWatch()
		watching.Wait()
	}
	b.log.Info("bus ready", "embedded", b.srv != nil, "streams", len(streamSpecs()), "buckets", len(b.kv))
	return b, nil
}

func (b *Bus) connOptions() []nats.Option {
	name := b.cfg.Name
	if name == "" {
		name = "hotline"
	}
	return []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1), // a gateway must never give up on its bus
		nats.ReconnectWait(time.Second),
		nats.ReconnectBufSize(8 << 20), // publishes while disconnected are buffered, then flushed
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			b.metrics.connected.Set(0)
			if err != nil { // nil on our own Close or Drain
				b.log.Warn("nats disconnected; buffering publishes until reconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.metrics.connected.Set(1)
			b.log.Info("nats reconnected", "server", nc.ConnectedServerName())
		}),
		nats.ConnectHandler(func(*nats.Conn) { b.metrics.connected.Set(1) }),
		nats.ClosedHandler(func(*nats.Conn) {
			b.metrics.connected.Set(0)
			close(b.closed)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			b.log.Warn("nats async error", "subject", subject, "err", err)
		}),
	}
}

func (b *Bus) ensureTopologyRetrying(ctx context.Context) error {
	wait := 200 * time.Millisecond
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := b.ensureTopology(attemptCtx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return errors.Join(err, ctx.Err())
		}
		b.log.Warn("creating streams failed; retrying", "err", err, "wait", wait)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, 10*time.Second)
	}
}

// Conn returns the core NATS connection (request/reply for passive
// replies, plain subscriptions).
func (b *Bus) Conn() *nats.Conn { return b.nc }

// JetStream returns the JetStream context.
func (b *Bus) JetStream() jetstream.JetStream { return b.js }

// KV returns one of the buckets Open created (BucketModes, ...), or nil
// for a name it did not create.
func (b *Bus) KV(bucket string) jetstream.KeyValue {
	if kv, ok := b.kv[bucket]; ok {
		return kv
	}
	b.ownMu.RLock()
	defer b.ownMu.RUnlock()
	return b.own[bucket]
}

// BucketSpec is a bucket an adapter keeps for itself: the adapter names
// its layout, the bus gives it the cluster's replicas and file storage.
type BucketSpec struct {
	Name        string
	Description string
	History     uint8
	// ExpireWithSessions gives every key the sessions' TTL
	// (nats.session_ttl): what belongs to a conversation goes with it.
	ExpireWithSessions bool
}

// EnsureBucket creates the bucket, or updates it to spec, and returns it;
// KV finds it from then on. Every instance may call it at start-up.
func (b *Bus) EnsureBucket(ctx context.Context, spec BucketSpec) (jetstream.KeyValue, error) {
	cfg := jetstream.KeyValueConfig{Bucket: spec.Name, Description: spec.Description, History: max(1, spec.History),
		Replicas: b.cfg.replicas(), Storage: jetstream.FileStorage}
	if spec.ExpireWithSessions {
		cfg.TTL = b.cfg.SessionTTL
	}
	kv, err := b.js.CreateOrUpdateKeyValue(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("bus: bucket %s: %w", spec.Name, err)
	}
	b.ownMu.Lock()
	defer b.ownMu.Unlock()
	if b.own == nil {
		b.own = map[string]jetstream.KeyValue{}
	}
	b.own[spec.Name] = kv
	return kv, nil
}

// ObjectStore returns one of the object stores Open created
// (BucketMedia), or nil for a name it did not create.
func (b *Bus) ObjectStore(bucket string) jetstream.ObjectStore { return b.objs[bucket] }

// Embedded reports whether this bus runs its own NATS server.
func (b *Bus) Embedded() bool { return b.srv != nil }

// ErrNotReady is returned by Ready while NATS is unreachable or a stream
// is missing.
var ErrNotReady = errors.New("bus: not ready")

// Ready checks that NATS is connected, that HOTLINE_IN and HOTLINE_OUT
// each have a leader with quorum, and that every other stream exists;
// /readyz serves it. It answers within groupInfoTimeout even when the
// cluster does not: a stream without a leader leaves its info request
// unanswered.
func (b *Bus) Ready(ctx context.Context) error {
	if st := b.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("%w: nats connection is %s", ErrNotReady, st)
	}
	ctx, cancel := context.WithTimeout(ctx, groupInfoTimeout)
	defer cancel()
	// Without HOTLINE_IN no webhook can be acknowledged, without
	// HOTLINE_OUT no reply goes out: a load balancer should prefer
	// another instance, or at least know.
	for _, name := range []string{StreamIn, StreamOut} {
		if err := b.streamQuorum(ctx, name); err != nil {
			return fmt.Errorf("%w: %w", ErrNotReady, err)
		}
	}
	for _, s := range streamSpecs() {
		if s.name == StreamIn || s.name == StreamOut {
			continue
		}
		if _, err := b.js.Stream(ctx, s.name); err != nil {
			return fmt.Errorf("%w: stream %s: %w", ErrNotReady, s.name, err)
		}
	}
	return nil
}

// asyncGrace bounds how long Close waits for acknowledgements of
// publishes not waited for.
const asyncGrace = 2 * time.Second

// Close drains the connection, so every subscription finishes what it
// holds and every buffered publish is flushed, then stops the embedded
// server. It returns when both are done or ctx ends.
func (b *Bus) Close(ctx context.Context) error {
	b.closeOnce.Do(func() {
		// First, so that no JetStream restart runs under the drain.
		b.stopWatch()
		// Events published without waiting (PublishEvent) get their
		// acknowledgements before the connection goes, for a moment: a
		// server that died will never send them, and the drain needs
		// its share of ctx.
		wait := time.NewTimer(asyncGrace)
		select {
		case <-b.js.PublishAsyncComplete():
		case <-wait.C:
		case <-ctx.Done():
		}
		wait.Stop()
		if err := b.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			b.closeErr = fmt.Errorf("bus: drain: %w", err)
		}
		select {
		case <-b.closed:
		case <-ctx.Done():
			b.nc.Close()
			b.closeErr = errors.Join(b.closeErr, fmt.Errorf("bus: drain: %w", ctx.Err()))
		}
		b.shutdownServer()
		b.log.Info("bus closed")
	})
	return b.closeErr
}

func (b *Bus) abort() {
	b.nc.Close()
	b.shutdownServer()
}

func (b *Bus) shutdownServer() {
	if b.srv == nil {
		return
	}
	b.srv.Shutdown()
	b.srv.WaitForShutdown()
	// Only once the server is down: until then it may still write.
	b.storeLock.release()
}

// StreamStat is what one stream holds, for status pages.
type StreamStat struct {
	Name      string `json:"name"`
	Messages  uint64 `json:"messages"`
	Bytes     uint64 `json:"bytes"`
	Consumers int    `json:"consumers"`
	// Backlog is the queue depth: for each durable consumer, what it has
	// not been handed yet plus what it holds unacknowledged. Streams keep
	// messages after they are handled, so Messages is not the queue.
	Backlog map[string]uint64 `json:"backlog,omitempty"`
}

// Stats reports every hotline stream's size and its consumers' backlog.
func (b *Bus) Stats(ctx context.Context) ([]StreamStat, error) {
	var out []StreamStat
	for _, s := range streamSpecs() {
		st, err := b.js.Stream(ctx, s.name)
		if err != nil {
			return nil, fmt.Errorf("bus: stream %s: %w", s.name, err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("bus: stream %s info: %w", s.name, err)
		}
		stat := StreamStat{Name: s.name, Messages: info.State.Msgs, Bytes: info.State.Bytes, Consumers: info.State.Consumers}
		if info.State.Consumers > 0 {
			stat.Backlog = map[string]uint64{}
			consumers := st.ListConsumers(ctx)
			for ci := range consumers.Info() {
				stat.Backlog[ci.Name] = ci.NumPending + uint64(ci.NumAckPending)
			}
			if err := consumers.Err(); err != nil {
				return nil, fmt.Errorf("bus: stream %s consumers: %w", s.name, err)
			}
		}
		out = append(out, stat)
	}
	return out, nil
}
