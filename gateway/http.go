package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hotline/bus"
)

// httpMetrics counts requests on both listeners.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_http_requests_total", Help: "HTTP requests by listener, route and status code.",
		}, []string{"listener", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hotline_http_request_duration_seconds", Help: "HTTP request latency by listener and route.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 2, 5},
		}, []string{"listener", "route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// instrument caps the body, logs and counts every request. The log line
// has the path but never the query string: platforms put access tokens
// and signatures there.
//
// largeBodies are the routes that take more than maxBody and cap the body
// themselves (413 with their own limit): an adapter's uploads.
func instrument(listener string, maxBody int64, largeBodies map[string]int64, log *slog.Logger, m *httpMetrics, mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		_, pattern := mux.Handler(r)
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, max(maxBody, largeBodies[pattern]))
		}
		rec := &statusRecorder{ResponseWriter: w}
		route := pattern
		if route == "" {
			route = "unmatched"
		}
		mux.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		elapsed := time.Since(start)
		m.requests.WithLabelValues(listener, route, strconv.Itoa(rec.status)).Inc()
		m.duration.WithLabelValues(listener, route).Observe(elapsed.Seconds())
		level := slog.LevelInfo
		switch {
		case rec.status == http.StatusServiceUnavailable:
			// "Try again later", on purpose: whatever made it (storage
			// refusing messages, a platform account not ready) logs its
			// cause once, not once per request.
			level = slog.LevelWarn
		case rec.status >= 500:
			level = slog.LevelError
		case route == "GET /healthz" || route == "GET /readyz" || route == "GET /metrics":
			level = slog.LevelDebug
		case listener == "admin" && r.Method == http.MethodGet && rec.status < 400:
			// The console reads the admin API every two seconds per
			// operator; what operators change is what the log is for.
			level = slog.LevelDebug
		}
		log.Log(r.Context(), level, "http request", "listener", listener, "method", r.Method, "path", r.URL.Path,
			"status", rec.status, "duration", elapsed, "remote", r.RemoteAddr)
	})
}

// readiness is what /readyz asks.
type readiness interface {
	Ready(ctx context.Context) error
	// Storage is false while inbound messages cannot be stored: the
	// instance answers webhooks with 503, so a load balancer should
	// prefer another.
	Storage() (ok bool, reason string)
}

var _ readiness = (*bus.Bus)(nil)

func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// readyz answers 503 while this instance cannot take messages (NATS or
// its storage). Adapters that are not ready (a modem without signal) are
// listed below "ready" but do not make it 503: another instance would
// not be better off, and the channels that work should keep working.
func readyz(ready readiness, adapters map[string]func() error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := ready.Ready(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready:", err)
			return
		}
		if ok, reason := ready.Storage(); !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready: storage:", reason)
			return
		}
		fmt.Fprintln(w, "ready")
		for _, name := range slices.Sorted(maps.Keys(adapters)) {
			if err := adapters[name](); err != nil {
				fmt.Fprintf(w, "adapter %s: %v\n", name, err)
			}
		}
	}
}

func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// newHTTPServer sets the timeouts every hotline listener needs: short
// header reads against slow clients, and writes long enough for a
// webhook that waits up to 5 s for a passive reply.
func newHTTPServer(h http.Handler, log *slog.Logger) *httpServer {
	s := &httpServer{Server: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}, active: map[net.Conn]struct{}{}}
	s.ConnState = s.track
	return s
}

// httpServer is an http.Server that knows how many requests are being
// served, so a stop can tell requests still running from connections
// that merely stay open.
type httpServer struct {
	*http.Server
	mu     sync.Mutex
	active map[net.Conn]struct{} // connections serving a request now
}

func (s *httpServer) track(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if state == http.StateActive {
		s.active[c] = struct{}{}
		return
	}
	delete(s.active, c) // idle, hijacked or closed
}

func (s *httpServer) busy() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.active)
}

// stop shuts the server down gracefully within ctx. What is still open
// when ctx ends is closed; that is an error only if requests were still
// being served. A connection a browser opened ahead of time and never
// used (Chrome does) counts as new for 5 s, which the graceful shutdown
// waits out; dropping it loses nothing.
func (s *httpServer) stop(ctx context.Context) error {
	err := s.Shutdown(ctx)
	if err == nil {
		return nil
	}
	busy := s.busy()
	_ = s.Close()
	if busy > 0 {
		return fmt.Errorf("%d requests still running: %w", busy, err)
	}
	return nil
}

// serveHTTP runs srv on ln until it is shut down.
func serveHTTP(srv *httpServer, ln net.Listener) error {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
