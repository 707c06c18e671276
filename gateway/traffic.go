package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"hotline/console"
	"hotline/envelope"
)

// trafficMeter counts what crosses the bus per platform, from plain
// subscriptions on the stream subjects: it sees the traffic of every
// instance on the cluster, not only this one, and costs the streams
// nothing.
type trafficMeter struct {
	mu     sync.Mutex
	counts map[string]*console.Traffic // the second being counted
	last   map[string]console.Traffic  // the last whole second
	lastAt time.Time
	subs   []*nats.Subscription
}

// startTrafficMeter subscribes and rolls the counters over every period
// (a second in serve) until ctx ends.
func startTrafficMeter(ctx context.Context, nc *nats.Conn, period time.Duration) (*trafficMeter, error) {
	m := &trafficMeter{counts: map[string]*console.Traffic{}, last: map[string]console.Traffic{}}
	for subject, count := range map[string]func(*nats.Msg){
		"hotline.in.>":     func(msg *nats.Msg) { m.add(msg.Subject, func(t *console.Traffic) { t.In++ }) },
		"hotline.out.>":    func(msg *nats.Msg) { m.add(msg.Subject, func(t *console.Traffic) { t.Out++ }) },
		"hotline.status.>": m.status,
	} {
		sub, err := nc.Subscribe(subject, count)
		if err != nil {
			m.stop()
			return nil, fmt.Errorf("traffic meter: subscribe %s: %w", subject, err)
		}
		// A burst must never slow the bus down for the sake of a gauge:
		// past this many queued messages the meter drops them.
		_ = sub.SetPendingLimits(65536, 64<<20)
		m.subs = append(m.subs, sub)
	}
	go func() {
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				m.stop()
				return
			case now := <-tick.C:
				m.roll(now)
			}
		}
	}()
	return m, nil
}

func (m *trafficMeter) stop() {
	for _, s := range m.subs {
		_ = s.Unsubscribe()
	}
}

// add counts one message on hotline.<kind>.<platform>.<account>.
func (m *trafficMeter) add(subject string, count func(*console.Traffic)) {
	parts := strings.SplitN(subject, ".", 4)
	if len(parts) < 3 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.counts[parts[2]]
	if t == nil {
		t = &console.Traffic{}
		m.counts[parts[2]] = t
	}
	count(t)
}

// status counts delivery failures from status events.
func (m *trafficMeter) status(msg *nats.Msg) {
	var st struct {
		State envelope.DeliveryState `json:"state"`
	}
	if json.Unmarshal(msg.Data, &st) != nil {
		return
	}
	switch st.State {
	case envelope.StateRetrying, envelope.StateFailed, envelope.StateDead:
		m.add(msg.Subject, func(t *console.Traffic) { t.Failed++ })
	}
}

func (m *trafficMeter) roll(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	secs := 1.0
	if !m.lastAt.IsZero() {
		secs = now.Sub(m.lastAt).Seconds()
	}
	m.lastAt = now
	last := make(map[string]console.Traffic, len(m.counts))
	for p, t := range m.counts {
		last[p] = console.Traffic{In: t.In / secs, Out: t.Out / secs, Failed: t.Failed / secs}
		*t = console.Traffic{}
	}
	m.last = last
}

// rates returns the last whole period's rates per second by platform.
func (m *trafficMeter) rates() map[string]console.Traffic {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]console.Traffic, len(m.last))
	for p, t := range m.last {
		out[p] = t
	}
	return out
}

// liveView is the console's Source: the status report plus traffic. The
// report lists handoffs and reads every stream; it is made at most once
// per second and shared by every open console.
type liveView struct {
	status statusSources
	meter  *trafficMeter

	mu   sync.Mutex
	at   time.Time
	last console.Snapshot
}

// Snapshot returns the live view, reusing one made within the last second.
func (v *liveView) Snapshot(ctx context.Context) (console.Snapshot, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if time.Since(v.at) < 900*time.Millisecond {
		return v.last, nil
	}
	v.last = console.Snapshot{At: time.Now().UTC(), Traffic: v.meter.rates(), Status: v.status.report(ctx)}
	v.at = time.Now()
	return v.last, nil
}
