package fallback

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Gate outcomes, the values of the decision label. A message gets the
// first that applies, in this order.
const (
	outcomeSilent   = "silent"
	outcomeBusy     = "busy"
	outcomeReadOnly = "read_only"
	outcomeReview   = "review"
	outcomeAnnounce = "announcement"
	outcomeNormal   = "normal"
)

// metrics are the Store's and its Gates' collectors.
type metrics struct {
	active    *prometheus.GaugeVec
	decisions *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	return &metrics{
		active: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hotline_mode_active",
			Help: "Whether a degraded mode is in force in a scope (1) or was and no longer is (0).",
		}, []string{"mode", "scope"})),
		decisions: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_gate_decisions_total",
			Help: "Inbound messages by what the degraded-mode gate decided.",
		}, []string{"decision"})),
	}
}

// register adds c to reg, or returns the collector already registered
// under the same name, so two stores on one registry (tests, a restart of
// the store inside one process) share their series instead of failing.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	var dup prometheus.AlreadyRegisteredError
	if errors.As(err, &dup) {
		if existing, ok := dup.ExistingCollector.(C); ok {
			return existing
		}
	}
	// Any other registration error leaves c working but unexported,
	// which is better than refusing to run the gate over a metric.
	return c
}
