package outbound

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"hotline/bus/bustest"
	"hotline/envelope"
)

// fakeClock is the circuit's clock, moved by the test only: the probe
// waits are then exact, whatever else the machine is doing.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// The first probe comes probeMin after the circuit opened; each failed
// probe doubles the wait up to probeMax; a successful one closes it.
func TestCircuitProbeBackoff(t *testing.T) {
	t.Parallel()
	const probeMin, probeMax = 40 * time.Millisecond, 150 * time.Millisecond
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var changes []string
	c := newCircuit("t", 2, probeMin, probeMax,
		func(err error) bool { return err == nil }, func(error) bool { return false },
		clk.Now, func(from, to gobreaker.State) { changes = append(changes, to.String()) })
	fail := func() (envelope.Receipt, error) { return envelope.Receipt{}, errors.New("down") }
	ok := func() (envelope.Receipt, error) { return envelope.Receipt{}, nil }
	for range 2 {
		_, _ = c.Execute(fail)
	}
	if st := c.State(); st != gobreaker.StateOpen {
		t.Fatalf("state %s after 2 failures, want open", st)
	}
	// Before its turn no probe goes, whatever gobreaker says.
	called := false
	if _, err := c.Execute(func() (envelope.Receipt, error) { called = true; return ok() }); !errors.Is(err, gobreaker.ErrOpenState) || called {
		t.Fatalf("Execute on an open circuit: err %v, called %v", err, called)
	}
	wait := probeMin
	for i, want := range []time.Duration{2 * probeMin, probeMax, probeMax} {
		probeTurn(t, c, clk, wait)
		_, _ = c.Execute(fail) // the probe fails
		if got := c.untilProbe(); got != want {
			t.Fatalf("after failed probe %d: next probe in %v, want %v", i+1, got, want)
		}
		wait = want
	}
	probeTurn(t, c, clk, wait)
	if _, err := c.Execute(ok); err != nil {
		t.Fatal(err)
	}
	if st := c.State(); st != gobreaker.StateClosed {
		t.Fatalf("state %s after a good probe, want closed", st)
	}
	// Opening again starts from the shortest wait.
	for range 2 {
		_, _ = c.Execute(fail)
	}
	if got := c.untilProbe(); got != probeMin {
		t.Fatalf("reopened: next probe in %v, want %v", got, probeMin)
	}
	if changes[len(changes)-1] != "open" {
		t.Fatalf("changes %v", changes)
	}
}

// probeTurn brings the probe's turn, wait after the circuit (re)opened:
// gobreaker goes half-open on its own timer (probeMin of real time), but
// the circuit must keep the probe back until its clock has moved on by
// wait, and let it go then.
func probeTurn(t *testing.T, c *circuit, clk *fakeClock, wait time.Duration) {
	t.Helper()
	bustest.WaitFor(t, "gobreaker's own half-open", func() bool { return c.cb.State() == gobreaker.StateHalfOpen })
	if wait > 0 {
		clk.Advance(wait - time.Nanosecond)
		if st := c.State(); st != gobreaker.StateOpen {
			t.Fatalf("state %s a moment before the probe's turn (%v), want open", st, wait)
		}
	}
	clk.Advance(time.Nanosecond)
	if st := c.State(); st != gobreaker.StateHalfOpen {
		t.Fatalf("state %s at the probe's turn (%v), want half-open", st, wait)
	}
}
