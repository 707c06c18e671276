package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"hotline/adapters/webchat"
	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/config"
	"hotline/console"
	"hotline/envelope"
	"hotline/platform"
	"hotline/platform/builtin"
)

var httpClient = &http.Client{Timeout: 5 * time.Second}

const testAdminToken = "test-admin-token-0123456789"

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs serve in the background on loopback ports and returns
// its addresses and a stop function that waits for a clean exit.
func startServe(t *testing.T, cfg config.Config) (public, admin string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan [2]string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, slog.New(slog.DiscardHandler), func(p, a net.Addr) {
			addrs <- [2]string{p.String(), a.String()}
		})
	}()
	select {
	case a := <-addrs:
		public, admin = a[0], a[1]
	case err := <-done:
		cancel()
		t.Fatalf("serve exited early: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("serve did not start listening")
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v, want nil after a stop", err)
			}
		case <-time.After(cfg.HTTP.ShutdownTimeout + 5*time.Second):
			t.Error("serve did not stop within the shutdown timeout")
		}
	}
	t.Cleanup(stop)
	return public, admin, stop
}

// addAccount adds one account of p to cfg, as a config file entry would.
func addAccount(cfg *config.Config, p platform.Platform, settings platform.Config) {
	cfg.Accounts = append(cfg.Accounts, config.AccountOf(p, settings))
}

// webchatSettings are the web chat's settings in cfg, to change in place.
func webchatSettings(t *testing.T, cfg config.Config) *webchat.Config {
	t.Helper()
	a, ok := cfg.Find("webchat", "demo")
	if !ok {
		t.Fatal("no web chat in the test config")
	}
	return a.Settings.(*webchat.Config)
}

func testConfig(t *testing.T, storeDir string) config.Config {
	cfg := config.DefaultFor(builtin.Platforms())
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.HTTP.AdminListen = "127.0.0.1:0"
	cfg.HTTP.AdminToken = testAdminToken
	cfg.HTTP.ShutdownTimeout = 10 * time.Second
	cfg.NATS.StoreDir = storeDir
	cfg.NATS.Listen = freeAddr(t)
	return cfg
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServeEndpointsAndRestartKeepsMessages(t *testing.T) {
	t.Parallel()
	store := t.TempDir()
	cfg := testConfig(t, store)
	public, admin, stop := startServe(t, cfg)

	for _, tc := range []struct {
		url, token string
		code       int
		contains   string
	}{
		{"http://" + public + "/healthz", "", 200, "ok"},
		{"http://" + public + "/readyz", "", 200, "ready"},
		{"http://" + public + "/metrics", "", 200, "hotline_bus_connected 1"},
		{"http://" + public + "/metrics", "", 200, "go_goroutines"},
		{"http://" + public + "/metrics", "", 200, "process_resident_memory_bytes"},
		{"http://" + public + "/admin/v1/status", "", 404, ""}, // not on the public listener
		{"http://" + admin + "/admin/v1/status", "", 401, "bearer token"},
		{"http://" + admin + "/admin/v1/status", "wrong-token-0123456789", 401, ""},
		{"http://" + admin + "/admin/v1/status", testAdminToken, 200, `"name":"HOTLINE_IN"`},
		{"http://" + admin + "/console/", "", 200, `id="login-form"`}, // the page itself asks for the token
		{"http://" + admin + "/console/snapshot", "", 401, ""},
		{"http://" + admin + "/console/snapshot", testAdminToken, 200, `"traffic"`},
		{"http://" + public + "/console/", "", 404, ""}, // never on the public listener
		{"http://" + public + "/chat/", "", 200, `id="log"`},
	} {
		code, body := get(t, tc.url, tc.token)
		if code != tc.code || !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s: got %d %q, want %d containing %q", tc.url, code, body, tc.code, tc.contains)
		}
	}

	// Publish through the embedded server's client port, as `nats pub`
	// would, then stop and start again on the same store.
	nc, err := nats.Connect("nats://" + cfg.NATS.Listen)
	if err != nil {
		t.Fatalf("connect to embedded nats: %v", err)
	}
	msg := &nats.Msg{Subject: "hotline.in.sms.sms-main", Data: []byte("STATUS"), Header: nats.Header{envelope.HeaderMsgID: {"SM-restart"}}}
	if _, err := nc.RequestMsg(msg, 5*time.Second); err != nil {
		t.Fatalf("publish: %v", err)
	}
	// The console's live view counts it, as one message in its second.
	// That second shows for one second only, which a slow snapshot on a
	// loaded machine can miss: the message is sent again (a platform
	// retry, stored once: the same Nats-Msg-Id) until one is seen.
	bustest.WaitFor(t, "the console to count the message", func() bool {
		_, body := get(t, "http://"+admin+"/console/snapshot", testAdminToken)
		var snap console.Snapshot
		if json.Unmarshal([]byte(body), &snap) == nil && snap.Traffic["sms"].In > 0 {
			return true
		}
		_, _ = nc.RequestMsg(msg, 5*time.Second)
		return false
	})
	nc.Close()
	stop()

	// The same store behind a fresh client port: the port the first run
	// had is free since the stop, and a parallel test may hold it now.
	cfg.NATS.Listen = freeAddr(t)
	_, admin2, _ := startServe(t, cfg)
	code, body := get(t, "http://"+admin2+"/admin/v1/status", testAdminToken)
	if code != 200 {
		t.Fatalf("status after restart: %d %s", code, body)
	}
	var status struct {
		Streams []bus.StreamStat `json:"streams"`
	}
	if err := json.Unmarshal([]byte(body), &status); err != nil {
		t.Fatal(err)
	}
	if len(status.Streams) == 0 || status.Streams[0].Name != bus.StreamIn || status.Streams[0].Messages != 1 {
		t.Fatalf("after restart streams are %+v, want HOTLINE_IN with the 1 message", status.Streams)
	}
}

func TestConsoleLogoutRevokesTheCookie(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, t.TempDir())
	_, admin, _ := startServe(t, cfg)
	form := strings.NewReader("token=" + testAdminToken)
	req, _ := http.NewRequest("POST", "http://"+admin+"/console/login", form)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if len(res.Cookies()) != 1 {
		t.Fatalf("login set %d cookies", len(res.Cookies()))
	}
	cookie := res.Cookies()[0]
	call := func(method, path string) int {
		req, _ := http.NewRequest(method, "http://"+admin+path, nil)
		req.AddCookie(cookie)
		res, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := call("GET", "/admin/v1/modes"); got != 200 {
		t.Fatalf("with the session: %d", got)
	}
	if got := call("POST", "/console/logout"); got != http.StatusSeeOther {
		t.Fatalf("logout: %d", got)
	}
	if got := call("GET", "/admin/v1/modes"); got != 401 {
		t.Fatalf("the same cookie after logout: %d, want 401", got)
	}
}
