package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrStorageUnavailable is wrapped by PublishInbound's error while inbound
// messages cannot be stored; the rest of the error is the reason.
var ErrStorageUnavailable = errors.New("storage unavailable")

// Storage reports whether the bus can store what users send, and if not,
// why, in words an operator can act on. /readyz serves it.
func (b *Bus) Storage() (ok bool, reason string) { return b.storage.view() }

const (
	// watchInterval is how often the watchdog looks at storage without
	// being kicked: often enough for readiness, cheap enough to ignore.
	watchInterval = 2 * time.Second
	// healMinFree is the free space the store needs before a JetStream
	// restart is worth trying: a restart on a nearly full disk breaks
	// again at the next block.
	healMinFree = 16 << 20
	// healBackoffMin and healBackoffMax bound the wait between restarts
	// that did not clear the fault.
	healBackoffMin = 2 * time.Second
	healBackoffMax = 30 * time.Second
	// failStreak unanswered inbound publishes in a row mark a cluster's
	// HOTLINE_IN as not writable; one is a slow moment, not a fault.
	failStreak = 3
	// evidenceTTL is how long a fault seen only in publish failures is
	// believed without a new failure. An instance marked not ready is
	// taken out of its load balancer and sees no more webhooks, so no
	// success could ever clear it; after this long it is ready again and
	// the next webhook tells.
	evidenceTTL = 30 * time.Second
	// brokenHold is how long a consumer keeps a delivery whose handler
	// failed while the store could not write before trying it again.
	brokenHold = 2 * time.Second
)

// JetStream error codes that mean a store refused a message by its limits.
const (
	errCodeStoreFailed           = 10077 // with "maximum bytes/messages exceeded"
	errCodeInsufficientResources = 10023
	errCodeStorageExceeded       = 10047
)

// faultKind says what is wrong with storage, which decides how the fault
// clears.
type faultKind int

const (
	faultNone faultKind = iota
	// faultFull: HOTLINE_IN refuses new messages by its own limits
	// (discard new). It clears when the stream has room again.
	faultFull
	// faultRefused: the server refuses or does not answer inbound
	// publishes (its storage limit, an unreachable or broken cluster
	// stream). Only publishes show it, so a success clears it.
	faultRefused
	// faultBroken: the embedded server cannot write (a write error, or
	// JetStream disabled by one). It never clears by itself; the
	// watchdog restarts JetStream once the store can take writes.
	faultBroken
)

func (k faultKind) String() string {
	return [...]string{"none", "full", "refused", "broken"}[k]
}

// storage is the bus's view of whether messages can be stored. Changes
// are logged once each: an Error line when storage goes bad, an Info
// line when it recovers.
type storage struct {
	log     *slog.Logger
	metrics *metrics
	now     func() time.Time
	kicks   chan struct{}

	mu     sync.Mutex
	kind   faultKind
	reason string
	refuse bool      // PublishInbound fails fast
	since  time.Time // when the current fault began
	// need is the stored size of the last message HOTLINE_IN refused
	// as full: there is room again when that much fits.
	need int64
	// streak counts inbound publishes in a row that got no answer, and
	// lastFailure is when the latest refused or unanswered one was.
	streak      int
	lastFailure time.Time
	// limits are HOTLINE_IN's, as last read, for the reason text.
	limits jetstream.StreamConfig
}

func newStorage(log *slog.Logger, m *metrics, now func() time.Time) *storage {
	m.storageOK.Set(1)
	return &storage{log: log, metrics: m, now: now, kicks: make(chan struct{}, 1)}
}

func (s *storage) view() (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kind == faultNone, s.reason
}

// refusing returns the reason inbound publishes should fail fast, or "".
func (s *storage) refusing() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse {
		return s.reason
	}
	return ""
}

// kick asks the watchdog to look now; kicks while it is busy coalesce.
func (s *storage) kick() {
	select {
	case s.kicks <- struct{}{}:
	default:
	}
}

