package fallback

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotline/bus"
	"hotline/envelope"
)

// newStore starts a Store on b that stops (and is waited for) before the
// bus closes: cleanups run last-registered first.
func newStore(t testing.TB, b *bus.Bus, deps StoreDeps) *Store {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := NewStore(ctx, b, deps)
	if err != nil {
		cancel()
		t.Fatalf("NewStore: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.Done():
		case <-time.After(5 * time.Second):
			t.Errorf("store goroutines still running 5s after cancel")
		}
	})
	return s
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// waitFor polls cond until it holds or within passes.
func waitFor(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustScope(t testing.TB, s string) Scope {
	t.Helper()
	sc, err := ParseScope(s)
	if err != nil {
		t.Fatalf("ParseScope(%q): %v", s, err)
	}
	return sc
}

// mustSet stores a setting or fails the test.
func mustSet(t testing.TB, s *Store, set Setting) Setting {
	t.Helper()
	got, err := s.Set(context.Background(), set)
	if err != nil {
		t.Fatalf("Set %s %s: %v", set.Mode, set.Scope, err)
	}
	return got
}

// op returns an operator's setting of mode in scope.
func op(t testing.TB, mode, scope string) Setting {
	t.Helper()
	set := Setting{Mode: mode, Scope: mustScope(t, scope), Reason: "incident 42", SetBy: "alice"}
	if mode == ModeAnnouncement {
		set.Announce = map[string]string{"zh": "系统维护中", "en": "We are fixing an outage."}
	}
	return set
}

func message(platform, account, user string) *envelope.Message {
	return &envelope.Message{
		ID:           envelope.NewID(time.Now()),
		Platform:     platform,
		Account:      account,
		Conversation: envelope.ConversationKey(platform, account, user),
		From:         envelope.Party{ID: user},
		Kind:         envelope.KindText,
		Text:         "hello",
		ReceivedAt:   time.Now(),
	}
}

// auditLog returns every audit record so far.
func auditLog(t testing.TB, b *bus.Bus) []AuditRecord {
	t.Helper()
	recs, err := ReadAudit(context.Background(), b, MaxAuditLimit)
	if err != nil {
		t.Fatalf("ReadAudit: %v", err)
	}
	return recs
}

func countActions(recs []AuditRecord, action string) int {
	n := 0
	for _, r := range recs {
		if r.Action == action {
			n++
		}
	}
	return n
}

// metricValue reads one series from reg; ok is false when it is absent.
func metricValue(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue series
				}
			}
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue(), true
			}
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

// tracked reports how many senders and accounts have limiters.
func (g *Gate) tracked() (senders, accounts int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.senders), len(g.accounts)
}
