// Package console is the operator console on the admin listener: one
// page (plain HTML, CSS and JavaScript, embedded) for degraded modes, live
// traffic, handoffs and the review queue, driven by the admin API; the
// login that lets a browser use that API; and the live-traffic stream.
//
// The page holds no state of its own: every action is an admin API call,
// so what an operator does in the console is exactly what `hotline mode`
// or a script does, audited the same way.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"hotline/httpjson"

	"golang.org/x/time/rate"
)

//go:embed static
var static embed.FS

// Traffic is the message flow of one platform over the last second.
type Traffic struct {
	In     float64 `json:"in"`     // messages from users per second
	Out    float64 `json:"out"`    // replies queued per second
	Failed float64 `json:"failed"` // delivery failures (retrying, failed, dead) per second
}

// Snapshot is one update of the live view.
type Snapshot struct {
	At      time.Time          `json:"at"`
	Traffic map[string]Traffic `json:"traffic"` // by platform
	// Status is the body of GET /admin/v1/status: modes, circuits,
	// stream backlogs, handoff and review counts.
	Status any `json:"status"`
}

// Source produces the live view.
type Source interface {
	Snapshot(ctx context.Context) (Snapshot, error)
}

// Config configures the console.
type Config struct {
	// Interval between live updates; 0 means one second.
	Interval time.Duration
}

// Deps are the console's collaborators.
type Deps struct {
	Auth   *Auth
	Source Source
	Logger *slog.Logger
}

// Console serves the console's page, login and live stream.
type Console struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	closeOnce sync.Once
	closing   chan struct{}
}

// New returns the console.
func New(cfg Config, deps Deps) *Console {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Console{cfg: cfg, deps: deps, log: log.With("component", "console"), closing: make(chan struct{})}
}

// Routes returns the console's handlers by ServeMux pattern. The live
// stream is behind Auth; the page, its assets, the session probe and the
// login form are not (the page shows the login form when needed).
func (c *Console) Routes() map[string]http.Handler {
	assets, _ := fs.Sub(static, "static")
	files := http.StripPrefix("/console/static/", http.FileServerFS(assets))
	return map[string]http.Handler{
		"GET /console":          http.RedirectHandler("/console/", http.StatusMovedPermanently),
		"GET /console/{$}":      http.HandlerFunc(c.page),
		"GET /console/static/":  withHeaders(files),
		"GET /console/session":  http.HandlerFunc(c.deps.Auth.sessionInfo),
		"POST /console/login":   http.HandlerFunc(c.deps.Auth.login),
		"POST /console/logout":  http.HandlerFunc(c.deps.Auth.logout),
		"GET /console/events":   c.deps.Auth.Require(http.HandlerFunc(c.events)),
		"GET /console/snapshot": c.deps.Auth.Require(http.HandlerFunc(c.snapshot)),
	}
}

// Shutdown ends every live stream, so an HTTP server's graceful shutdown
// does not wait for browsers that would never hang up. Register it with
// http.Server.RegisterOnShutdown.
func (c *Console) Shutdown() { c.closeOnce.Do(func() { close(c.closing) }) }

// contentSecurity allows nothing but the console's own files: no inline
// script, no third-party hosts, no framing.
const contentSecurity = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

func withHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", contentSecurity)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

func (c *Console) page(w http.ResponseWriter, r *http.Request) {
	body, err := static.ReadFile("static/index.html")
	if err != nil {
		http.Error(w, "console page missing from the build", http.StatusInternalServerError)
		return
	}
	withHeaders(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("X-Frame-Options", "DENY")
		_, _ = w.Write(body)
	})).ServeHTTP(w, r)
}

func (c *Console) snapshot(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	snap, err := c.deps.Source.Snapshot(ctx)
	if err != nil {
		httpjson.Error(w, http.StatusServiceUnavailable, "console: live view: "+err.Error())
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpjson.Write(w, http.StatusOK, snap)
}

// events streams a Snapshot every interval as server-sent events until
// the browser leaves or the server shuts down. Each write extends the
// connection's write deadline, which the admin server otherwise sets for
// ordinary requests.
func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	send := func(event string, v any) bool {
		data, err := json.Marshal(v)
		if err != nil {
			c.log.Error("live view encode", "err", err)
			return false
		}
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := w.Write([]byte("event: " + event + "\ndata: " + string(data) + "\n\n")); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := w.Write([]byte("retry: 2000\n\n")); err != nil || rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(c.cfg.Interval)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(r.Context(), c.cfg.Interval*5)
		snap, err := c.deps.Source.Snapshot(ctx)
		cancel()
		ok := true
		if err != nil {
			ok = send("trouble", map[string]string{"error": err.Error()})
		} else {
			ok = send("live", snap)
		}
		if !ok {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-c.closing:
			return
		case <-tick.C:
		}
		// A stream outlives the check that opened it: end it when the
		// session it was opened with expires.
		if c.deps.Auth.authorize(r) != nil {
			send("signed-out", map[string]string{"error": "session expired; sign in again"})
			return
		}
	}
}

// loginThrottle slows down guessing: per client address a few attempts,
// then one every two seconds; for the whole listener a larger budget, so
// that many addresses cannot guess fast either. One client over its
// budget does not lock out the others.
type loginThrottle struct {
	mu      sync.Mutex
	now     func() time.Time
	all     *rate.Limiter
	clients map[string]*rate.Limiter
	pruned  time.Time
}

func newLoginThrottle(now func() time.Time) *loginThrottle {
	return &loginThrottle{now: now, all: rate.NewLimiter(rate.Every(200*time.Millisecond), 20), clients: map[string]*rate.Limiter{}}
}

// take spends one attempt for client, or reports that it must wait.
func (l *loginThrottle) take(client string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.pruned) > time.Minute {
		// A limiter that has refilled is the same as a new one.
		for c, lim := range l.clients {
			if lim.TokensAt(now) >= float64(lim.Burst()) {
				delete(l.clients, c)
			}
		}
		l.pruned = now
	}
	lim := l.clients[client]
	if lim == nil {
		lim = rate.NewLimiter(rate.Every(2*time.Second), 5)
		l.clients[client] = lim
	}
	if lim.TokensAt(now) < 1 || !l.all.AllowN(now, 1) {
		return false
	}
	return lim.AllowN(now, 1)
}
