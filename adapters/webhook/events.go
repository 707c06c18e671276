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
	return registerShared(reg, prometheus.NewCounterVec(opts, labels))
}

// RegisterGaugeVec is RegisterCounterVec for a gauge vector.
func RegisterGaugeVec(reg prometheus.Registerer, opts prometheus.GaugeOpts, labels ...string) (*prometheus.GaugeVec, error) {
	return registerShared(reg, prometheus.NewGaugeVec(opts, labels))
}

func registerShared[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if reg == nil {
		return c, nil
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}
