package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// waker is a broadcast a test fires by hand, shaped like ConsumerConfig.Wake.
type waker struct {
	mu sync.Mutex
	ch chan struct{}
}

func newWaker() *waker { return &waker{ch: make(chan struct{})} }

func (w *waker) wait() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ch
}

func (w *waker) fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	close(w.ch)
	w.ch = make(chan struct{})
}

// A held message comes back the moment Wake fires, long before its
// hold runs out, and in the order the stream has it.
func TestHoldEndsOnWake(t *testing.T) {
	t.Parallel()
	b := openTestBus(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n = 5
	for i := range n {
		if _, err := b.Publish(ctx, "hotline.out.sms.sms-main", []byte(fmt.Sprint(i)), fmt.Sprint("r-", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	w := newWaker()
	var open atomic.Bool
	var mu sync.Mutex
	var delivered []string
	var holds atomic.Int32
	go func() {
		_ = b.Consume(ctx, ConsumerConfig{Stream: StreamOut, Durable: "held", Wake: w.wait}, func(_ context.Context, d *Delivery) error {
			if !open.Load() {
				holds.Add(1)
				return Hold(errors.New("circuit open"), time.Hour)
			}
			if d.Attempt != 1 || d.Holds != 1 {
				t.Errorf("released delivery: attempt %d holds %d, want 1 and 1 (a hold is no redelivery)", d.Attempt, d.Holds)
			}
			mu.Lock()
			delivered = append(delivered, string(d.Data))
			mu.Unlock()
			return nil
		})
	}()
	waitFor(t, "every message held", func() bool { return holds.Load() == n })
	open.Store(true)
	start := time.Now()
	w.fire()
	waitFor(t, "held messages handed back", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(delivered) == n
	})
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("held messages came back %v after the wake; want at once", took)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, got := range delivered {
		if got != fmt.Sprint(i) {
			t.Fatalf("handed back in order %v, want stream order", delivered)
		}
	}
}

// A hold outlasting AckWait keeps the message: the consumer restarts its
// ack timer, so the server does not redeliver it meanwhile, and without a
// wake it comes back when the hold's time is up.
func TestHoldOutlastsAckWaitWithoutRedelivery(t *testing.T) {
	t.Parallel()
	b := openTestBus(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := b.Publish(ctx, "hotline.out.sms.sms-main", []byte("x"), "r-x", nil); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	var second atomic.Pointer[Delivery]
	heldAt := time.Now()
	go func() {
		_ = b.Consume(ctx, ConsumerConfig{Stream: StreamOut, Durable: "long-hold", AckWait: 600 * time.Millisecond},
			func(_ context.Context, d *Delivery) error {
				if calls.Add(1) == 1 {
					heldAt = time.Now()
					return Hold(errors.New("wait"), 2*time.Second)
				}
				second.CompareAndSwap(nil, d)
				return nil
			})
	}()
	waitFor(t, "hold to end", func() bool { return second.Load() != nil })
	d := second.Load()
	if d.Attempt != 1 {
		t.Errorf("handed back as delivery %d: the server redelivered it during the hold", d.Attempt)
	}
	if waited := time.Since(heldAt); waited < 2*time.Second {
		t.Errorf("handed back after %v, want the hold's 2s", waited)
	}
	// The server's own record settles it: once the consumer's ack floor
	// covers the message, the server never sends it again, and how many
	// times it did send it is the consumer's delivered count.
	var ci *jetstream.ConsumerInfo
	waitFor(t, "the ack to reach the server", func() bool {
		c, err := b.js.Consumer(ctx, StreamOut, "long-hold")
		if err != nil {
			return false
		}
		ci, err = c.Info(ctx)
		return err == nil && ci.AckFloor.Stream >= 1 && ci.NumAckPending == 0
	})
	if ci.Delivered.Consumer != 1 || ci.NumRedelivered != 0 {
		t.Errorf("the server delivered the message %d times (%d redelivered), want once", ci.Delivered.Consumer, ci.NumRedelivered)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("handler called %d times, want 2", n)
	}
}

// Stopping a consumer hands its held messages back to the server at
// once: the next consumer of the durable gets them without waiting.
func TestStopHandsBackHeldMessages(t *testing.T) {
	t.Parallel()
	b := openTestBus(t, t.TempDir())
	ctx := context.Background()
	if _, err := b.Publish(ctx, "hotline.out.sms.sms-main", []byte("kept"), "r-kept", nil); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	var held atomic.Bool
	done := make(chan error, 1)
	go func() {
		done <- b.Consume(cctx, ConsumerConfig{Stream: StreamOut, Durable: "handover", AckWait: time.Minute},
			func(context.Context, *Delivery) error {
				held.Store(true)
				return Hold(errors.New("wait"), time.Hour)
			})
	}()
	waitFor(t, "message held", held.Load)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Consume: %v", err)
	}
	cctx2, cancel2 := context.WithCancel(ctx)
	defer cancel2()
	var got atomic.Bool
	start := time.Now()
	go func() {
		_ = b.Consume(cctx2, ConsumerConfig{Stream: StreamOut, Durable: "handover", AckWait: time.Minute},
			func(_ context.Context, d *Delivery) error {
				got.Store(string(d.Data) == "kept")
				return nil
			})
	}()
	waitFor(t, "held message at the next consumer", got.Load)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("next consumer got it after %v: it waited for AckWait instead of a hand-back", took)
	}
}

// Past its limit a lot refuses and the caller naks: held messages never
// take every ack-pending slot, so new ones keep coming.
func TestParkingLimit(t *testing.T) {
	t.Parallel()
	p := newParking(2, time.Minute)
	for i := range 3 {
		ok := p.park(queued{}, uint64(i), time.Hour, nil)
		if want := i < 2; ok != want {
			t.Fatalf("park %d: %v, want %v", i, ok, want)
		}
	}
	if p.size() != 2 {
		t.Fatalf("size %d, want 2", p.size())
	}
}

// A wake that comes while the handler is still deciding to hold is not
// lost: the handler decided on a state that is gone, so the delivery
// comes straight back instead of waiting out its hold.
func TestWakeDuringHandlingIsNotLost(t *testing.T) {
	t.Parallel()
	b := openTestBus(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := b.Publish(ctx, "hotline.out.sms.sms-main", []byte("x"), "r-race", nil); err != nil {
		t.Fatal(err)
	}
	w := newWaker()
	var calls atomic.Int32
	go func() {
		_ = b.Consume(ctx, ConsumerConfig{Stream: StreamOut, Durable: "race", Wake: w.wait}, func(context.Context, *Delivery) error {
			if calls.Add(1) == 1 {
				w.fire() // the circuit closes while this delivery is being decided
				return Hold(errors.New("circuit open"), time.Hour)
			}
			return nil
		})
	}()
	waitFor(t, "the held delivery to come back", func() bool { return calls.Load() == 2 })
}

// A wake that comes after the lot's loop woke up for another reason (a
// car parked) and before it asks for the next wake channel still hands
// every held message back: it used to be missed, and the messages then
// waited out their whole hold.
func TestParkingDoesNotMissAWakeBetweenLoops(t *testing.T) {
	t.Parallel()
	w := newWaker()
	var calls atomic.Int32
	wake := func() <-chan struct{} {
		if calls.Add(1) == 2 {
			w.fire() // lands between the loop's kick and its next ask
		}
		return w.wait()
	}
	p := newParking(10, time.Hour)
	released := make(chan struct{}, 1)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.run(wake, func(queued) { released <- struct{}{} }, stop)
	}()
	waitFor(t, "the lot's loop waiting", func() bool { return calls.Load() == 1 })
	if !p.park(queued{}, 7, time.Hour, nil) {
		t.Fatal("park refused")
	}
	select {
	case <-released:
	case <-time.After(5 * time.Second):
		t.Fatal("the held message was not handed back after the wake")
	}
	close(stop)
	<-done
}
