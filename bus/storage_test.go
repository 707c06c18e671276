package bus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"hotline/envelope"
)

// logLines collects JSON log records for assertions.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logLines) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// count returns how many records have the level and a message starting
// with prefix.
func (l *logLines) count(t *testing.T, level slog.Level, prefix string) int {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for line := range strings.SplitSeq(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec struct{ Level, Msg string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec.Level == level.String() && strings.HasPrefix(rec.Msg, prefix) {
			n++
		}
	}
	return n
}

// startExternalServer runs a standalone JetStream server with a client
// port, standing in for a cluster the bus only connects to.
func startExternalServer(t *testing.T) string {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
		StoreDir: t.TempDir(), NoSigs: true, JetStreamMaxMemory: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("external nats-server not ready")
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv.ClientURL()
}

func inboundMessage(i int) *envelope.Message {
	now := time.Now().UTC()
	return &envelope.Message{
		ID:            envelope.NewID(now),
		Platform:      envelope.PlatformSMS,
		Account:       "sms-main",
		PlatformMsgID: fmt.Sprintf("SM%05d", i),
		Conversation:  envelope.ConversationKey(envelope.PlatformSMS, "sms-main", "+15550100"),
		From:          envelope.Party{ID: "+15550100"},
		Kind:          envelope.KindText,
		Text:          strings.Repeat("x", 400),
		ReceivedAt:    now,
	}
}

// TestFullInboundStreamRefusesThenResumes fills HOTLINE_IN to its
// max_bytes: publishes fail at once with a clear error, storage is not
// ok with the reason, nothing acknowledged is dropped to make room, and
// once an operator makes room intake resumes without a restart.
func TestFullInboundStreamRefusesThenResumes(t *testing.T) {
	t.Parallel()
	const maxBytes = 16 << 10
	tests := []struct {
		name     string
		external bool // connect to a server as to a cluster, instead of embedding it
		// makeRoom does what an operator would and reports which
		// acknowledged sequences the stream may no longer hold.
		makeRoom func(t *testing.T, b *Bus) (removedUpTo uint64)
	}{
		{"embedded, max_bytes raised", false, raiseMaxBytes},
		{"embedded, handled messages purged", false, purgeAllButLast},
		{"cluster, max_bytes raised", true, raiseMaxBytes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var logs logLines
			reg := prometheus.NewRegistry()
			cfg := Config{StoreDir: t.TempDir(), Streams: map[string]StreamLimits{"in": {MaxBytes: maxBytes}}}
			if tc.external {
				cfg = Config{URL: startExternalServer(t), Streams: cfg.Streams}
			}
			b, err := Open(ctx, cfg, Deps{Logger: logs.logger(), Registry: reg})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() { closeBus(t, b) })

			var acked []uint64
			var refused error
			for i := range 200 {
				ack, err := b.PublishInbound(ctx, inboundMessage(i), nil)
				if err != nil {
					refused = err
					break
				}
				acked = append(acked, ack.Sequence)
			}
			if refused == nil {
				t.Fatalf("200 messages of 400 bytes fit in a %d-byte stream", maxBytes)
			}
			if !errors.Is(refused, ErrStorageUnavailable) || !strings.Contains(refused.Error(), "HOTLINE_IN is full (max_bytes 16 KiB, discard new)") {
				t.Fatalf("publish into a full stream: %v, want ErrStorageUnavailable saying HOTLINE_IN is full", refused)
			}
			if ok, reason := b.Storage(); ok || reason != "HOTLINE_IN is full (max_bytes 16 KiB, discard new)" {
				t.Fatalf("Storage() = %v, %q; want not ok, HOTLINE_IN is full (max_bytes 16 KiB, discard new)", ok, reason)
			}
			if got := testutil.ToFloat64(b.metrics.storageOK); got != 0 {
				t.Fatalf("hotline_storage_ok = %v while full, want 0", got)
			}
			// Refused again and again: still one error line for the fault.
			for i := range 5 {
				start := time.Now()
				if _, err := b.PublishInbound(ctx, inboundMessage(1000+i), nil); !errors.Is(err, ErrStorageUnavailable) {
					t.Fatalf("publish %d into a full stream: %v, want ErrStorageUnavailable", i, err)
				}
				if d := time.Since(start); d > time.Second {
					t.Fatalf("a refused publish took %v; the server refuses at once", d)
				}
			}
			removedUpTo := tc.makeRoom(t, b)
			// No publish in between: the watchdog sees the room.
			waitFor(t, "storage to be ok again", func() bool { ok, _ := b.Storage(); return ok })
			if got := testutil.ToFloat64(b.metrics.storageOK); got != 1 {
				t.Fatalf("hotline_storage_ok = %v after recovery, want 1", got)
			}
			for i := range 3 {
				ack, err := b.PublishInbound(ctx, inboundMessage(2000+i), nil)
				if err != nil {
					t.Fatalf("publish after making room: %v", err)
				}
				acked = append(acked, ack.Sequence)
			}
			st, err := b.JetStream().Stream(ctx, StreamIn)
			if err != nil {
				t.Fatal(err)
			}
			for _, seq := range acked {
				if seq <= removedUpTo {
					continue
				}
				if _, err := st.GetMsg(ctx, seq); err != nil {
					t.Errorf("acknowledged message %d is not in HOTLINE_IN: %v", seq, err)
				}
			}
			if n := logs.count(t, slog.LevelError, "storage unavailable"); n != 1 {
				t.Errorf("%d error lines for one fault, want 1:\n%s", n, logs.buf.String())
			}
			if n := logs.count(t, slog.LevelInfo, "storage recovered"); n != 1 {
				t.Errorf("%d recovery lines, want 1:\n%s", n, logs.buf.String())
			}
		})
	}
}

