package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"hotline/adapters/telegram"
	"hotline/bus"
	"hotline/config"
)

// logRecords returns the JSON log records in logs with level and a
// message starting with prefix.
func logRecords(t *testing.T, logs *syncBuffer, level slog.Level, prefix string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["level"] == level.String() && strings.HasPrefix(fmt.Sprint(rec["msg"]), prefix) {
			out = append(out, rec)
		}
	}
	return out
}

// startServeLogging is startServe with the gateway's log kept.
func startServeLogging(t *testing.T, cfg config.Config, log *slog.Logger) (public, admin string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan [2]string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, log, func(p, a net.Addr) { addrs <- [2]string{p.String(), a.String()} })
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
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v, want nil after a stop", err)
			}
		case <-time.After(cfg.HTTP.ShutdownTimeout + 5*time.Second):
			t.Error("serve did not stop within the shutdown timeout")
		}
	})
	return public, admin
}

// mountTmpfs mounts a tmpfs of size bytes on a fresh directory, or skips
// the test where mounting is not allowed.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root or CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fillDisk writes a ballast file until the filesystem has no room left.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("ballast: %v", err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("ballast: %v", err)
			}
			break
		}
	}
	// Whatever a full chunk no longer fitted into.
	for {
		if _, err := f.Write(chunk[:4096]); err != nil {
			return
		}
	}
}

// telegramAPI is a Bot API that accepts every call and remembers the
// chats sendMessage went to.
func telegramAPI(t *testing.T) (url string, sentTo func() map[int64]bool) {
	t.Helper()
	var mu sync.Mutex
	sent := map[int64]bool{}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/getMe"):
			fmt.Fprint(w, `{"ok":true,"result":{"id":7000000001,"is_bot":true,"first_name":"Hotline","username":"hotline_bot"}}`)
		case strings.HasSuffix(r.URL.Path, "/sendMessage"):
			_ = r.ParseForm()
			var chat int64
			fmt.Sscan(r.Form.Get("chat_id"), &chat)
			mu.Lock()
			sent[chat] = true
			mu.Unlock()
			fmt.Fprintf(w, `{"ok":true,"result":{"message_id":1,"date":1764072000,"chat":{"id":%d,"type":"private"}}}`, chat)
		default:
			fmt.Fprint(w, `{"ok":true,"result":true}`)
		}
	}))
	t.Cleanup(api.Close)
	return api.URL, func() map[int64]bool {
		mu.Lock()
		defer mu.Unlock()
		out := map[int64]bool{}
		for k, v := range sent {
			out[k] = v
		}
		return out
	}
}

// postUpdate delivers a Telegram update asking for help from chat id.
func postUpdate(t *testing.T, public string, updateID int) (code int, body string, took time.Duration) {
	t.Helper()
	update := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":1764072000,"chat":{"id":%d,"type":"private"},`+
		`"from":{"id":%d,"is_bot":false,"first_name":"Ana","language_code":"en"},"text":"help"}}`, updateID, updateID, updateID, updateID)
	req, _ := http.NewRequest(http.MethodPost, "http://"+public+"/webhooks/telegram/tg-main", strings.NewReader(update))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "storage-test-secret")
	start := time.Now()
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("update %d: %v", updateID, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), time.Since(start)
}

// storedUpdates returns the Telegram update ids HOTLINE_IN holds, read
// through the embedded server's client port.
func storedUpdates(t *testing.T, natsAddr string) map[string]bool {
	t.Helper()
	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		t.Fatalf("connect to embedded nats: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, bus.StreamIn)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	info := st.CachedInfo()
	out := map[string]bool{}
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get %d: %v", seq, err)
		}
		out[strings.TrimPrefix(m.Header.Get(jetstream.MsgIDHeader), "in:telegram:tg-main:")] = true
	}
	return out
}

