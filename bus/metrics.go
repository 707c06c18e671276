package bus

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	connected   prometheus.Gauge
	published   *prometheus.CounterVec // by stream
	duplicates  *prometheus.CounterVec // by stream
	publishErrs prometheus.Counter
	handled     *prometheus.CounterVec // by consumer and outcome
	storageOK   prometheus.Gauge
	recoveries  prometheus.Counter
	owned       *prometheus.GaugeVec // units of work this instance owns, by group
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_bus_connected", Help: "1 while the NATS connection is up.",
		}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_bus_published_total", Help: "Messages stored by JetStream, by stream.",
		}, []string{"stream"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_bus_duplicates_total", Help: "Publishes dropped by the stream's duplicate window, by stream.",
		}, []string{"stream"}),
		publishErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_bus_publish_errors_total", Help: "Publishes JetStream did not acknowledge.",
		}),
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_bus_handled_total", Help: "Consumed messages by consumer and outcome (ack, retry, dead).",
		}, []string{"consumer", "outcome"}),
		storageOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_storage_ok", Help: "1 while inbound messages can be stored; 0 while storage refuses them (disk full, a write error, HOTLINE_IN at its limit).",
		}),
		recoveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_storage_recoveries_total", Help: "Automatic JetStream restarts that cleared a storage write error.",
		}),
		owned: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hotline_owned_units", Help: "Units of work this instance owns among the gateways sharing the NATS (router partitions, delivery accounts), by group.",
		}, []string{"group"}),
	}
	for _, c := range []prometheus.Collector{m.connected, m.published, m.duplicates, m.publishErrs, m.handled, m.storageOK, m.recoveries, m.owned} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
