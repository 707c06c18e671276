package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"hotline/envelope"
)

// openTestBus starts an embedded server storing under dir and closes it
// when the test ends.
func openTestBus(t testing.TB, dir string) *Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := Open(ctx, Config{StoreDir: dir}, Deps{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { closeBus(t, b) })
	return b
}

func closeBus(t testing.TB, b *Bus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func streamMsgs(t *testing.T, b *Bus, name string) uint64 {
	t.Helper()
	st, err := b.JetStream().Stream(context.Background(), name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatalf("stream %s info: %v", name, err)
	}
	return info.State.Msgs
}

func TestTopologyCreated(t *testing.T) {
	t.Parallel()
	b := openTestBus(t, t.TempDir())
	ctx := context.Background()
	if err := b.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	for _, s := range streamSpecs() {
		st, err := b.JetStream().Stream(ctx, s.name)
		if err != nil {
			t.Fatalf("stream %s: %v", s.name, err)
		}
		cfg := st.CachedInfo().Config
		if cfg.Storage != jetstream.FileStorage || cfg.Retention != jetstream.LimitsPolicy {
			t.Errorf("%s: storage %v retention %v, want file and limits", s.name, cfg.Storage, cfg.Retention)
		}
		if cfg.MaxAge != s.maxAge {
			t.Errorf("%s: max age %v, want %v", s.name, cfg.MaxAge, s.maxAge)
		}
	}
	in, _ := b.JetStream().Stream(ctx, StreamIn)
	if got := in.CachedInfo().Config.Duplicates; got < 2*time.Minute {
		t.Errorf("HOTLINE_IN duplicate window %v, want at least 2m", got)
	}
	for _, name := range []string{BucketModes, BucketSessions, BucketOptOut, BucketTokens, BucketHandoffs, BucketReview, BucketSent, BucketBindings, BucketSignatures} {
		if b.KV(name) == nil {
			t.Errorf("bucket %s missing", name)
		}
	}
}

func TestStreamLimitsFromConfig(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, err := Open(ctx, Config{StoreDir: t.TempDir(), Streams: map[string]StreamLimits{"status": {MaxAge: time.Hour, MaxBytes: 1 << 20}}}, Deps{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { closeBus(t, b) })
	st, err := b.JetStream().Stream(ctx, StreamStatus)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	if cfg.MaxAge != time.Hour || cfg.MaxBytes != 1<<20 {
		t.Fatalf("got max age %v, max bytes %d; want 1h, 1MiB", cfg.MaxAge, cfg.MaxBytes)
	}
}

func TestPublishSameDedupIDStoresOnce(t *testing.T) {
	t.Parallel()
	b := openTestBus(t, t.TempDir())
	ctx := context.Background()
	first, err := b.Publish(ctx, "hotline.in.wechat.oa-main", []byte(`one`), "wx-1001", nil)
	if err != nil {
		t.Fatalf("first publish: %v", err)
	}
	second, err := b.Publish(ctx, "hotline.in.wechat.oa-main", []byte(`one, retried`), "wx-1001", nil)
	if err != nil {
		t.Fatalf("second publish: %v", err)
	}
	if first.Duplicate || !second.Duplicate || second.Sequence != first.Sequence {
		t.Fatalf("got first %+v second %+v, want second a duplicate of first", first, second)
	}
	if got := streamMsgs(t, b, StreamIn); got != 1 {
		t.Fatalf("HOTLINE_IN holds %d messages, want 1", got)
	}
	if _, err := b.Publish(ctx, "hotline.in.wechat.oa-main", []byte(`x`), "", nil); err == nil {
		t.Fatal("publish without dedup id succeeded, want error")
	}
}

func TestMessageSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()

	first, err := Open(ctx, Config{StoreDir: dir}, Deps{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := first.Publish(ctx, "hotline.in.sms.sms-main", []byte(`STATUS`), "SM1", nil); err != nil {
		t.Fatalf("publish: %v", err)
	}
	closeBus(t, first)

	second := openTestBus(t, dir)
	got := make(chan string, 1)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- second.Consume(cctx, ConsumerConfig{Stream: StreamIn, Durable: "router"}, func(_ context.Context, d *Delivery) error {
			select {
			case got <- string(d.Data):
			default:
			}
			return nil
		})
	}()
	select {
	case data := <-got:
		if data != "STATUS" {
			t.Fatalf("got %q, want STATUS", data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("message published before the restart was not delivered after it")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Consume: %v", err)
	}
}

func TestNakPastMaxDeliverGoesToDead(t *testing.T) {
	t.Parallel()
	b := openTestBus(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := b.Publish(ctx, "hotline.out.telegram.tg-main", []byte(`reply`), "r-1", nil); err != nil {
		t.Fatal(err)
	}
	var attempts atomic.Int32
	go func() {
		_ = b.Consume(ctx, ConsumerConfig{
			Stream: StreamOut, Durable: "sender-tg-main", MaxDeliver: 3,
			Backoff: func(int) time.Duration { return 10 * time.Millisecond },
		}, func(_ context.Context, d *Delivery) error {
			attempts.Add(1)
			return fmt.Errorf("telegram said 502 on attempt %d", d.Attempt)
		})
	}()
	dl := readDead(t, b)
	if dl.Reason != "telegram said 502 on attempt 3" {
		t.Errorf("reason %q, want the last attempt's error", dl.Reason)
	}
	if string(dl.Data) != "reply" || dl.Stream != StreamOut || dl.Deliveries != 3 || dl.Subject != "hotline.out.telegram.tg-main" {
		t.Errorf("dead letter %+v does not carry the original message", dl)
	}
	if got := attempts.Load(); got != 3 {
		t.Errorf("handler ran %d times, want 3", got)
	}
	// Dead-lettering moves a copy: the original is still in its stream.
	if got := streamMsgs(t, b, StreamOut); got != 1 {
		t.Errorf("HOTLINE_OUT holds %d messages, want the original still there", got)
	}
}

func TestPermanentErrorGoesToDeadAtOnce(t *testing.T) {
	t.Parallel()
	b := openTestBus(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := b.Publish(ctx, "hotline.in.weibo.wb", []byte(`{garbage`), "wb-1", nil); err != nil {
		t.Fatal(err)
	}
	var attempts atomic.Int32
	go func() {
		_ = b.Consume(ctx, ConsumerConfig{Stream: StreamIn, Durable: "router"}, func(context.Context, *Delivery) error {
			attempts.Add(1)
			return Permanent(errors.New("decode: not JSON"))
		})
	}()
	dl := readDead(t, b)
	if dl.Reason != "decode: not JSON" || attempts.Load() != 1 {
		t.Fatalf("got reason %q after %d attempts, want decode error after 1", dl.Reason, attempts.Load())
	}
}

func TestRetryHonoursDelayThenSucceeds(t *testing.T) {
	t.Parallel()
	b := openTestBus(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := b.Publish(ctx, "hotline.out.sms.sms-main", []byte(`hi`), "r-2", nil); err != nil {
		t.Fatal(err)
	}
	var attempts atomic.Int32
	var firstAt, secondAt atomic.Int64
	go func() {
		_ = b.Consume(ctx, ConsumerConfig{Stream: StreamOut, Durable: "sender-sms"}, func(_ context.Context, d *Delivery) error {
			n := attempts.Add(1)
			if n == 1 {
				firstAt.Store(time.Now().UnixNano())
				return Retry(errors.New("429"), 300*time.Millisecond)
			}
			secondAt.CompareAndSwap(0, time.Now().UnixNano())
			return nil
		})
	}()
	waitFor(t, "second attempt", func() bool { return secondAt.Load() != 0 })
	if gap := time.Duration(secondAt.Load() - firstAt.Load()); gap < 300*time.Millisecond {
		t.Fatalf("redelivered after %v, want at least the 300ms retry-after", gap)
	}
	if got := streamMsgs(t, b, StreamDead); got != 0 {
		t.Fatalf("HOTLINE_DEAD holds %d, want 0 after a successful retry", got)
	}
}

func TestPanickingHandlerDoesNotLoseMessage(t *testing.T) {
	t.Parallel()
	b := openTestBus(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := b.Publish(ctx, "hotline.in.sms.sms-main", []byte(`boom`), "SM-boom", nil); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = b.Consume(ctx, ConsumerConfig{Stream: StreamIn, Durable: "router", MaxDeliver: 2,
			Backoff: func(int) time.Duration { return 10 * time.Millisecond }},
			func(context.Context, *Delivery) error { panic("nil map") })
	}()
	dl := readDead(t, b)
	if string(dl.Data) != "boom" {
		t.Fatalf("dead letter data %q, want the original", dl.Data)
	}
}

func TestShutdownHandsBackUnstartedMessages(t *testing.T) {
	t.Parallel()
	b := openTestBus(t, t.TempDir())
	ctx := context.Background()
	const n = 20
	for i := range n {
		if _, err := b.Publish(ctx, "hotline.in.sms.sms-main", []byte(fmt.Sprint(i)), fmt.Sprint("SM-", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	// The first consumer stops after handling a few; the rest must come
	// to the next consumer of the same durable, none lost.
	var mu sync.Mutex
	seen := make(map[string]bool)
	record := func(d *Delivery) {
		mu.Lock()
		defer mu.Unlock()
		seen[string(d.Data)] = true
	}
	cctx, cancel := context.WithCancel(ctx)
	var handled atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- b.Consume(cctx, ConsumerConfig{Stream: StreamIn, Durable: "router"}, func(_ context.Context, d *Delivery) error {
			record(d)
			if handled.Add(1) == 5 {
				cancel()
			}
			return nil
		})
	}()
	if err := <-done; err != nil {
		t.Fatalf("Consume: %v", err)
	}
	cctx2, cancel2 := context.WithCancel(ctx)
	defer cancel2()
	go func() {
		_ = b.Consume(cctx2, ConsumerConfig{Stream: StreamIn, Durable: "router"}, func(_ context.Context, d *Delivery) error {
			record(d)
			return nil
		})
	}()
	waitFor(t, "all messages handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == n
	})
}

// A shutdown that lands while the consumer is still being created is a
// stop, not a failure: serve must exit cleanly when stopped at once.
func TestConsumeStoppedBeforeStartIsClean(t *testing.T) {
	t.Parallel()
	b := openTestBus(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	noop := func(context.Context, *Delivery) error { return nil }
	if err := b.Consume(ctx, ConsumerConfig{Stream: StreamOut, Durable: "early-stop"}, noop); err != nil {
		t.Errorf("Consume with a stopped context = %v, want nil", err)
	}
	// A real set-up failure still surfaces while the context is live.
	err := b.Consume(context.Background(), ConsumerConfig{Stream: "NO_SUCH_STREAM", Durable: "lost"}, noop)
	if err == nil {
		t.Error("Consume on a missing stream returned nil, want an error")
	}
}

func TestStatsReportConsumerBacklog(t *testing.T) {
	t.Parallel()
	b := openTestBus(t, t.TempDir())
	ctx := context.Background()
	if _, err := b.JetStream().CreateOrUpdateConsumer(ctx, StreamIn, jetstream.ConsumerConfig{Durable: "router", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := b.Publish(ctx, "hotline.in.sms.sms-main", []byte("x"), fmt.Sprint("backlog-", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	// The server's consumer counts may trail the stream by a moment.
	var stats []StreamStat
	waitFor(t, "the backlog to show", func() bool {
		var err error
		stats, err = b.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range stats {
			if s.Name == StreamIn {
				return s.Backlog["router"] == 3
			}
		}
		return false
	})
	for _, s := range stats {
		switch s.Name {
		case StreamIn:
			if s.Messages != 3 || s.Backlog["router"] != 3 {
				t.Errorf("HOTLINE_IN stats %+v, want 3 messages and a backlog of 3 for router", s)
			}
		case StreamOut:
			if len(s.Backlog) != 0 {
				t.Errorf("HOTLINE_OUT has no consumer but reports backlog %v", s.Backlog)
			}
		}
	}
}

func readDead(t *testing.T, b *Bus) envelope.DeadLetter {
	t.Helper()
	ctx := context.Background()
	waitFor(t, "a dead letter", func() bool { return streamMsgs(t, b, StreamDead) > 0 })
	st, err := b.JetStream().Stream(ctx, StreamDead)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := st.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var dl envelope.DeadLetter
	if err := json.Unmarshal(raw.Data, &dl); err != nil {
		t.Fatalf("dead letter is not JSON: %v", err)
	}
	if raw.Header.Get(envelope.HeaderDeadReason) == "" {
		t.Error("dead letter has no reason header")
	}
	return dl
}

func BenchmarkPublishParallel(b *testing.B) {
	bus := openTestBus(b, b.TempDir())
	ctx := context.Background()
	payload := []byte(`{"id":"01JDQ4Z5X8M3T7K9R2W6Y0B1CD","platform":"sms","text":"STATUS"}`)
	var seq atomic.Int64
	b.SetParallelism(16) // many webhook handlers at once: 16 × GOMAXPROCS goroutines
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprint("bench-", seq.Add(1))
			if _, err := bus.Publish(ctx, "hotline.in.sms.bench", payload, id, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func TestPartitionKeepsConversationOrder(t *testing.T) {
	t.Parallel()
	b := openTestBus(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const convs, perConv = 8, 25
	for i := range perConv {
		for c := range convs {
			m := envelope.Message{ID: envelope.NewID(time.Now()), Platform: "sms", Account: "sms-main",
				PlatformMsgID: fmt.Sprintf("SM-%d-%d", c, i), Conversation: fmt.Sprintf("sms:sms-main:+1555000%04d", c),
				From: envelope.Party{ID: fmt.Sprint(c)}, Kind: envelope.KindText, Text: fmt.Sprint(i), ReceivedAt: time.Now()}
			if _, err := b.PublishInbound(ctx, &m, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	var mu sync.Mutex
	last := map[string]int{}
	var outOfOrder, total atomic.Int32
	go func() {
		_ = b.Consume(ctx, ConsumerConfig{Stream: StreamIn, Durable: "router", Workers: 4, PartitionHeader: envelope.HeaderConversation},
			func(_ context.Context, d *Delivery) error {
				var m envelope.Message
				if err := envelope.Decode(d.Data, &m); err != nil {
					return Permanent(err)
				}
				var n int
				fmt.Sscan(m.Text, &n)
				mu.Lock()
				if prev, ok := last[m.Conversation]; ok && n != prev+1 {
					outOfOrder.Add(1)
				}
				last[m.Conversation] = n
				mu.Unlock()
				total.Add(1)
				return nil
			})
	}()
	waitFor(t, "all messages", func() bool { return total.Load() == convs*perConv })
	if n := outOfOrder.Load(); n != 0 {
		t.Fatalf("%d messages out of order within their conversation", n)
	}
}

// TestPublishEventIsStoredByClose: events published without waiting are
// in the stream once Close returns, once each per dedup id, and one the
// stream cannot take is counted as an error rather than lost silently.
func TestPublishEventIsStoredByClose(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	b, err := Open(ctx, Config{StoreDir: dir}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		st := envelope.Status{ReplyID: fmt.Sprint("r", i%100), Platform: "sms", Account: "sms-main", State: envelope.StateSent, At: time.Now()}
		if err := b.PublishEvent("hotline.status.sms.sms-main", &st, "status:"+st.ReplyID); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.PublishEvent("hotline.nowhere", &envelope.Status{ReplyID: "x", Platform: "sms", Account: "a", State: envelope.StateSent, At: time.Now()}, "x"); err != nil {
		t.Fatal(err) // refused later, by the server: counted below
	}
	closeBus(t, b)
	if got := testutil.ToFloat64(b.metrics.publishErrs); got != 1 {
		t.Errorf("publish errors = %v, want 1 (the event no stream takes)", got)
	}
	again := openTestBus(t, dir)
	if got := streamMsgs(t, again, StreamStatus); got != 100 {
		t.Fatalf("HOTLINE_STATUS holds %d events after Close, want 100", got)
	}
}
