package bus

import (
	"context"
	"testing"
	"time"
)

func TestBackoffDoublesWithinJitterUpToTheLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		attempt    int
		first, max time.Duration
		center     time.Duration
	}{
		{1, time.Second, time.Minute, time.Second},
		{2, time.Second, time.Minute, 2 * time.Second},
		{7, time.Second, time.Minute, time.Minute}, // 64s capped
		{1000, time.Second, 5 * time.Minute, 5 * time.Minute},
		{0, time.Second, time.Minute, time.Second},
	}
	for _, tc := range tests {
		for range 200 {
			d := Backoff(tc.attempt, tc.first, tc.max)
			if lo, hi := tc.center-tc.center/5, tc.center+tc.center/5; d < lo || d > hi {
				t.Fatalf("Backoff(%d, %s, %s) = %s, want within %s..%s", tc.attempt, tc.first, tc.max, d, lo, hi)
			}
		}
	}
}

func TestEnsureBucketIsFoundByKVWithTheSessionsTTL(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := Open(ctx, Config{StoreDir: t.TempDir(), SessionTTL: time.Hour}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeBus(t, b) })
	if b.KV("hotline_test_own") != nil {
		t.Fatal("KV found a bucket nobody asked for")
	}
	spec := BucketSpec{Name: "hotline_test_own", Description: "a test's", ExpireWithSessions: true}
	kv, err := b.EnsureBucket(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.EnsureBucket(context.Background(), spec); err != nil {
		t.Fatalf("a second instance's EnsureBucket: %v", err)
	}
	if b.KV("hotline_test_own") == nil {
		t.Fatal("KV does not find the bucket EnsureBucket made")
	}
	st, err := kv.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.TTL() != time.Hour {
		t.Fatalf("TTL %v, want the sessions' 1h", st.TTL())
	}
}
