package telegram

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"hotline/bus/bustest"
)

// BenchmarkWebhookIntake measures updates per second through the webhook
// handler: secret check, decoding, normalization and a publish acknowledged
// by the embedded JetStream. No router runs, so the passive window is set
// to 1 ms to keep its wait from dominating the figure.
func BenchmarkWebhookIntake(b *testing.B) {
	bs := bustest.Open(b)
	a, err := New(Config{Account: "tg-main", Token: testToken, Mode: ModeWebhook, WebhookSecret: testSecret,
		APIBase: "http://127.0.0.1:1", ReplyWindow: time.Millisecond}, Deps{Bus: bs})
	if err != nil {
		b.Fatal(err)
	}
	a.self = &tgbotapi.User{ID: 7000000001, IsBot: true, UserName: "hotline_bot"}
	h := a.Routes()["POST /webhooks/telegram/tg-main"]
	var seq atomic.Int64
	seq.Store(800000000)
	// Telegram opens up to max_connections (40) at once; 20 per core on
	// this two-core machine gives that concurrency.
	b.SetParallelism(20)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := int(seq.Add(1))
			req := httptest.NewRequest(http.MethodPost, "/webhooks/telegram/tg-main", strings.NewReader(textUpdate(id, testUser, "where is my parcel?")))
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", testSecret)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Errorf("got %d", w.Code)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "updates/s")
}
