// Package bustest starts real embedded NATS servers for tests and reads
// what they stored. Import it from _test.go files only.
package bustest

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"hotline/bus"
)

// Open starts a bus on an embedded server storing in a fresh temp dir and
// closes it when the test ends.
func Open(t testing.TB) *bus.Bus {
	t.Helper()
	return openWith(t, bus.Config{StoreDir: t.TempDir()}, 20*time.Second)
}

// openWith opens a bus with cfg, giving up after within, and closes it
// when the test ends.
func openWith(t testing.TB, cfg bus.Config, within time.Duration) *bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	b, err := bus.Open(ctx, cfg, bus.Deps{})
	if err != nil {
		t.Fatalf("bus: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("bus close: %v", err)
		}
	})
	return b
}

// Messages returns the payloads a stream holds on subjects starting with
// prefix, in stream order.
func Messages(t testing.TB, b *bus.Bus, stream, prefix string) [][]byte {
	t.Helper()
	st, state := streamState(t, b, stream)
	var out [][]byte
	for seq := state.FirstSeq; state.Msgs > 0 && seq <= state.LastSeq; seq++ {
		m, err := st.GetMsg(context.Background(), seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // deleted or aged out
		}
		if err != nil {
			t.Fatalf("stream %s get %d: %v", stream, seq, err)
		}
		if len(m.Subject) >= len(prefix) && m.Subject[:len(prefix)] == prefix {
			out = append(out, m.Data)
		}
	}
	return out
}

// StreamMsgs returns how many messages a stream holds now.
func StreamMsgs(t testing.TB, b *bus.Bus, stream string) uint64 {
	t.Helper()
	_, state := streamState(t, b, stream)
	return state.Msgs
}

// StreamState returns a stream's state now (LastSeq counts every write,
// including those a KV bucket's history has dropped since).
func StreamState(t testing.TB, b *bus.Bus, stream string) jetstream.StreamState {
	t.Helper()
	_, state := streamState(t, b, stream)
	return state
}

func streamState(t testing.TB, b *bus.Bus, stream string) (jetstream.Stream, jetstream.StreamState) {
	t.Helper()
	ctx := context.Background()
	st, err := b.JetStream().Stream(ctx, stream)
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	return st, info.State
}

// WaitFor polls cond until it holds, failing the test after 15 s.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !Poll(15*time.Second, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// Poll checks cond every 10 ms until it holds or within has passed, and
// reports whether it held, for waits that report what they saw either
// way rather than fail.
func Poll(within time.Duration, cond func() bool) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(within)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			return cond()
		}
	}
	return true
}

// BenchIntake runs a webhook intake benchmark: send(n) delivers request n
// to the handler and says what was wrong with its answer, 40 at a time
// whatever GOMAXPROCS is (20 per core on two). It reports requests/s and
// fails unless every request was stored on HOTLINE_IN once.
func BenchIntake(b *testing.B, bs *bus.Bus, send func(n int64) error) {
	b.Helper()
	before := StreamMsgs(b, bs, bus.StreamIn)
	var seq atomic.Int64
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((40 + procs - 1) / procs)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := send(seq.Add(1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "requests/s")
	if got := StreamMsgs(b, bs, bus.StreamIn) - before; got != uint64(b.N) {
		b.Fatalf("HOTLINE_IN holds %d new messages, want %d", got, b.N)
	}
}
