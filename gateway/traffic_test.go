package gateway

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"hotline/bus/bustest"
	"hotline/console"
	"hotline/envelope"
)

func TestTrafficMeterCountsPerPlatform(t *testing.T) {
	b := bustest.Open(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// An hour-long period: the test rolls the counters itself.
	m, err := startTrafficMeter(ctx, b.Conn(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	nc := b.Conn()
	start := time.Now()
	m.roll(start)
	status := func(state envelope.DeliveryState) []byte {
		data, _ := json.Marshal(envelope.Status{State: state})
		return data
	}
	for range 4 {
		_ = nc.Publish("hotline.in.webchat.demo", []byte("{}"))
	}
	_ = nc.Publish("hotline.in.sms.sms-main", []byte("{}"))
	_ = nc.Publish("hotline.out.webchat.demo", []byte("{}"))
	_ = nc.Publish("hotline.status.telegram.tg-main", status(envelope.StateRetrying))
	_ = nc.Publish("hotline.status.telegram.tg-main", status(envelope.StateDead))
	_ = nc.Publish("hotline.status.telegram.tg-main", status(envelope.StateSent)) // not a failure
	_ = nc.Publish("hotline.status.telegram.tg-main", []byte("not json"))
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	want := map[string]console.Traffic{"webchat": {In: 2, Out: 0.5}, "sms": {In: 0.5}, "telegram": {Failed: 1}}
	// Each subject family has its own subscription: wait for all of them.
	bustest.WaitFor(t, "the meter to see every message", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		wc, sms, tg := m.counts["webchat"], m.counts["sms"], m.counts["telegram"]
		return wc != nil && wc.In == 4 && wc.Out == 1 && sms != nil && sms.In == 1 && tg != nil && tg.Failed == 2
	})
	m.roll(start.Add(2 * time.Second))
	got := m.rates()
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: %+v, want %+v per second", p, got[p], w)
		}
	}
	m.roll(start.Add(3 * time.Second))
	if got := m.rates()["webchat"]; got != (console.Traffic{}) {
		t.Errorf("a quiet second still shows %+v", got)
	}
}
