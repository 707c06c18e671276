package outbound

import (
	"errors"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"hotline/envelope"
)

// The first probe comes probeMin after the circuit opened; each failed
// probe doubles the wait up to probeMax; a successful one closes it.
func TestCircuitProbeBackoff(t *testing.T) {
	const probeMin, probeMax = 40 * time.Millisecond, 150 * time.Millisecond
	var changes []string
	c := newCircuit("t", 2, probeMin, probeMax,
		func(err error) bool { return err == nil }, func(error) bool { return false },
		time.Now, func(from, to gobreaker.State) { changes = append(changes, to.String()) })
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
	waits := []time.Duration{probeMin}
	for _, want := range []time.Duration{2 * probeMin, probeMax, probeMax} {
		waitProbe(t, c)
		_, _ = c.Execute(fail) // the probe fails
		got := c.untilProbe()
		if got > want || got < want-20*time.Millisecond {
			t.Fatalf("after failed probe %d: next probe in %v, want about %v", len(waits), got, want)
		}
		waits = append(waits, want)
	}
	waitProbe(t, c)
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
	if got := c.untilProbe(); got > probeMin {
		t.Fatalf("reopened: next probe in %v, want at most %v", got, probeMin)
	}
	if changes[len(changes)-1] != "open" {
		t.Fatalf("changes %v", changes)
	}
}

func waitProbe(t *testing.T, c *circuit) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.State() != gobreaker.StateHalfOpen {
		if time.Now().After(deadline) {
			t.Fatal("no probe turn within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
