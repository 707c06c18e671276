package outbound

import "github.com/prometheus/client_golang/prometheus/testutil"

// Outcome reads a loop's outcome counter, for tests outside the package.
func Outcome(l *Loop, outcome string) float64 {
	return testutil.ToFloat64(l.m.outcomes.WithLabelValues(l.cfg.Platform, l.cfg.Account, outcome))
}
