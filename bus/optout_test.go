package bus

import (
	"context"
	"testing"
	"time"
)

// Changes apply in the order of the messages behind them, whatever order
// they arrive in: a STOP handled again after the START that followed it
// changes nothing.
func TestOptOutChangesOrderedByMessageTime(t *testing.T) {
	t.Parallel()
	b := openTestBus(t, t.TempDir())
	ctx := context.Background()
	const conv = "sms:sms-main:+14155552671"
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	steps := []struct {
		out       bool
		at        time.Time
		applied   bool
		optedOut  bool
		situation string
	}{
		{true, t0, true, true, "STOP"},
		{false, t0.Add(time.Minute), true, false, "START a minute later"},
		{true, t0, false, false, "the STOP again (a redelivery)"},
		{true, t0.Add(time.Minute), true, true, "a STOP at the START's very time: applied (same-time changes are retries)"},
		{false, t0.Add(2 * time.Minute), true, false, "START"},
		{false, t0.Add(2 * time.Minute), true, false, "the same START again"},
	}
	for _, s := range steps {
		applied, err := b.SetOptOut(ctx, conv, s.out, s.at)
		if err != nil {
			t.Fatal(err)
		}
		opted, err := b.OptedOut(ctx, conv)
		if err != nil {
			t.Fatal(err)
		}
		if applied != s.applied || opted != s.optedOut {
			t.Fatalf("%s: applied %v, opted out %v; want %v, %v", s.situation, applied, opted, s.applied, s.optedOut)
		}
	}
}