// setLocked moves to a new state and logs the change. how says what
// cleared a fault.
func (s *storage) setLocked(kind faultKind, reason string, refuse bool, how string) {
	prev, prevReason, prevRefuse := s.kind, s.reason, s.refuse
	s.kind, s.reason, s.refuse = kind, reason, refuse
	switch {
	case prev == faultNone && kind != faultNone:
		s.since = s.now()
		s.metrics.storageOK.Set(0)
		s.log.Error("storage unavailable: not ready until it recovers", "reason", reason, "fault", kind.String(),
			"inbound", inboundFate(kind, refuse))
	case prev != faultNone && kind == faultNone:
		s.need, s.streak = 0, 0
		s.metrics.storageOK.Set(1)
		s.log.Info("storage recovered", "was", prevReason, "after", s.now().Sub(s.since).Round(time.Millisecond).String(), "how", how)
	case prev != kind || prevRefuse != refuse:
		s.log.Warn("storage fault changed", "reason", reason, "fault", kind.String(), "inbound", inboundFate(kind, refuse), "was", prevReason)
	}
}

// inboundFate says in a log line what happens to users' messages.
func inboundFate(kind faultKind, refuse bool) string {
	switch {
	case refuse:
		return "refused at once (webhooks answer 503)"
	case kind == faultFull || kind == faultRefused:
		return "refused by the server (webhooks answer 503)"
	}
	return "still stored"
}

// broken returns why the store cannot write, or "" when it can.
func (s *storage) broken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kind == faultBroken {
		return s.reason
	}
	return ""
}

func (s *storage) set(kind faultKind, reason string, refuse bool, how string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setLocked(kind, reason, refuse, how)
}

// published notes an inbound publish the stream acknowledged: whatever
// was refusing it has passed.
func (s *storage) published() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.streak = 0
	if s.kind == faultFull || s.kind == faultRefused {
		s.setLocked(faultNone, "", false, "an inbound message was stored")
	}
}

// inboundFailed classifies an inbound publish error and returns the
// reason storage is unavailable when the error shows it, else "".
// embedded says whether a watchdog reads the server's own health, which
// then is the judge of write errors.
func (s *storage) inboundFailed(err error, size int64, embedded bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var apiErr *jetstream.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeStoreFailed &&
		(strings.Contains(apiErr.Description, "maximum bytes") || strings.Contains(apiErr.Description, "maximum messages")):
		s.need = max(s.need, size)
		s.lastFailure = s.now()
		if s.kind == faultNone || s.kind == faultRefused {
			s.setLocked(faultFull, fullReason(s.limits, apiErr.Description), false, "")
		}
		return s.reason
	case errors.As(err, &apiErr) && (apiErr.ErrorCode == errCodeInsufficientResources || apiErr.ErrorCode == errCodeStorageExceeded):
		s.lastFailure = s.now()
		if s.kind == faultNone {
			s.setLocked(faultRefused, StreamIn+" cannot be written: JetStream's storage limit is reached ("+apiErr.Description+")", false, "")
		}
		return s.reason
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout), errors.Is(err, jetstream.ErrNoStreamResponse):
		s.lastFailure = s.now()
		s.streak++
		if !embedded && s.streak >= failStreak && s.kind == faultNone {
			s.setLocked(faultRefused, fmt.Sprintf("%s cannot be written: %d publishes in a row got no answer (last: %v)", StreamIn, s.streak, err), false, "")
		}
		if s.kind != faultNone {
			return s.reason
		}
	}
	return ""
}

// fullReason describes HOTLINE_IN at its limit.
func fullReason(cfg jetstream.StreamConfig, detail string) string {
	var limit []string
	if cfg.MaxBytes > 0 {
		limit = append(limit, "max_bytes "+humanBytes(cfg.MaxBytes))
	}
	if cfg.MaxMsgs > 0 {
		limit = append(limit, fmt.Sprintf("max_msgs %d", cfg.MaxMsgs))
	}
	if len(limit) == 0 {
		return StreamIn + " is full (" + detail + ")"
	}
	return StreamIn + " is full (" + strings.Join(limit, ", ") + ", discard new)"
}

func humanBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %s", int64(v), units[i])
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// inboundLimits records HOTLINE_IN's configuration and state, and
// decides whether a full stream has room again (or, with nothing
// refused yet, is at its limit already).
func (s *storage) inboundLimits(info *jetstream.StreamInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = info.Config
	full := info.Config.Discard == jetstream.DiscardNew &&
		((info.Config.MaxMsgs > 0 && info.State.Msgs >= uint64(info.Config.MaxMsgs)) ||
			(info.Config.MaxBytes > 0 && int64(info.State.Bytes)+max(s.need, 1) > info.Config.MaxBytes))
	switch {
	case full && s.kind == faultNone:
		s.setLocked(faultFull, fullReason(info.Config, "at its limit"), false, "")
	case full && s.kind == faultFull:
		s.reason = fullReason(info.Config, "at its limit") // the limit may have changed
	case !full && s.kind == faultFull:
		s.setLocked(faultNone, "", false, StreamIn+" has room again")
	}
}

// expire drops a fault seen only in publish failures once none has
// failed for evidenceTTL (see there why).
func (s *storage) expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kind == faultRefused && s.now().Sub(s.lastFailure) >= evidenceTTL {
		s.setLocked(faultNone, "", false, fmt.Sprintf("no inbound publish failed for %s", evidenceTTL))
	}
}

// watch runs the watchdog until ctx ends: every watchInterval, and at
// once when kicked (a failed inbound publish, a write error logged by
// the embedded server).
//
// Against a cluster there is no server to read or heal: faults are seen
// in inbound publishes, and their next success clears them. No probe
// publish is sent: it would have to go to HOTLINE_IN, where the router
// would take it for a user's message, and every webhook already is one.
func (b *Bus) watch(ctx context.Context) {
	heal := &healer{backoff: healBackoffMin}
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-b.storage.kicks:
		}
		b.checkStorage(ctx, heal)
	}
}

// healer is the watchdog's memory between restarts of JetStream.
type healer struct {
	next    time.Time     // no restart before then
	backoff time.Duration // wait after the next restart that does not help
	waiting bool          // "waiting for space" was logged for this fault
}

func (b *Bus) checkStorage(ctx context.Context, heal *healer) {
	if b.srv != nil {
		if reason, refuse := serverFault(b.srv); reason != "" {
			b.storage.set(faultBroken, reason, refuse, "")
			b.heal(ctx, heal)
			return
		}
		b.storage.mu.Lock()
		if b.storage.kind == faultBroken {
			b.storage.setLocked(faultNone, "", false, "write errors cleared")
		}
		b.storage.mu.Unlock()
		*heal = healer{backoff: healBackoffMin}
	}
	ictx, cancel := context.WithTimeout(ctx, watchInterval)
	defer cancel()
	if st, err := b.js.Stream(ictx, StreamIn); err == nil {
		if info, err := st.Info(ictx); err == nil {
			b.storage.inboundLimits(info)
		}
	}
	b.storage.expire()
}

// serverFault reads the embedded server's health and returns what
// cannot be written, and whether that stops inbound messages; "" when
// everything can.
func serverFault(srv *server.Server) (reason string, refuseInbound bool) {
	if !srv.JetStreamEnabled() {
		return "JetStream is disabled (after a write error): nothing can be stored", true
	}
	h := srv.Healthz(&server.HealthzOptions{Details: true})
	broken := map[string]string{}
	for _, e := range h.Errors {
		const marker = " write error: "
		if i := strings.Index(e.Error, marker); i >= 0 && e.Stream != "" {
			broken[e.Stream] = e.Error[i+len(marker):]
		}
	}
	if len(broken) == 0 {
		return "", false
	}
	names := make([]string, 0, len(broken))
	for name := range broken {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		// HOTLINE_IN first: it is what users' messages need.
		switch {
		case a == StreamIn:
			return -1
		case b == StreamIn:
			return 1
		}
		return strings.Compare(a, b)
	})
	reason = names[0] + " cannot be written: " + broken[names[0]]
	if len(names) > 1 {
		reason += " (nor can " + strings.Join(names[1:], ", ") + ")"
	}
	_, inBroken := broken[StreamIn]
	return reason, inBroken
}