func raiseMaxBytes(t *testing.T, b *Bus) uint64 {
	t.Helper()
	ctx := context.Background()
	st, err := b.JetStream().Stream(ctx, StreamIn)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	cfg.MaxBytes = 1 << 20
	if _, err := b.JetStream().UpdateStream(ctx, cfg); err != nil {
		t.Fatalf("raise max_bytes: %v", err)
	}
	return 0
}

func purgeAllButLast(t *testing.T, b *Bus) uint64 {
	t.Helper()
	ctx := context.Background()
	st, err := b.JetStream().Stream(ctx, StreamIn)
	if err != nil {
		t.Fatal(err)
	}
	last := st.CachedInfo().State.LastSeq
	if err := st.Purge(ctx, jetstream.WithPurgeKeep(2)); err != nil {
		t.Fatalf("purge: %v", err)
	}
	return last - 2
}

// TestInboundStreamUpgradedToDiscardNew: a store created when HOTLINE_IN
// dropped its oldest messages at its limit is switched over at start-up.
func TestInboundStreamUpgradedToDiscardNew(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	b := openTestBus(t, dir)
	st, err := b.JetStream().Stream(ctx, StreamIn)
	if err != nil {
		t.Fatal(err)
	}
	old := st.CachedInfo().Config
	old.Discard = jetstream.DiscardOld
	if _, err := b.JetStream().UpdateStream(ctx, old); err != nil {
		t.Fatalf("set discard old: %v", err)
	}
	closeBus(t, b)

	b = openTestBus(t, dir)
	st, err = b.JetStream().Stream(ctx, StreamIn)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.CachedInfo().Config.Discard; got != jetstream.DiscardNew {
		t.Fatalf("HOTLINE_IN discard policy after Open: %v, want new", got)
	}
	out, err := b.JetStream().Stream(ctx, StreamOut)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.CachedInfo().Config.Discard; got != jetstream.DiscardOld {
		t.Fatalf("HOTLINE_OUT discard policy: %v, want old (unchanged)", got)
	}
}

