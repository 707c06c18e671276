package bus

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// BenchmarkScanBack reads the newest 1,000 of 2,000 status events, as
// the console's delivery view does every few seconds.
func BenchmarkScanBack(b *testing.B) {
	bus := openTestBus(b, b.TempDir())
	ctx := context.Background()
	for i := range 2000 {
		if _, err := bus.Publish(ctx, "hotline.status.telegram.tg-main", []byte(`{"state":"sent"}`), fmt.Sprint("s", i), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		n := 0
		if err := bus.ScanBack(ctx, StreamStatus, 20_000, func(*jetstream.RawStreamMsg) bool { n++; return n < 1000 }); err != nil || n != 1000 {
			b.Fatal(err, n)
		}
	}
}

// ScanBack hands over every stored message newest first, across windows
// and around removed ones (the newest included), stops when told, and
// looks at no more than maxScan sequences.
func TestScanBack(t *testing.T) {
	t.Parallel()
	b := openTestBus(t, t.TempDir())
	ctx := context.Background()
	for i := range 600 {
		if _, err := b.Publish(ctx, "hotline.audit", []byte(fmt.Sprint(i)), fmt.Sprint("a", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	st, err := b.JetStream().Stream(ctx, StreamAudit)
	if err != nil {
		t.Fatal(err)
	}
	removed := map[uint64]bool{600: true, 345: true, 344: true, 256: true, 1: true}
	for seq := range removed {
		if err := st.DeleteMsg(ctx, seq); err != nil {
			t.Fatal(err)
		}
	}
	scan := func(maxScan, stopAfter int) []uint64 {
		t.Helper()
		var seqs []uint64
		err := b.ScanBack(ctx, StreamAudit, maxScan, func(m *jetstream.RawStreamMsg) bool {
			if string(m.Data) != fmt.Sprint(m.Sequence-1) {
				t.Fatalf("seq %d holds %q", m.Sequence, m.Data)
			}
			seqs = append(seqs, m.Sequence)
			return len(seqs) < stopAfter
		})
		if err != nil {
			t.Fatal(err)
		}
		return seqs
	}
	var want []uint64
	for seq := uint64(599); seq >= 1; seq-- {
		if !removed[seq] {
			want = append(want, seq)
		}
	}
	if got := scan(10_000, 10_000); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("all: %d messages %v…, want %d %v…", len(got), got[:min(5, len(got))], len(want), want[:5])
	}
	if got := scan(10_000, 300); fmt.Sprint(got) != fmt.Sprint(want[:300]) {
		t.Fatalf("stopped after 300: got %d", len(got))
	}
	// 300 sequences back from 600: 600 and 345..344 are removed.
	if got := scan(300, 10_000); len(got) != 297 || got[len(got)-1] != 301 {
		t.Fatalf("maxScan 300: %d messages, last %d; want 297, last 301", len(got), got[len(got)-1])
	}
	infos := st.ListConsumers(ctx)
	n := 0
	for range infos.Info() {
		n++
	}
	if n != 0 {
		t.Fatalf("%d consumers left behind", n)
	}
}
