package fallback

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"hotline/bus"
)

// Errors of the Store.
var (
	// ErrOperatorOwns is returned when an automatic change meets an
	// operator's setting of the same mode and scope: hotline never
	// overrules a person.
	ErrOperatorOwns = errors.New("fallback: an operator's setting is in force")
	// ErrNotSet is returned when clearing a mode that is not on in that
	// scope.
	ErrNotSet = errors.New("fallback: mode not set in that scope")
)

// janitorEvery is how often expired settings are deleted from the bucket.
// The view already ignores them the moment they expire; the janitor only
// makes the bucket and the audit trail say so.
const janitorEvery = time.Second

// loadTimeout bounds how long NewStore waits for the bucket's current
// values, so a NATS that accepts the watch but never answers fails start-up
// instead of hanging it.
const loadTimeout = 30 * time.Second

// maxCASAttempts bounds how often a change is retried after losing a race
// with another writer of the same key; casPause spreads the retries so
// that writers racing each other do not collide again in lockstep.
const (
	maxCASAttempts = 16
	casPause       = 5 * time.Millisecond
)

// pauseBeforeRetry sleeps a random part of attempt × casPause, or returns
// ctx's error if ctx ends first.
func pauseBeforeRetry(ctx context.Context, attempt int) error {
	t := time.NewTimer(rand.N(time.Duration(attempt+1) * casPause))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// StoreDeps are the Store's collaborators.
type StoreDeps struct {
	Logger   *slog.Logger
	Now      func() time.Time      // nil: time.Now
	Registry prometheus.Registerer // nil: metrics kept but not exported
}

// Store keeps the degraded-mode settings in the hotline_modes bucket and a
// live copy of them in memory, kept by a KV watch, so every instance sees a
// change within milliseconds and the gate costs no round trip. A Store is
// safe for concurrent use.
type Store struct {
	b       *bus.Bus
	kv      jetstream.KeyValue
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics

	mu      sync.RWMutex
	entries map[string]viewEntry // key → the setting stored under it
	// tombs holds the revision at which a key was deleted, so a late
	// watch update older than a local delete cannot bring it back.
	tombs map[string]uint64
	// changed is closed and replaced whenever the view changes, so
	// waiters (held replies) wake at once instead of polling.
	changed chan struct{}

	done chan struct{}
}

type viewEntry struct {
	s   Setting
	rev uint64
}

// NewStore loads every setting and keeps following the bucket until ctx
// ends; it returns once the current values are in the view. A janitor
// started with it deletes expired settings.
func NewStore(ctx context.Context, b *bus.Bus, deps StoreDeps) (*Store, error) {
	kv := b.KV(bus.BucketModes)
	if kv == nil {
		return nil, fmt.Errorf("fallback: store: bucket %s missing", bus.BucketModes)
	}
	s := &Store{
		b:       b,
		kv:      kv,
		log:     deps.Logger,
		now:     deps.Now,
		metrics: newMetrics(deps.Registry),
		entries: map[string]viewEntry{},
		tombs:   map[string]uint64{},
		changed: make(chan struct{}),
		done:    make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	// runCtx stops the watch and the janitor when ctx ends, or at once
	// when loading fails, so a failed NewStore leaves nothing running.
	runCtx, cancel := context.WithCancel(ctx)
	w, err := kv.WatchAll(runCtx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("fallback: store: watch: %w", err)
	}
	loaded := make(chan bool, 1)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.follow(w, loaded)
	}()
	go func() {
		defer wg.Done()
		defer cancel()
		s.janitor(runCtx)
	}()
	go func() {
		wg.Wait()
		close(s.done)
	}()
	timeout := time.NewTimer(loadTimeout)
	defer timeout.Stop()
	select {
	case ok := <-loaded:
		if ok {
			return s, nil
		}
		cancel()
		return nil, fmt.Errorf("fallback: store: watch ended before the initial values were in")
	case <-ctx.Done():
		cancel()
		return nil, fmt.Errorf("fallback: store: initial values: %w", ctx.Err())
	case <-timeout.C:
		cancel()
		return nil, fmt.Errorf("fallback: store: no initial values after %s", loadTimeout)
	}
}

// Changed returns a channel that is closed at the next change of the
// view (a mode set, cleared or expired, here or on another instance).
// Call it again after each wake-up for the change after that.
func (s *Store) Changed() <-chan struct{} {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.changed
}

// Done is closed once the watch and the janitor have stopped (ctx ended or
// the connection closed).
func (s *Store) Done() <-chan struct{} { return s.done }

// follow applies watch updates until the watch ends. The watch ends when
// NewStore's ctx does (nats.go unsubscribes then) or the connection
// closes; either way Updates is closed.
func (s *Store) follow(w jetstream.KeyWatcher, loaded chan<- bool) {
	defer func() { _ = w.Stop() }()
	initial := true
	for e := range w.Updates() {
		if e == nil {
			if initial {
				loaded <- true
				initial = false
			}
			continue
		}
		if e.Operation() != jetstream.KeyValuePut {
			s.apply(e.Key(), nil, e.Revision())
			continue
		}
		var set Setting
		if err := json.Unmarshal(e.Value(), &set); err != nil || set.key() != e.Key() {
			// A value this version cannot read (written by hand, or
			// by a newer hotline) must not switch anything on.
			s.log.Warn("fallback: ignoring unreadable mode setting", "key", e.Key(), "revision", e.Revision(), "err", err)
			s.apply(e.Key(), nil, e.Revision())
			continue
		}
		s.apply(e.Key(), &set, e.Revision())
	}
	if initial {
		loaded <- false
	}
	s.log.Debug("fallback: mode watch ended")
}

// apply records that key holds set (nil: deleted) as of revision rev,
// unless the view already knows a later revision of it.
func (s *Store) apply(key string, set *Setting, rev uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev <= max(s.entries[key].rev, s.tombs[key]) {
		return
	}
	if set == nil {
		delete(s.entries, key)
		s.tombs[key] = rev
	} else {
		s.entries[key] = viewEntry{s: *set, rev: rev}
		delete(s.tombs, key)
	}
	s.refreshGaugesLocked(s.now())
	close(s.changed)
	s.changed = make(chan struct{})
}

// refreshGaugesLocked sets hotline_mode_active for every key the view
// knows: 1 while in force, 0 once cleared or expired.
func (s *Store) refreshGaugesLocked(now time.Time) {
	for key, e := range s.entries {
		v := 1.0
		if e.s.Expired(now) {
			v = 0
		}
		mode, scope := parseModeKey(key)
		s.metrics.active.WithLabelValues(mode, scope).Set(v)
	}
	for key := range s.tombs {
		mode, scope := parseModeKey(key)
		s.metrics.active.WithLabelValues(mode, scope).Set(0)
	}
}

// Set stores a setting, replacing the one of the same mode and scope. It
// fills SetAt; callers give a time to live as ExpiresAt. An automatic
// setting (SetBy SetByAuto) does not replace an operator's: Set then
// returns the operator's setting and ErrOperatorOwns. An operator's
// setting replaces an automatic one.
func (s *Store) Set(ctx context.Context, set Setting) (Setting, error) {
	now := s.now()
	set.SetAt = now.UTC()
	if err := set.validate(now); err != nil {
		return Setting{}, err
	}
	key := set.key()
	data, err := json.Marshal(set)
	if err != nil {
		return Setting{}, fmt.Errorf("fallback: set %s: encode: %w", key, err)
	}
	for attempt := range maxCASAttempts {
		cur, rev, err := s.current(ctx, key)
		if err != nil {
			return Setting{}, err
		}
		if cur != nil && set.Auto() && !cur.Auto() && !cur.Expired(now) {
			return *cur, ErrOperatorOwns
		}
		newRev, err := bus.Swap(ctx, s.kv, key, data, rev)
		if bus.IsConflict(err) {
			// Someone else changed it; decide again on what is there now.
			if err := pauseBeforeRetry(ctx, attempt); err != nil {
				return Setting{}, fmt.Errorf("fallback: set %s: %w", key, err)
			}
			continue
		}
		if err != nil {
			return Setting{}, fmt.Errorf("fallback: set %s: %w", key, err)
		}
		s.apply(key, &set, newRev)
		s.log.Info("fallback: mode set", "mode", set.Mode, "scope", set.Scope.String(), "by", set.SetBy,
			"reason", set.Reason, "expires_at", set.ExpiresAt)
		rec := AuditRecord{Action: ActionModeSet, Mode: set.Mode, Scope: set.Scope.String(), By: set.SetBy,
			Reason: set.Reason, At: set.SetAt, Setting: &set}
		if err := WriteAudit(ctx, s.b, rec, auditID(ActionModeSet, key, newRev)); err != nil {
			return set, err
		}
		return set, nil
	}
	return Setting{}, fmt.Errorf("fallback: set %s: still contended after %d attempts", key, maxCASAttempts)
}

// Clear switches mode off in scope (that exact scope; a broader or
// narrower setting stays). by says who; it goes to the audit trail.
// It returns ErrNotSet when the mode is not on there.
func (s *Store) Clear(ctx context.Context, mode string, scope Scope, by string) error {
	if err := validBy("by", by); err != nil {
		return err
	}
	return s.clear(ctx, mode, scope, by, false)
}

// ClearAuto switches off an automatic setting of mode in scope, and
// leaves an operator's setting alone (ErrOperatorOwns). The delete names
// the revision it read, so an operator's change made meanwhile is never
// erased.
func (s *Store) ClearAuto(ctx context.Context, mode string, scope Scope) error {
	return s.clear(ctx, mode, scope, SetByAuto, true)
}

func (s *Store) clear(ctx context.Context, mode string, scope Scope, by string, onlyAuto bool) error {
	if !KnownMode(mode) {
		return unknownMode(mode)
	}
	if err := scope.validate(); err != nil {
		return err
	}
	key := modeKey(mode, scope)
	for attempt := range maxCASAttempts {
		now := s.now()
		cur, rev, err := s.current(ctx, key)
		if err != nil {
			return err
		}
		if rev == 0 || (cur != nil && cur.Expired(now)) {
			// An expired setting is already off; the janitor
			// deletes it and records that it expired.
			return ErrNotSet
		}
		if onlyAuto && (cur == nil || !cur.Auto()) {
			return ErrOperatorOwns
		}
		err = s.kv.Delete(ctx, key, jetstream.LastRevision(rev))
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			if err := pauseBeforeRetry(ctx, attempt); err != nil {
				return fmt.Errorf("fallback: clear %s: %w", key, err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("fallback: clear %s: %w", key, err)
		}
		// The delete marker's revision is above rev and nothing can
		// come between, so rev+1 is a safe lower bound for the view.
		s.apply(key, nil, rev+1)
		s.log.Info("fallback: mode cleared", "mode", mode, "scope", scope.String(), "by", by)
		rec := AuditRecord{Action: ActionModeClear, Mode: mode, Scope: scope.String(), By: by, At: now.UTC(), Setting: cur}
		if cur != nil {
			rec.Reason = cur.Reason
		}
		return WriteAudit(ctx, s.b, rec, auditID(ActionModeClear, key, rev))
	}
	return fmt.Errorf("fallback: clear %s: still contended after %d attempts", key, maxCASAttempts)
}

// current reads key from the bucket itself, not the view, because a
// change must be decided on the latest revision. A value that does not
// decode comes back as nil with its revision, so it can be replaced.
func (s *Store) current(ctx context.Context, key string) (*Setting, uint64, error) {
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("fallback: read %s: %w", key, err)
	}
	var set Setting
	if err := json.Unmarshal(e.Value(), &set); err != nil {
		return nil, e.Revision(), nil
	}
	return &set, e.Revision(), nil
}

func auditID(action, key string, rev uint64) string {
	return fmt.Sprintf("%s:%s:%d", action, key, rev)
}

// List returns the settings in force, sorted by mode then scope.
func (s *Store) List() []Setting {
	now := s.now()
	s.mu.RLock()
	out := make([]Setting, 0, len(s.entries))
	for _, e := range s.entries {
		if !e.s.Expired(now) {
			out = append(out, e.s)
		}
	}
	s.mu.RUnlock()
	order := map[string]int{}
	for i, m := range Modes() {
		order[m] = i
	}
	slices.SortFunc(out, func(a, b Setting) int {
		return cmp.Or(cmp.Compare(order[a.Mode], order[b.Mode]), cmp.Compare(a.Scope.String(), b.Scope.String()))
	})
	return out
}

// Active returns what is in force for one account of a platform: for
// each mode the most specific scope wins (platform/account over platform
// over global). Expired settings are off from the moment they expire.
func (s *Store) Active(platform, account string) Effective {
	now := s.now()
	scopes := [3]Scope{{Platform: platform, Account: account}, {Platform: platform}, Global}
	var eff Effective
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, mode := range Modes() {
		for _, sc := range scopes {
			e, ok := s.entries[modeKey(mode, sc)]
			if ok && !e.s.Expired(now) {
				set := e.s
				*eff.slot(mode) = &set
				break
			}
		}
	}
	return eff
}

// janitor deletes expired settings once a second until ctx ends. Every
// instance runs one; each delete names the revision it saw, so exactly
// one instance's delete succeeds, and only that one writes mode.expire.
func (s *Store) janitor(ctx context.Context) {
	t := time.NewTicker(janitorEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.expire(ctx)
	}
}

// expire deletes what has expired and records it.
func (s *Store) expire(ctx context.Context) {
	now := s.now()
	type expired struct {
		key string
		e   viewEntry
	}
	var due []expired
	s.mu.Lock()
	for key, e := range s.entries {
		if e.s.Expired(now) {
			due = append(due, expired{key, e})
		}
	}
	s.refreshGaugesLocked(now)
	s.mu.Unlock()
	for _, d := range due {
		err := s.kv.Delete(ctx, d.key, jetstream.LastRevision(d.e.rev))
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue // another instance deleted it, or someone set it again
		}
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("fallback: delete expired setting", "key", d.key, "err", err)
			}
			continue
		}
		s.apply(d.key, nil, d.e.rev+1)
		set := d.e.s
		s.log.Info("fallback: mode expired", "mode", set.Mode, "scope", set.Scope.String(), "set_by", set.SetBy)
		rec := AuditRecord{Action: ActionModeExpire, Mode: set.Mode, Scope: set.Scope.String(), By: ByExpiry,
			Reason: set.Reason, At: now.UTC(), Setting: &set}
		if err := WriteAudit(ctx, s.b, rec, auditID(ActionModeExpire, d.key, d.e.rev)); err != nil {
			s.log.Error("fallback: audit expiry", "key", d.key, "err", err)
		}
	}
}
