package webchat

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/coder/websocket"
)

// BenchmarkSocketIntake measures visitor messages through the socket:
// frame parsed, message stored on HOTLINE_IN, transcript updated, ack
// written, with 32 visitors sending at once (each waits for its ack, as
// the page does).
func BenchmarkSocketIntake(b *testing.B) {
	f := newFixture(b, Config{RatePerMinute: 1 << 30, Burst: 1 << 30}, nil)
	const visitors = 32
	clients := make([]*client, visitors)
	for i := range clients {
		clients[i] = f.dial(b, newJar(b), "")
	}
	work := make(chan int)
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for n := range work {
				id := fmt.Sprint("m", n)
				data, _ := json.Marshal(clientFrame{Type: "send", ID: id, Text: "help+ar"})
				if err := c.ws.Write(ctx, websocket.MessageText, data); err != nil {
					b.Error(err)
					return
				}
				for {
					_, raw, err := c.ws.Read(ctx)
					if err != nil {
						b.Error(err)
						return
					}
					var fr frame
					if json.Unmarshal(raw, &fr) == nil && (fr.Type == "ack" || fr.Type == "error") {
						if fr.Type == "error" {
							b.Errorf("message %s refused: %s", id, fr.Message)
						}
						break
					}
				}
			}
		}()
	}
	for n := 0; n < b.N; n++ {
		work <- n
	}
	close(work)
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
