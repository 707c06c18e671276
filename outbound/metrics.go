package outbound

import "github.com/prometheus/client_golang/prometheus"

// Metrics are shared by every loop of a process.
type Metrics struct {
	outcomes    *prometheus.CounterVec
	failures    *prometheus.CounterVec
	circuit     *prometheus.GaugeVec
	sendSeconds *prometheus.HistogramVec
}

// NewMetrics registers the loops' metrics with reg (nil: not exported).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_outbound_outcomes_total",
			Help: "Replies handled by outcome: sent, rerouted, dead, duplicate, circuit_wait.",
		}, []string{"platform", "account", "outcome"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_outbound_send_failures_total", Help: "Failed sends by kind: retryable, throttled, permanent.",
		}, []string{"platform", "account", "kind"}),
		circuit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hotline_outbound_circuit_state", Help: "Circuit breaker per account: 0 closed, 1 half-open, 2 open.",
		}, []string{"platform", "account"}),
		sendSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hotline_outbound_send_seconds", Help: "Time a platform took to accept or refuse a send.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"platform", "account"}),
	}
	if reg != nil {
		reg.MustRegister(m.outcomes, m.failures, m.circuit, m.sendSeconds)
	}
	return m
}
