package outbound

import (
	"context"
	"slices"
	"testing"

	"hotline/bus"
	"hotline/bus/bustest"
)

func TestPartsResumeAcrossLoads(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	ctx := context.Background()
	kv := b.KV(bus.BucketSent)

	p := LoadParts(ctx, kv, "weibo", "01JREPLY", 3)
	if p.Sent() != 0 {
		t.Fatalf("fresh progress at part %d", p.Sent())
	}
	for _, id := range []string{"m1", "m2"} {
		if err := p.Record(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	// Another instance, or this one after a restart, picks it up.
	again := LoadParts(ctx, kv, "weibo", "01JREPLY", 3)
	if again.Sent() != 2 || !slices.Equal(again.IDs(), []string{"m1", "m2"}) {
		t.Fatalf("resumed at %d with %v, want 2 with [m1 m2]", again.Sent(), again.IDs())
	}
	// Other platforms and replies are apart.
	if other := LoadParts(ctx, kv, "wechat", "01JREPLY", 3); other.Sent() != 0 {
		t.Fatalf("another platform's reply resumed at %d", other.Sent())
	}
	// A single part is never stored.
	single := LoadParts(ctx, kv, "weibo", "01JSINGLE", 1)
	if err := single.Record(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx, "parts.weibo.01JSINGLE"); err == nil {
		t.Fatal("a one-part reply wrote a progress record")
	}
	// A record that claims more parts than the text has now is ignored.
	if _, err := kv.Put(ctx, "parts.weibo.01JODD", []byte(`{"sent":9}`)); err != nil {
		t.Fatal(err)
	}
	if odd := LoadParts(ctx, kv, "weibo", "01JODD", 2); odd.Sent() != 0 {
		t.Fatalf("an impossible record was trusted: at part %d", odd.Sent())
	}
}
