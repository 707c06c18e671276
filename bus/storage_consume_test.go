package bus

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestHandlerFailuresWhileStoreBrokenUseNoDelivery: a handler failing
// because nothing can be written (the router cannot save a session) is
// retried without using up deliveries, so a long outage does not send
// the message to hotline.dead.
func TestHandlerFailuresWhileStoreBrokenUseNoDelivery(t *testing.T) {
	t.Parallel()
	b := openTestBus(t, t.TempDir())
	b.stopWatch() // the test plays the watchdog
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := b.Publish(ctx, "hotline.out.sms.sms-main", []byte("reply"), "r-broken", nil); err != nil {
		t.Fatal(err)
	}
	b.storage.set(faultBroken, "HOTLINE_OUT cannot be written: no space left on device", false, "")
	var failures atomic.Int32
	var doneAttempt atomic.Int32
	go func() {
		_ = b.Consume(ctx, ConsumerConfig{Stream: StreamOut, Durable: "broken", MaxDeliver: 1}, func(_ context.Context, d *Delivery) error {
			if ok, _ := b.Storage(); !ok {
				failures.Add(1)
				return errors.New("session put: context deadline exceeded")
			}
			doneAttempt.Store(int32(d.Attempt))
			return nil
		})
	}()
	held := func() float64 { return testutil.ToFloat64(b.metrics.handled.WithLabelValues("broken", "hold")) }
	waitFor(t, "three failures settled as holds while the store is broken", func() bool { return held() >= 3 })
	b.storage.set(faultNone, "", false, "test")
	waitFor(t, "the message handled after the store recovered", func() bool { return doneAttempt.Load() != 0 })
	if got := doneAttempt.Load(); got != 1 {
		t.Errorf("handled at attempt %d, want 1: failures while the store was broken are no deliveries", got)
	}
	if n := streamMsgs(t, b, StreamDead); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
}
