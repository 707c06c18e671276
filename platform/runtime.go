package platform

import (
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// APIBase is an account's api_base, or the platform's own root when it
// sets none, without a trailing slash (paths are appended to it).
func APIBase(configured, platformDefault string) string {
	if configured == "" {
		configured = platformDefault
	}
	return strings.TrimRight(configured, "/")
}

// Runtime is what every adapter talks through besides the bus.
type Runtime struct {
	Log  *slog.Logger
	HTTP *http.Client
	Now  func() time.Time
}

// NewRuntime fills what an adapter's Deps left out: a logger that
// discards, an HTTP client that gives up after 15 s (no platform API
// answers slower when it is well), the wall clock. The logger names the
// platform and account on every line.
func NewRuntime(log *slog.Logger, client *http.Client, now func() time.Time, platformName, account string) Runtime {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	if now == nil {
		now = time.Now
	}
	return Runtime{Log: log.With("platform", platformName, "account", account), HTTP: client, Now: now}
}
