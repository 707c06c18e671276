package router

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	messages *prometheus.CounterVec
	handoffs *prometheus.CounterVec
	latency  prometheus.Histogram
	// verifyRefused counts binding codes not sent, by the budget or
	// rule that stopped them.
	verifyRefused *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_router_messages_total",
			Help: "Inbound messages routed, by result (command, faq, handoff, refused, opted_out, ...).",
		}, []string{"result"}),
		handoffs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_router_handoffs_total", Help: "Handoffs queued for agents, by priority.",
		}, []string{"priority"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hotline_router_process_seconds", Help: "Time to route one inbound message.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .5, 1},
		}),
		verifyRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_router_verification_refused_total",
			Help: "Phone-binding codes not sent, by reason (conversation, number, address, gateway, region, chat_first).",
		}, []string{"reason"}),
	}
	for _, c := range []prometheus.Collector{m.messages, m.handoffs, m.latency, m.verifyRefused} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
