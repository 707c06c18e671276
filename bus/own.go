package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Ownership: several gateways share one NATS, and some work must be done
// by one of them at a time — the router's partitions of HOTLINE_IN (one
// conversation's messages routed in order) and each account's delivery
// loop (one account's send rate kept in one place). Such work is split
// into named units, and Own runs the units this instance owns.
//
// Two mechanisms, one for balance and one for safety:
//
//   - Membership: every instance running a group of units keeps a key
//     <group>.<instance> alive in hotline_members (a write every
//     memberBeat) and watches the others'. A key not refreshed within
//     memberTTL, or deleted on a clean stop, drops its instance. Every
//     instance computes the same assignment from the same member list
//     (assign), so each unit has one intended owner and the units spread
//     evenly.
//   - Exclusion: the consumers behind a unit are pinned (ConsumerConfig
//     Exclusive): the server delivers to one client at a time, whatever
//     the members believe. While two instances disagree for a moment
//     (one has not seen a join yet), the server still hands the unit's
//     messages to one of them only.
//
// Failure behaviour. An instance that stops cleanly hands its units back
// at once: it stops pulling, returns what it had not finished (nak, so it
// is redelivered first) and unpins; its key is deleted, and the new owner
// starts within a beat. An instance that crashes keeps its pins until
// they time out (the consumer's PinnedTTL, longer than its ack wait): by
// then every message the dead instance had taken is due for redelivery,
// so the new owner gets those first and no later message of the same
// conversation overtakes them. That wait is the price of order after a
// crash; docs/design.md gives the figures.
const (
	memberBeat = time.Second
	memberTTL  = 5 * time.Second
)

// member is what an instance writes under its key: enough for an
// operator to tell instances apart.
type member struct {
	Name  string    `json:"name"`
	Host  string    `json:"host"`
	PID   int       `json:"pid"`
	Since time.Time `json:"since"`
}

// Own runs run(ctx, unit) for every unit this instance owns in group,
// until ctx ends. A run's context ends when the unit moves to another
// instance, and run must then return after handing its work back (a
// Consume with Exclusive set does). A run that fails is started again
// after a back-off. Own returns once every run has returned and this
// instance has left the group.
func (b *Bus) Own(ctx context.Context, group string, units []string, run func(ctx context.Context, unit string) error) error {
	if len(units) == 0 {
		<-ctx.Done()
		return nil
	}
	m, err := b.join(ctx, group)
	if err != nil {
		if ctx.Err() != nil {
			// Stopped before it started: not a failure.
			return nil
		}
		return err
	}
	defer m.leave()
	log := b.log.With("group", group, "instance", m.id)

	type ended struct {
		unit string
		err  error
	}
	type running struct {
		cancel context.CancelFunc
		lost   bool
	}
	live := map[string]*running{}
	done := make(chan ended)
	failures := map[string]int{}
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	retryAt := map[string]time.Time{}
	for {
		// The channel is taken before the view, so a change in between
		// is never missed.
		changed := m.changed()
		owners := assign(units, m.live())
		mine := 0
		now := time.Now()
		for _, u := range units {
			want := owners[u] == m.id
			if want {
				mine++
			}
			r := live[u]
			switch {
			case want && r == nil && ctx.Err() == nil && !now.Before(retryAt[u]):
				rctx, cancel := context.WithCancel(ctx)
				live[u] = &running{cancel: cancel}
				go func() { done <- ended{u, run(rctx, u)} }()
			case !want && r != nil && !r.lost:
				log.Info("unit moves to another instance", "unit", u, "to", owners[u])
				r.lost = true
				r.cancel()
			}
		}
		b.setShare(group, float64(mine)/float64(len(units)))
		b.metrics.owned.WithLabelValues(group).Set(float64(mine))
		if ctx.Err() != nil && len(live) == 0 {
			b.setShare(group, 0)
			b.metrics.owned.WithLabelValues(group).Set(0)
			return nil
		}
		select {
		case <-ctx.Done():
			if len(live) == 0 {
				continue // the loop's top returns
			}
			for _, r := range live {
				r.cancel()
			}
			e := <-done
			delete(live, e.unit)
		case <-changed:
		case e := <-done:
			r := live[e.unit]
			delete(live, e.unit)
			r.cancel()
			if e.err != nil && ctx.Err() == nil && !r.lost {
				failures[e.unit]++
				wait := Backoff(failures[e.unit], time.Second, 30*time.Second)
				retryAt[e.unit] = time.Now().Add(wait)
				retry.Reset(wait)
				log.Warn("owned unit failed; starting it again", "unit", e.unit, "in", wait, "err", e.err)
			} else {
				failures[e.unit] = 0
			}
		case <-retry.C:
		}
	}
}

// Share is the fraction of group's units this instance owns: 1 when the
// group is not split among instances (nothing runs it through Own), 0
// when it owns none. Limits meant for the whole cluster are scaled by it.
func (b *Bus) Share(group string) float64 {
	b.shareMu.Lock()
	defer b.shareMu.Unlock()
	s, ok := b.shares[group]
	if !ok {
		return 1
	}
	return s
}

func (b *Bus) setShare(group string, s float64) {
	b.shareMu.Lock()
	defer b.shareMu.Unlock()
	if b.shares == nil {
		b.shares = map[string]float64{}
	}
	b.shares[group] = s
}

