package bus_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"hotline/bus"
	"hotline/bus/bustest"
)

func TestAssignBalancedAndTheSameEverywhere(t *testing.T) {
	t.Parallel()
	units := make([]string, bus.InboundPartitions)
	for p := range units {
		units[p] = bus.InboundDurable(p)
	}
	for _, members := range [][]string{{"a"}, {"a", "b"}, {"c", "a", "b"}, {"d", "b", "a", "c"}, {"a", "b", "c", "d", "e"}} {
		t.Run(fmt.Sprint(len(members)), func(t *testing.T) {
			got := bus.Assign(units, members)
			if len(got) != len(units) {
				t.Fatalf("%d of %d units assigned", len(got), len(units))
			}
			load := map[string]int{}
			for _, m := range got {
				load[m]++
			}
			fair := (len(units) + len(members) - 1) / len(members)
			for _, m := range members {
				if load[m] > fair || load[m] < len(units)/len(members)-1 {
					t.Errorf("member %s owns %d units, want about %d (%v)", m, load[m], fair, load)
				}
			}
			reversed := slices.Clone(members)
			slices.Reverse(reversed)
			if again := bus.Assign(units, reversed); !maps.Equal(again, got) {
				t.Errorf("members listed in another order give another assignment:\n%v\n%v", got, again)
			}
		})
	}
}

// TestOwnSplitsAndHandsOver: two instances on one NATS split the units,
// never run one unit twice at once, and when one stops the other takes
// its units over within seconds.
func TestOwnSplitsAndHandsOver(t *testing.T) {
	t.Parallel()
	c := bustest.StartCluster(t, 3)
	a, b := bustest.OpenOn(t, c, 1, "a"), bustest.OpenOn(t, c, 1, "b")
	units := []string{"u0", "u1", "u2", "u3", "u4", "u5"}

	// A unit's run may start on its new owner while the old one still
	// hands it back: the consumers behind a unit are exclusive, so the
	// server, not this overlap, decides who gets its messages
	// (TestExclusiveConsumerOneInstanceAtATime).
	var mu sync.Mutex
	running := map[string]map[string]bool{"a": {}, "b": {}} // instance → units it runs
	run := func(name string) func(ctx context.Context, unit string) error {
		return func(ctx context.Context, unit string) error {
			mu.Lock()
			running[name][unit] = true
			mu.Unlock()
			<-ctx.Done()
			mu.Lock()
			delete(running[name], unit)
			mu.Unlock()
			return nil
		}
	}
	owned := func(name string) int {
		mu.Lock()
		defer mu.Unlock()
		return len(running[name])
	}
	stopA := background(t, func(ctx context.Context) error { return a.Own(ctx, "test", units, run("a")) })
	background(t, func(ctx context.Context) error { return b.Own(ctx, "test", units, run("b")) })

	bustest.WaitFor(t, "both instances to own three units", func() bool { return owned("a") == 3 && owned("b") == 3 })
	if s := a.Share("test"); s != 0.5 {
		t.Errorf("a's share: %v, want 0.5", s)
	}
	start := time.Now()
	if err := stopA(); err != nil {
		t.Fatalf("a.Own: %v", err)
	}
	bustest.WaitFor(t, "b to take over every unit", func() bool { return owned("b") == len(units) })
	t.Logf("b owned all %d units %v after a stopped", len(units), time.Since(start).Round(time.Millisecond))
	if s := b.Share("test"); s != 1 {
		t.Errorf("b's share after a left: %v, want 1", s)
	}
}

// TestExclusiveConsumerOneInstanceAtATime: two instances consume the
// same exclusive durable; one gets every message, and when it stops the
// other gets the rest at once (the pin is released, not timed out).
func TestExclusiveConsumerOneInstanceAtATime(t *testing.T) {
	t.Parallel()
	c := bustest.StartCluster(t, 3)
	a, b := bustest.OpenOn(t, c, 1, "a"), bustest.OpenOn(t, c, 1, "b")
	ctx := context.Background()
	var mu sync.Mutex
	got := map[string][]string{}
	handler := func(name string) bus.Handler {
		return func(_ context.Context, d *bus.Delivery) error {
			mu.Lock()
			got[name] = append(got[name], string(d.Data))
			mu.Unlock()
			return nil
		}
	}
	cfg := bus.ConsumerConfig{Stream: bus.StreamIn, Durable: "exclusive", Exclusive: true, AckWait: 20 * time.Second, Workers: 4,
		FilterSubjects: []string{"hotline.in.sms.x"}}
	stopA := background(t, func(ctx context.Context) error { return a.Consume(ctx, cfg, handler("a")) })
	stopB := background(t, func(ctx context.Context) error { return b.Consume(ctx, cfg, handler("b")) })

	count := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return len(got["a"]), len(got["b"])
	}
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			if _, err := a.Publish(ctx, "hotline.in.sms.x", []byte(fmt.Sprint(i)), fmt.Sprint("x-", i), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish(0, 40)
	bustest.WaitFor(t, "40 messages handled", func() bool { na, nb := count(); return na+nb == 40 })
	na, nb := count()
	if na != 0 && nb != 0 {
		t.Fatalf("both instances got messages of an exclusive consumer: a %d, b %d", na, nb)
	}
	pinned, other, stopPinned := "a", "b", stopA
	if nb > 0 {
		pinned, other, stopPinned = "b", "a", stopB
	}
	if err := stopPinned(); err != nil {
		t.Fatalf("Consume: %v", err)
	}
	start := time.Now()
	publish(40, 60)
	bustest.WaitFor(t, "the other instance to take over", func() bool { na, nb := count(); return na+nb == 60 })
	// Well under the pin's 26 s time-out: the stopping instance unpinned.
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("takeover took %v: the pin was not released", took)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got[pinned]) != 40 || len(got[other]) != 20 {
		t.Errorf("%s got %d, %s got %d; want 40 before the stop and 20 after", pinned, len(got[pinned]), other, len(got[other]))
	}
}

// background runs f until the returned stop is called or the test ends;
// stop cancels f's context and returns what f returned.
func background(t *testing.T, f func(ctx context.Context) error) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	stop = sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	t.Cleanup(func() { _ = stop() })
	return stop
}

// TestOwnStopsOwningNothing: an instance that owns none of its group's
// units (the other took the only one) still stops when asked.
func TestOwnStopsOwningNothing(t *testing.T) {
	t.Parallel()
	c := bustest.StartCluster(t, 3)
	a, b := bustest.OpenOn(t, c, 1, "a"), bustest.OpenOn(t, c, 1, "b")
	idle := func(ctx context.Context, _ string) error { <-ctx.Done(); return nil }
	stopA := background(t, func(ctx context.Context) error { return a.Own(ctx, "one", []string{"only"}, idle) })
	stopB := background(t, func(ctx context.Context) error { return b.Own(ctx, "one", []string{"only"}, idle) })
	bustest.WaitFor(t, "one instance to own the unit", func() bool { return a.Share("one")+b.Share("one") == 1 && a.Share("one")*b.Share("one") == 0 })
	stopped := make(chan error, 2)
	go func() { stopped <- stopA() }()
	go func() { stopped <- stopB() }()
	for range 2 {
		select {
		case err := <-stopped:
			if err != nil {
				t.Errorf("Own: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("an instance owning nothing did not stop")
		}
	}
}
