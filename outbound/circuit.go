package outbound

import (
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"

	"hotline/envelope"
)

// circuit is an account's circuit breaker: gobreaker counts the failures
// and runs the closed → open → half-open → closed cycle, and circuit
// decides when the half-open probe may go. gobreaker lets one through a
// fixed time after opening; an outage of seconds should end in seconds
// and one of an hour should not be probed every second, so here the first
// probe goes probeMin after the circuit opened and each failed probe
// doubles the wait, up to probeMax (outbound.breaker_open).
//
// Every change is reported on changes (for the auto fallback and the
// metrics) and wakes the replies waiting on the circuit.
type circuit struct {
	cb       *gobreaker.CircuitBreaker[envelope.Receipt]
	probeMin time.Duration
	probeMax time.Duration
	now      func() time.Time
	onChange func(from, to gobreaker.State)

	mu           sync.Mutex
	failedProbes int
	nextProbe    time.Time
}

func newCircuit(name string, failures uint32, probeMin, probeMax time.Duration, isSuccessful, isExcluded func(error) bool,
	now func() time.Time, onChange func(from, to gobreaker.State)) *circuit {
	c := &circuit{probeMin: min(probeMin, probeMax), probeMax: probeMax, now: now, onChange: onChange}
	c.cb = gobreaker.NewCircuitBreaker[envelope.Receipt](gobreaker.Settings{
		Name:        name,
		MaxRequests: 1,
		// gobreaker goes half-open after the shortest wait; allow
		// keeps the probe back until its turn.
		Timeout:      c.probeMin,
		ReadyToTrip:  func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= failures },
		IsSuccessful: isSuccessful,
		IsExcluded:   isExcluded,
		// Called under gobreaker's lock: never call back into cb here.
		OnStateChange: func(_ string, from, to gobreaker.State) {
			c.mu.Lock()
			switch {
			case to == gobreaker.StateOpen && from == gobreaker.StateHalfOpen:
				c.failedProbes++
				c.nextProbe = c.now().Add(c.probeDelay())
			case to == gobreaker.StateOpen:
				c.failedProbes = 0
				c.nextProbe = c.now().Add(c.probeMin)
			case to == gobreaker.StateClosed:
				c.failedProbes = 0
			}
			c.mu.Unlock()
			c.onChange(from, to)
		},
	})
	return c
}

// probeDelay is the wait before the next probe after failedProbes
// failed ones; c.mu is held.
func (c *circuit) probeDelay() time.Duration {
	d := c.probeMin << min(c.failedProbes, 20)
	return min(d, c.probeMax)
}

// State is what the loop acts on: half-open only once the probe's turn
// has come, open until then.
func (c *circuit) State() gobreaker.State {
	st := c.cb.State()
	if st == gobreaker.StateHalfOpen && c.untilProbe() > 0 {
		return gobreaker.StateOpen
	}
	return st
}

// untilProbe is how long until a probe may go (0: now, or not open).
func (c *circuit) untilProbe() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return max(c.nextProbe.Sub(c.now()), 0)
}

// Execute runs send through the breaker; before the probe's turn it
// fails with gobreaker.ErrOpenState without calling send.
func (c *circuit) Execute(send func() (envelope.Receipt, error)) (envelope.Receipt, error) {
	if c.State() == gobreaker.StateOpen {
		return envelope.Receipt{}, gobreaker.ErrOpenState
	}
	return c.cb.Execute(send)
}
