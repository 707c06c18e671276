package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"hotline/bus"
)

// TestReadyzReportsStorage: /readyz is 503 with the reason while storage
// refuses messages, whatever else is fine.
func TestReadyzReportsStorage(t *testing.T) {
	tests := []struct {
		name     string
		ready    fakeReadiness
		code     int
		contains string
	}{
		{"all well", fakeReadiness{storageOK: true}, 200, "ready"},
		{"storage full", fakeReadiness{storageOK: false, reason: "HOTLINE_IN is full (max_bytes 1 GiB, discard new)"}, 503,
			"not ready: storage: HOTLINE_IN is full (max_bytes 1 GiB, discard new)"},
		{"bus down wins", fakeReadiness{err: bus.ErrNotReady}, 503, "not ready: bus: not ready"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			readyz(tc.ready, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.contains) {
				t.Fatalf("got %d %q, want %d containing %q", rec.Code, rec.Body.String(), tc.code, tc.contains)
			}
		})
	}
}

type fakeReadiness struct {
	err       error
	storageOK bool
	reason    string
}

func (f fakeReadiness) Ready(context.Context) error { return f.err }
func (f fakeReadiness) Storage() (bool, string)     { return f.storageOK, f.reason }

// TestStorageRequestLogLevel: a 503 is a deliberate "try again", logged
// as a warning; its cause is logged once where it is known.
func TestStorageRequestLogLevel(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	instrument("public", 1024, nil, log, newHTTPMetrics(prometheus.NewRegistry()), mux).
		ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/webhooks/telegram/tg-main", nil))
	var line struct{ Level string }
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if line.Level != slog.LevelWarn.String() {
		t.Fatalf("a 503 logged at %s, want WARN", line.Level)
	}
}