// TestServeStorageDiskFull runs the gateway with its store on a small
// tmpfs and fills the disk under it: webhooks answer 503 (never 200 for
// a message that was not stored), /readyz says why, one error line marks
// the fault; once the ballast is deleted intake resumes without a
// restart and the router answers again.
func TestServeStorageDiskFull(t *testing.T) {
	t.Parallel()
	started := time.Now()
	dir := mountTmpfs(t, 64<<20)
	apiURL, sentTo := telegramAPI(t)
	cfg := testConfig(t, filepath.Join(dir, "nats"))
	cfg.Router.DefaultLang = "en"
	addAccount(&cfg, telegram.Platform(), &telegram.Config{Account: "tg-main", APIBase: apiURL,
		Token: "7000000001:AAE-token-for-storage-test", Mode: "webhook", WebhookSecret: "storage-test-secret"})
	var logs syncBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway log:\n%s", logs.String())
		}
	})
	public, _ := startServeLogging(t, cfg, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))

	acked := map[string]bool{}
	unanswered := map[string]bool{} // acknowledged without the answer in the response
	next := 100
	post := func() (int, string, time.Duration) {
		next++
		code, body, took := postUpdate(t, public, next)
		if code == http.StatusOK {
			acked[fmt.Sprint(next)] = true
			if !strings.Contains(body, "sendMessage") {
				unanswered[fmt.Sprint(next)] = true
			}
		}
		return code, body, took
	}
	if code, body, _ := post(); code != 200 || !strings.Contains(body, `"method":"sendMessage"`) {
		t.Fatalf("before the disk fills: %d %s, want 200 with the answer", code, body)
	}

	ballast := filepath.Join(dir, "ballast")
	fillDisk(t, ballast)
	// What the store had allocated before the disk filled takes a few
	// more messages; then a write fails.
	refusedAt := 0
	for i := 0; i < 12 && refusedAt == 0; i++ {
		code, body, took := post()
		t.Logf("disk full, update %d: %d in %v", next, code, took.Round(time.Millisecond))
		switch code {
		case http.StatusOK:
		case http.StatusServiceUnavailable:
			refusedAt = next
		default:
			t.Fatalf("update %d on a full disk: %d %s, want 200 (stored) or 503", next, code, body)
		}
	}
	if refusedAt == 0 {
		t.Fatalf("12 updates were stored on a full disk")
	}
	code, body := get(t, "http://"+public+"/readyz", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "no space left on device") {
		t.Fatalf("/readyz on a full disk: %d %q, want 503 naming the disk", code, body)
	}
	if _, body := get(t, "http://"+public+"/metrics", ""); !strings.Contains(body, "\nhotline_storage_ok 0\n") {
		t.Fatalf("metrics on a full disk lack hotline_storage_ok 0")
	}
	// Refused at once now, not after a publish timeout.
	for range 3 {
		code, _, took := post()
		if code != http.StatusServiceUnavailable || took > time.Second {
			t.Fatalf("update %d on a full disk: %d after %v, want 503 within 1s", next, code, took)
		}
	}

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body = get(t, "http://"+public+"/readyz", "")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz 20s after the disk has room: %d %q", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	code, body, took := post()
	if code != 200 || !strings.Contains(body, `"method":"sendMessage"`) {
		t.Fatalf("after recovery: %d %s, want 200 with the router's answer", code, body)
	}
	t.Logf("recovered: update %d answered in %v", next, took.Round(time.Millisecond))

	stored := storedUpdates(t, cfg.NATS.Listen)
	for id := range acked {
		if !stored[id] {
			t.Errorf("update %s got 200 but is not in HOTLINE_IN", id)
		}
	}
	if got := logRecords(t, &logs, slog.LevelError, "storage unavailable"); len(got) != 1 {
		t.Errorf("%d error lines for the fault, want 1: %v", len(got), got)
	} else if r := fmt.Sprint(got[0]["reason"]); !strings.Contains(r, "cannot be written") || !strings.Contains(r, "no space left on device") {
		t.Errorf("fault logged with reason %q", r)
	}
	if got := logRecords(t, &logs, slog.LevelInfo, "storage recovered"); len(got) != 1 {
		t.Errorf("%d recovery lines, want 1: %v", len(got), got)
	}
	if _, body := get(t, "http://"+public+"/metrics", ""); !strings.Contains(body, "\nhotline_storage_ok 1\n") ||
		!strings.Contains(body, "\nhotline_storage_recoveries_total 1\n") {
		t.Errorf("metrics after recovery lack hotline_storage_ok 1 and hotline_storage_recoveries_total 1")
	}
	// The router survived too: what was stored while it could not save
	// sessions is answered through the API now.
	deadline = time.Now().Add(15 * time.Second)
	for {
		missing := []string{}
		sent := sentTo()
		for id := range unanswered {
			var chat int64
			fmt.Sscan(id, &chat)
			if !sent[chat] {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("updates %v, stored while the disk was full, were never answered", missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("acknowledged %d updates (%d answered later), all stored; took %v",
		len(acked), len(unanswered), time.Since(started).Round(time.Millisecond))
}
