package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"hotline/bus"
	"hotline/envelope"
	"hotline/fallback"
	"hotline/outbound"
	"hotline/router"
)

// StatusReport is GET /admin/v1/status: what an operator checks first in
// an incident.
type StatusReport struct {
	Version  string             `json:"version"`
	Uptime   string             `json:"uptime"`
	Embedded bool               `json:"embedded"`
	Ready    bool               `json:"ready"`
	Error    string             `json:"error,omitempty"`
	Modes    []fallback.Setting `json:"modes"`
	// Platforms are those of the configured accounts, in config order.
	Platforms []string          `json:"platforms"`
	Adapters  map[string]string `json:"adapters"`
	// AdapterHealth is what adapters with more to say report (a modem's
	// signal, registration and memory), by adapter.
	AdapterHealth map[string]map[string]string `json:"adapter_health,omitempty"`
	Circuits      map[string]string            `json:"circuits"`
	Streams       []bus.StreamStat             `json:"streams"`
	Handoffs      HandoffBacklog               `json:"handoffs"`
	Review        int                          `json:"review_pending"`
	// Cluster is where NATS runs and how each stream and bucket is
	// replicated; absent while NATS is unreachable.
	Cluster *bus.ClusterReport `json:"cluster,omitempty"`
}

// HandoffBacklog counts open and claimed handoffs by priority, and those
// past their first-response deadline.
type HandoffBacklog struct {
	Open     map[envelope.Priority]int `json:"open"`
	Claimed  map[envelope.Priority]int `json:"claimed"`
	Breached map[envelope.Priority]int `json:"sla_breached"`
}

type statusSources struct {
	bus       *bus.Bus
	router    *router.Router
	modes     *fallback.Store
	review    *fallback.Review
	loops     []*outbound.Loop
	adapters  map[string]func() error
	health    map[string]func() map[string]string
	started   time.Time
	version   string
	platforms []string
}

func (s statusSources) report(ctx context.Context) StatusReport {
	rep := StatusReport{
		Version: s.version, Platforms: s.platforms, Uptime: time.Since(s.started).Round(time.Second).String(),
		Embedded: s.bus.Embedded(), Ready: true, Modes: s.modes.List(), Circuits: map[string]string{},
		Handoffs: HandoffBacklog{Open: map[envelope.Priority]int{}, Claimed: map[envelope.Priority]int{}, Breached: map[envelope.Priority]int{}},
	}
	if err := s.bus.Ready(ctx); err != nil {
		rep.Ready, rep.Error = false, err.Error()
	}
	// Before the stream statistics: it bounds itself (a stream without a
	// leader leaves its info request unanswered), so in the incident of
	// all incidents the report still says which servers and streams are
	// down, whatever the slower parts below manage within the deadline.
	if cr, err := s.bus.Cluster(ctx); err == nil {
		rep.Cluster = &cr
	}
	if stats, err := s.bus.Stats(ctx); err == nil {
		rep.Streams = stats
	}
	for _, l := range s.loops {
		rep.Circuits[l.Durable()] = l.CircuitState()
	}
	rep.Adapters = map[string]string{}
	for name, ready := range s.adapters {
		rep.Adapters[name] = "ready"
		if err := ready(); err != nil {
			rep.Adapters[name] = err.Error()
		}
	}
	for name, health := range s.health {
		if rep.AdapterHealth == nil {
			rep.AdapterHealth = map[string]map[string]string{}
		}
		rep.AdapterHealth[name] = health()
	}
	if hs, err := s.router.ListHandoffs(ctx, ""); err == nil {
		now := time.Now()
		for _, h := range hs {
			switch h.State {
			case router.StateOpen:
				rep.Handoffs.Open[h.Priority]++
			case router.StateClaimed:
				rep.Handoffs.Claimed[h.Priority]++
			default:
				continue
			}
			if now.After(h.SLADeadline) && h.Replies == 0 {
				rep.Handoffs.Breached[h.Priority]++
			}
		}
	}
	if pending, err := s.review.Pending(ctx, 1000); err == nil {
		rep.Review = len(pending)
	}
	return rep
}

func (s statusSources) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.report(ctx))
	})
}