// TestStorageStateTransitions drives the state machine with publish
// outcomes and watchdog readings: one error line when storage goes bad,
// one info line when it recovers, and nothing per request in between.
func TestStorageStateTransitions(t *testing.T) {
	t.Parallel()
	timeout := fmt.Errorf("bus: publish hotline.in.sms.a: %w", context.DeadlineExceeded)
	full := &jetstream.APIError{Code: 503, ErrorCode: errCodeStoreFailed, Description: "maximum bytes exceeded"}
	noResources := &jetstream.APIError{Code: 503, ErrorCode: errCodeInsufficientResources, Description: "insufficient resources"}
	limits := jetstream.StreamConfig{MaxBytes: 1 << 30, Discard: jetstream.DiscardNew}
	info := func(bytes uint64) *jetstream.StreamInfo {
		return &jetstream.StreamInfo{Config: limits, State: jetstream.StreamState{Bytes: bytes}}
	}
	type step struct {
		fail     error  // an inbound publish failed with this
		ok       bool   // an inbound publish succeeded
		info     uint64 // the watchdog read HOTLINE_IN holding this many bytes (0: no reading)
		advance  time.Duration
		expire   bool
		embedded bool
	}
	tests := []struct {
		name       string
		steps      []step
		wantOK     bool
		wantReason string
		errors     int
		infos      int
	}{
		{"cluster: two timeouts are a slow moment", []step{{fail: timeout}, {fail: timeout}}, true, "", 0, 0},
		{"cluster: three timeouts in a row", []step{{fail: timeout}, {fail: timeout}, {fail: timeout}, {fail: timeout}, {fail: timeout}},
			false, "HOTLINE_IN cannot be written: 3 publishes in a row got no answer", 1, 0},
		{"cluster: a success clears timeouts", []step{{fail: timeout}, {fail: timeout}, {fail: timeout}, {ok: true}}, true, "", 1, 1},
		{"cluster: a success between timeouts resets the streak", []step{{fail: timeout}, {fail: timeout}, {ok: true}, {fail: timeout}}, true, "", 0, 0},
		{"embedded: timeouts are left to the server's health", []step{{fail: timeout, embedded: true}, {fail: timeout, embedded: true}, {fail: timeout, embedded: true}}, true, "", 0, 0},
		{"full until the watchdog sees room", []step{{fail: full}, {fail: full}, {info: 1<<30 - 100}, {fail: full}},
			false, "HOTLINE_IN is full (max_bytes 1 GiB, discard new)", 1, 0},
		{"full, then room", []step{{fail: full}, {fail: full}, {info: 1 << 29}}, true, "", 1, 1},
		{"full, then a success", []step{{fail: full}, {ok: true}}, true, "", 1, 1},
		{"storage limit: evidence expires", []step{{fail: noResources}, {advance: evidenceTTL - time.Second, expire: true}}, false,
			"HOTLINE_IN cannot be written: JetStream's storage limit is reached (insufficient resources)", 1, 0},
		{"storage limit: evidence expired", []step{{fail: noResources}, {advance: evidenceTTL, expire: true}}, true, "", 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs logLines
			m, err := newMetrics(prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			s := newStorage(logs.logger(), m, func() time.Time { return now })
			s.limits = limits
			for _, st := range tc.steps {
				now = now.Add(st.advance)
				switch {
				case st.fail != nil:
					s.inboundFailed(st.fail, 500, st.embedded)
				case st.ok:
					s.published()
				case st.info > 0:
					s.inboundLimits(info(st.info))
				}
				if st.expire {
					s.expire()
				}
			}
			ok, reason := s.view()
			if ok != tc.wantOK || !strings.HasPrefix(reason, tc.wantReason) {
				t.Errorf("state: %v %q, want %v %q", ok, reason, tc.wantOK, tc.wantReason)
			}
			if got := testutil.ToFloat64(m.storageOK); (got == 1) != tc.wantOK {
				t.Errorf("hotline_storage_ok = %v, want ok=%v", got, tc.wantOK)
			}
			if n := logs.count(t, slog.LevelError, "storage unavailable"); n != tc.errors {
				t.Errorf("%d error lines, want %d:\n%s", n, tc.errors, logs.buf.String())
			}
			if n := logs.count(t, slog.LevelInfo, "storage recovered"); n != tc.infos {
				t.Errorf("%d recovery lines, want %d:\n%s", n, tc.infos, logs.buf.String())
			}
		})
	}
}

func TestHumanBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int64
		want string
	}{{512, "512 B"}, {16 << 10, "16 KiB"}, {1 << 30, "1 GiB"}, {3 << 29, "1.5 GiB"}} {
		if got := humanBytes(tc.n); got != tc.want {
			t.Errorf("humanBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