// assign gives every unit to one member: each unit ranks the members by
// a hash of both names (rendezvous hashing, so a member joining or
// leaving moves few units) and goes to the first that has fewer than its
// fair share. The same inputs give the same answer on every instance.
func assign(units, members []string) map[string]string {
	out := make(map[string]string, len(units))
	if len(members) == 0 {
		return out
	}
	members = slices.Sorted(slices.Values(members))
	fair := (len(units) + len(members) - 1) / len(members)
	load := make(map[string]int, len(members))
	ranked := slices.Clone(members)
	for _, u := range units {
		slices.SortStableFunc(ranked, func(a, b string) int {
			ha, hb := rendezvous(u, a), rendezvous(u, b)
			switch {
			case ha > hb:
				return -1
			case ha < hb:
				return 1
			}
			return 0
		})
		for _, m := range ranked {
			if load[m] < fair {
				out[u] = m
				load[m]++
				break
			}
		}
	}
	return out
}

func rendezvous(unit, member string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(unit))
	h.Write([]byte{0})
	h.Write([]byte(member))
	return h.Sum64()
}

// membership is this instance's view of one group.
type membership struct {
	b     *Bus
	kv    jetstream.KeyValue
	group string
	id    string
	key   string
	stop  context.CancelFunc
	done  chan struct{}

	mu      sync.Mutex
	seen    map[string]time.Time // member id → when its key was last written, by our clock
	view    []string             // sorted live ids, self included
	changes chan struct{}        // closed and replaced when view changes
}

// join writes this instance's key in group and follows the others'. It
// returns once the current members are known, so the first assignment
// already counts them.
func (b *Bus) join(ctx context.Context, group string) (*membership, error) {
	kv := b.kv[BucketMembers]
	if kv == nil {
		return nil, fmt.Errorf("bus: own %s: no %s bucket", group, BucketMembers)
	}
	id := b.instance
	m := &membership{b: b, kv: kv, group: group, id: id, key: group + "." + id,
		seen: map[string]time.Time{}, view: []string{id}, changes: make(chan struct{}), done: make(chan struct{})}
	host, _ := os.Hostname()
	value, err := json.Marshal(member{Name: b.cfg.Name, Host: host, PID: os.Getpid(), Since: time.Now().UTC()})
	if err != nil {
		return nil, fmt.Errorf("bus: own %s: %w", group, err)
	}
	// The watch lives until leave, past ctx: the key is kept alive while
	// the units are handed back.
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	w, err := kv.Watch(rctx, group+".*")
	if err != nil {
		stop()
		return nil, fmt.Errorf("bus: own %s: watch members: %w", group, err)
	}
	// The initial values end with a nil entry; then the view is current.
initial:
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok || e == nil {
				break initial
			}
			m.note(e)
		case <-ctx.Done():
			_ = w.Stop()
			stop()
			return nil, fmt.Errorf("bus: own %s: %w", group, ctx.Err())
		}
	}
	m.refresh(time.Now())
	m.stop = stop
	go func() {
		defer close(m.done)
		defer func() { _ = w.Stop() }()
		m.follow(rctx, w, value)
	}()
	return m, nil
}

// follow writes this instance's key every beat and keeps the view.
func (m *membership) follow(ctx context.Context, w jetstream.KeyWatcher, value []byte) {
	beat := time.NewTicker(memberBeat)
	defer beat.Stop()
	put := func() {
		pctx, cancel := context.WithTimeout(ctx, memberBeat)
		defer cancel()
		if _, err := m.kv.Put(pctx, m.key, value); err != nil && ctx.Err() == nil {
			m.b.log.Debug("member heartbeat", "group", m.group, "err", err)
		}
	}
	put()
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			put()
			m.refresh(time.Now())
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e != nil {
				m.note(e)
				m.refresh(time.Now())
			}
		}
	}
}

// note records one change of a member key.
func (m *membership) note(e jetstream.KeyValueEntry) {
	id := e.Key()[len(m.group)+1:]
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.Operation() == jetstream.KeyValuePut {
		m.seen[id] = time.Now()
	} else {
		delete(m.seen, id)
	}
}

// refresh recomputes the view. Peers whose key went quiet are dropped
// only while this instance's own writes come back through the watch: an
// instance cut off from NATS sees nobody's writes, and must not conclude
// that everyone else is gone.
func (m *membership) refresh(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	selfFresh := now.Sub(m.seen[m.id]) < memberTTL
	view := []string{m.id}
	for id, at := range m.seen {
		if id == m.id {
			continue
		}
		if now.Sub(at) < memberTTL || !selfFresh {
			view = append(view, id)
		}
	}
	slices.Sort(view)
	if !slices.Equal(view, m.view) {
		m.view = view
		close(m.changes)
		m.changes = make(chan struct{})
	}
}

func (m *membership) live() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.view
}

func (m *membership) changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changes
}

// leave stops the heartbeat and deletes the key, so the others take over
// this instance's units now rather than after memberTTL.
func (m *membership) leave() {
	m.stop()
	<-m.done
	ctx, cancel := context.WithTimeout(context.Background(), memberBeat)
	defer cancel()
	if err := m.kv.Delete(ctx, m.key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		m.b.log.Debug("leaving member group", "group", m.group, "err", err)
	}
}

// newInstanceID names this process among the gateways: unique, and valid
// as a KV key token.
func newInstanceID() string { return nuid.Next() }