// heal restarts the embedded server's JetStream when the store can take
// writes again: a stream that failed a write refuses every later one,
// even once the disk has room, until it is loaded afresh. Messages,
// buckets and consumers' positions are all kept on disk and reloaded.
func (b *Bus) heal(ctx context.Context, h *healer) {
	now := time.Now()
	if now.Before(h.next) {
		return
	}
	free, err := freeBytes(b.cfg.StoreDir)
	if err == nil && free >= 0 && free < healMinFree {
		err = fmt.Errorf("%s free, %s needed", humanBytes(free), humanBytes(healMinFree))
	}
	if err == nil {
		err = writeProbe(b.cfg.StoreDir)
	}
	if err != nil {
		if !h.waiting {
			h.waiting = true
			b.log.Warn("storage: waiting for the store to take writes before restarting JetStream", "dir", b.cfg.StoreDir, "err", err)
		}
		return
	}
	h.waiting = false
	h.next = now.Add(h.backoff)
	h.backoff = min(2*h.backoff, healBackoffMax)
	b.log.Warn("storage: restarting JetStream to clear the write error", "free", humanBytes(free))
	if err := b.restartJetStream(ctx); err != nil {
		b.log.Warn("storage: JetStream restart failed; will try again", "err", err, "next_in", h.next.Sub(now))
		return
	}
	if reason, _ := serverFault(b.srv); reason != "" {
		b.log.Warn("storage: still failing after a JetStream restart; will try again", "reason", reason, "next_in", h.next.Sub(now))
		return
	}
	b.metrics.recoveries.Inc()
	b.storage.set(faultNone, "", false, "JetStream restarted")
	*h = healer{backoff: healBackoffMin}
}

// restartJetStream reloads JetStream from disk in the running server and
// waits until HOTLINE_IN answers again.
func (b *Bus) restartJetStream(ctx context.Context) error {
	if !b.srv.JetStreamEnabled() {
		// Switched off for the whole server (a permission error
		// does that): start it again.
		if err := b.srv.EnableJetStream(jetStreamConfig(b.srvOpts)); err != nil {
			return fmt.Errorf("enable jetstream: %w", err)
		}
	} else {
		// A write error breaks the streams, not the server: reload the
		// account's streams from disk. Restarting the server's
		// JetStream instead races with API requests in flight inside
		// nats-server (its API queues are replaced under them).
		acc := b.srv.GlobalAccount()
		if err := acc.DisableJetStream(); err != nil {
			return fmt.Errorf("disable account jetstream: %w", err)
		}
		if err := acc.EnableJetStream(nil, nil); err != nil {
			return fmt.Errorf("enable account jetstream: %w", err)
		}
	}
	// A consumer's outstanding pull requests died with the old
	// JetStream, and the client notices only after missed heartbeats
	// (20-30 s of silence); a reconnect re-issues them at once.
	if err := b.nc.ForceReconnect(); err != nil {
		return fmt.Errorf("reconnect: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		_, err := b.js.Stream(wctx, StreamIn)
		if err == nil {
			return nil
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("stream %s after restart: %w", StreamIn, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// writeProbe checks that a file can be created, written and synced in
// dir: free space alone misses a read-only or permission-denied store.
func writeProbe(dir string) error {
	f, err := os.CreateTemp(dir, ".hotline-write-probe-*")
	if err != nil {
		return fmt.Errorf("write probe: %w", err)
	}
	name := f.Name()
	defer os.Remove(name)
	_, err = f.Write(make([]byte, 64<<10))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write probe %s: %w", filepath.Base(name), err)
	}
	return nil
}
