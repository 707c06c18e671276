package webhook

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// PlatformEventCounter is hotline_platform_events_total, shared by every
// webhook adapter: updates and events a platform sends that are
// acknowledged and not stored (delivery reports, jobs finished, channel
// posts), by platform, account and event. Each adapter registers it on
// the gateway's registry; the first registration wins and the others
// find it. A nil registry keeps it unexported.
func PlatformEventCounter(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	return RegisterCounterVec(reg, prometheus.CounterOpts{
		Name: "hotline_platform_events_total",
		Help: "Platform events and updates acknowledged to the platform and not stored, by platform, account and event.",
	}, "platform", "account", "event")
}

// RegisterCounterVec registers a counter vector on reg, or returns the
// one already registered under the same name and labels, so several
// accounts of a platform (or several platforms) share one metric.
func RegisterCounterVec(reg prometheus.Registerer, opts prometheus.CounterOpts, labels ...string) (*prometheus.CounterVec, error) {
	c := prometheus.NewCounterVec(opts, labels)
	if reg == nil {
		return c, nil
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing, nil
			}
		}
		return nil, err
	}
	return c, nil
}
