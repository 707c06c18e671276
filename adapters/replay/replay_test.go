package replay

import (
	"context"
	"errors"
	"testing"
	"time"

	"hotline/bus"
	"hotline/bus/bustest"
)

func TestGuard(t *testing.T) {
	b := bustest.Open(t)
	ctx := context.Background()
	g := New(b.KV(bus.BucketSignatures), 5*time.Minute)
	steps := []struct {
		name, scope, sig, body string
		want                   error
	}{
		{"first sight", "wechat.oa-main", "sig-1", "<xml>hello</xml>", nil},
		{"the platform's retry", "wechat.oa-main", "sig-1", "<xml>hello</xml>", nil},
		{"a captured query with another body", "wechat.oa-main", "sig-1", "<xml>transfer</xml>", ErrReplayed},
		{"the same query on another account", "wechat.oa-other", "sig-1", "<xml>transfer</xml>", nil},
		{"another query", "wechat.oa-main", "sig-2", "<xml>transfer</xml>", nil},
		{"an empty body is a body too", "weibo.wb", "sig-3", "", nil},
		{"and is held to", "weibo.wb", "sig-3", "{}", ErrReplayed},
	}
	for _, s := range steps {
		if err := g.Check(ctx, s.scope, s.sig, []byte(s.body)); !errors.Is(err, s.want) || (s.want == nil && err != nil) {
			t.Errorf("%s: Check = %v, want %v", s.name, err, s.want)
		}
	}
}

func TestGuardForgetsAfterTwiceTheWindow(t *testing.T) {
	b := bustest.Open(t)
	ctx := context.Background()
	g := New(b.KV(bus.BucketSignatures), time.Second) // records live 2 s
	if err := g.Check(ctx, "weibo.wb", "sig", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := g.Check(ctx, "weibo.wb", "sig", []byte("b")); !errors.Is(err, ErrReplayed) {
		t.Fatalf("inside the window: %v, want ErrReplayed", err)
	}
	bustest.WaitFor(t, "the record to expire", func() bool {
		return g.Check(ctx, "weibo.wb", "sig", []byte("b")) == nil
	})
}

// replay_window 0 turns off the timestamp check only: a captured query
// with another body is still refused, and remembered for NoWindowMemory.
func TestNoWindowStillGuardsBodies(t *testing.T) {
	b := bustest.Open(t)
	ctx := context.Background()
	g := New(b.KV(bus.BucketSignatures), 0)
	if g == nil || g.ttl != NoWindowMemory {
		t.Fatalf("guard without a replay window: %+v, want one remembering for %v", g, NoWindowMemory)
	}
	if err := g.Check(ctx, "weibo.wb", "sig", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := g.Check(ctx, "weibo.wb", "sig", []byte("a")); err != nil {
		t.Fatalf("the platform's retry: %v, want it to pass", err)
	}
	if err := g.Check(ctx, "weibo.wb", "sig", []byte("forged")); !errors.Is(err, ErrReplayed) {
		t.Fatalf("another body on the same query: %v, want ErrReplayed", err)
	}
	var none *Guard
	if err := none.Check(ctx, "weibo.wb", "sig", nil); err != nil {
		t.Fatalf("nil guard: %v", err)
	}
}

func TestGuardReportsBucketFailure(t *testing.T) {
	b := bustest.Open(t)
	g := New(b.KV(bus.BucketSignatures), time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Check(ctx, "weibo.wb", "sig", []byte("a")); err == nil || errors.Is(err, ErrReplayed) {
		t.Fatalf("with the bucket unreachable: %v, want an error that is not ErrReplayed", err)
	}
}
