package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotline/bus"
)

func TestReadyzIs503WhenBusIsDown(t *testing.T) {
	b, err := bus.Open(context.Background(), bus.Config{StoreDir: t.TempDir()}, bus.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	readyz(b, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 {
		t.Fatalf("ready bus: got %d, want 200", rec.Code)
	}
	// An adapter that is not ready is named, but the instance still
	// takes messages for the others.
	adapters := map[string]func() error{
		"sms/modem-1":  func() error { return errors.New("modem reopening: open /dev/ttyUSB2: no such file or directory") },
		"webchat/demo": func() error { return nil },
	}
	rec = httptest.NewRecorder()
	readyz(b, adapters).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if want := "ready\nadapter sms/modem-1: modem reopening: open /dev/ttyUSB2: no such file or directory\n"; rec.Code != 200 || rec.Body.String() != want {
		t.Fatalf("with an adapter down: %d %q, want 200 %q", rec.Code, rec.Body.String(), want)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	readyz(b, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "not ready") {
		t.Fatalf("closed bus: got %d %q, want 503 not ready", rec.Code, rec.Body.String())
	}
}

func TestRequestLogOmitsQueryAndCapsBody(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mux := http.NewServeMux()
	var readErr error
	mux.HandleFunc("POST /webhooks/test", func(w http.ResponseWriter, r *http.Request) {
		_, readErr = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusBadRequest)
	})
	h := instrument("public", 1024, nil, log, newHTTPMetrics(prometheus.NewRegistry()), mux)
	req := httptest.NewRequest("POST", "/webhooks/test?access_token=SUPERSECRETTOKEN&signature=abc", strings.NewReader(strings.Repeat("x", 4096)))
	h.ServeHTTP(httptest.NewRecorder(), req)
	var mbe *http.MaxBytesError
	if readErr == nil || !errors.As(readErr, &mbe) {
		t.Fatalf("reading a 4 KiB body under a 1 KiB cap: got %v, want *http.MaxBytesError", readErr)
	}
	if strings.Contains(logs.String(), "SUPERSECRETTOKEN") {
		t.Fatalf("query string logged: %s", logs.String())
	}
	if !strings.Contains(logs.String(), `"path":"/webhooks/test"`) {
		t.Fatalf("request not logged: %s", logs.String())
	}
}

func TestRequestLogLevels(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/boom" {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /healthz", healthz)
	tests := []struct {
		listener, method, path string
		want                   slog.Level
	}{
		{"admin", "GET", "/admin/v1/modes", slog.LevelDebug}, // the console polls this
		{"admin", "PUT", "/admin/v1/modes/read_only", slog.LevelInfo},
		{"admin", "GET", "/boom", slog.LevelError},
		{"public", "GET", "/chat/", slog.LevelInfo},
		{"public", "GET", "/healthz", slog.LevelDebug},
	}
	for _, tc := range tests {
		var logs bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		instrument(tc.listener, 1024, nil, log, newHTTPMetrics(prometheus.NewRegistry()), mux).
			ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tc.method, tc.path, nil))
		var line struct{ Level string }
		if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
			t.Fatalf("%s %s: log %q: %v", tc.method, tc.path, logs.String(), err)
		}
		if line.Level != tc.want.String() {
			t.Errorf("%s %s %s logged at %s, want %s", tc.listener, tc.method, tc.path, line.Level, tc.want)
		}
	}
}

// A stop must not wait out a connection a browser opened ahead of time and
// never used, and must report a request it had to cut.
func TestHTTPStopTellsUnusedConnectionsFromRequests(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
	})
	newServer := func() (*httpServer, string) {
		t.Helper()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := newHTTPServer(mux, slog.New(slog.DiscardHandler))
		go func() { _ = serveHTTP(srv, ln) }()
		return srv, ln.Addr().String()
	}

	srv, addr := newServer()
	preconnect, err := net.Dial("tcp", addr) // like Chrome's: no request
	if err != nil {
		t.Fatal(err)
	}
	defer preconnect.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := srv.stop(ctx); err != nil {
		t.Fatalf("stop with only an unused connection open: %v", err)
	}

	srv, addr = newServer()
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	err = srv.stop(ctx2)
	close(release)
	if err == nil || !strings.Contains(err.Error(), "1 requests still running") {
		t.Fatalf("stop with a request running: %v, want it reported", err)
	}
}

// A logout ends the session for every copy of its cookie: the revocation
// lives in the tokens bucket, which every instance reads.
