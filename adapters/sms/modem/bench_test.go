package modem

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"hotline/adapters/sms/modem/modemtest"
	"hotline/bus"
	"hotline/bus/bustest"
)

// BenchmarkInbound measures the adapter's side of receiving: b.N SMS
// announced by +CMTI on a pseudo-terminal, each read (AT+CMGR), stored in
// JetStream and deleted (AT+CMGD). A real modem delivers about one SMS a
// second, so this is headroom, not a target.
func BenchmarkInbound(b *testing.B) {
	sim, pty := modemtest.Start(b, modemtest.Options{Logf: func(string, ...any) {}})
	bs := bustest.Open(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := New(ctx, Config{Account: "modem-1", Provider: Provider, Device: pty.Path(), DefaultRegion: "CN", Poll: time.Second},
		Deps{Bus: bs, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = a.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	bustest.WaitFor(b, "the modem", func() bool { return a.Ready() == nil })
	stored := func() uint64 { return bustest.StreamMsgs(b, bs, bus.StreamIn) }
	base := stored()
	pdus := make([]string, b.N)
	for i := range pdus {
		pdus[i] = deliverHex(b, user, fmt.Sprintf("message %d", i), 0, stamp)[0]
	}
	b.ResetTimer()
	for _, p := range pdus {
		// A full SIM keeps the message waiting, as the network does.
		if _, err := sim.Receive(p); err != nil && !errors.Is(err, modemtest.ErrMemoryFull) {
			b.Fatal(err)
		}
	}
	bustest.WaitFor(b, "every message stored", func() bool { return stored()-base == uint64(b.N) })
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sms/s")
}
