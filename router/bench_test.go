package router

import (
	"context"
	"fmt"
	"testing"
	"time"

	"hotline/bus"
	"hotline/bus/bustest"
)

// BenchmarkRouterThroughput measures messages per second through the
// whole router on the embedded server: consume from HOTLINE_IN, session
// read and write in KV, opt-out check, reply stored on HOTLINE_OUT, ack.
// The inbound messages are stored before the timer starts.
func BenchmarkRouterThroughput(b *testing.B) {
	for _, workers := range []int{16, 64} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			nb := bustest.Open(b)
			cfg := testConfig()
			cfg.Workers = workers
			r := newRouter(b, nb, cfg, Deps{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			texts := []string{"help", "menu", "1", "status", "help+en", "2"}
			for i := range b.N {
				m := inbound(fmt.Sprint("bench-", i%2000), texts[i%len(texts)])
				if _, err := nb.PublishInbound(ctx, &m, nil); err != nil {
					b.Fatal(err)
				}
			}
			out, err := nb.JetStream().Stream(ctx, bus.StreamOut)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			go func() { _ = r.Run(ctx) }()
			for {
				info, err := out.Info(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if info.State.Msgs >= uint64(b.N) {
					break
				}
				time.Sleep(2 * time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
