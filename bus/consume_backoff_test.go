package bus

import (
	"testing"
	"time"
)

func TestBackoffDoublesWithinJitterUpToTheLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		attempt    int
		first, max time.Duration
		center     time.Duration
	}{
		{1, time.Second, time.Minute, time.Second},
		{2, time.Second, time.Minute, 2 * time.Second},
		{7, time.Second, time.Minute, time.Minute}, // 64s capped
		{1000, time.Second, 5 * time.Minute, 5 * time.Minute},
		{0, time.Second, time.Minute, time.Second},
	}
	for _, tc := range tests {
		for range 200 {
			d := Backoff(tc.attempt, tc.first, tc.max)
			if lo, hi := tc.center-tc.center/5, tc.center+tc.center/5; d < lo || d > hi {
				t.Fatalf("Backoff(%d, %s, %s) = %s, want within %s..%s", tc.attempt, tc.first, tc.max, d, lo, hi)
			}
		}
	}
}
