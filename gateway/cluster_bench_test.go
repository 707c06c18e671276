package gateway_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
	"hotline/gateway/gatewaytest"
)

// BenchmarkClusterRouting measures what one, two and three gateways route
// on a three-node cluster in this process (every stream and bucket with
// three replicas): messages stored on HOTLINE_IN by 32 senders spread over
// the instances, routed, and their replies stored on HOTLINE_OUT, as
// `hotline bench` does on the embedded server. Setting up a cluster takes
// seconds, so give it a fixed count:
//
//	go test -run '^$' -bench ClusterRouting -benchtime 4000x ./gateway
func BenchmarkClusterRouting(b *testing.B) {
	for _, instances := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("gateways=%d", instances), func(b *testing.B) {
			c := bustest.StartCluster(b, 3)
			var buses []*bus.Bus
			for i := range instances {
				bb := bustest.OpenOn(b, c, 3, fmt.Sprint("bench-", i))
				cfg := gatewaytest.Config()
				cfg.NATS.Replicas = 3
				gatewaytest.Start(b, bb, cfg, nil)
				buses = append(buses, bb)
			}
			bustest.WaitFor(b, "the partitions to be shared out", func() bool {
				total := 0.0
				for _, bb := range buses {
					total += bb.Share("router")
				}
				return total > 0.99 && total < 1.01
			})

			var mu sync.Mutex
			waiting := make(map[string]bool, b.N)
			var answered atomic.Int64
			all := make(chan struct{})
			sub, err := buses[0].Conn().Subscribe("hotline.out.>", func(msg *nats.Msg) {
				var rep envelope.Reply
				if envelope.Decode(msg.Data, &rep) != nil {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if waiting[rep.InReplyTo] {
					delete(waiting, rep.InReplyTo)
					if answered.Add(1) == int64(b.N) {
						close(all)
					}
				}
			})
			if err != nil {
				b.Fatal(err)
			}
			_ = sub.SetPendingLimits(-1, -1)
			b.Cleanup(func() { _ = sub.Unsubscribe() })

			texts := []string{"help", "menu", "1", "status", "help+en", "2", "帮助", "help+ar"}
			next := make(chan int)
			var wg sync.WaitGroup
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			for s := range 32 {
				wg.Go(func() {
					bb := buses[s%len(buses)]
					for i := range next {
						now := time.Now().UTC()
						user := fmt.Sprint("bench-", i%2000)
						m := envelope.Message{ID: envelope.NewID(now), Platform: "bench", Account: "bench", PlatformMsgID: fmt.Sprint("cluster-bench-", i),
							Conversation: envelope.ConversationKey("bench", "bench", user), From: envelope.Party{ID: user},
							Kind: envelope.KindText, Text: texts[i%len(texts)], ReceivedAt: now}
						mu.Lock()
						waiting[m.ID] = true
						mu.Unlock()
						if _, err := bb.PublishInbound(ctx, &m, nil); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			for i := range b.N {
				next <- i
			}
			close(next)
			wg.Wait()
			select {
			case <-all:
			case <-time.After(5 * time.Minute):
				b.Fatalf("%d of %d replies after 5 minutes", answered.Load(), b.N)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(float64(runtime.NumCPU()), "cpus")
		})
	}
}
