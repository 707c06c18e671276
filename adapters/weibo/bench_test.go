package weibo

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"hotline/bus/bustest"
)

// BenchmarkWebhookIntake measures signed text pushes per second through
// the push webhook: signature and timestamp check (replay_window at its
// 5 m default), the replay guard's record in hotline_signatures, decoding,
// and a publish on HOTLINE_IN acknowledged by the embedded JetStream,
// answered with Weibo's empty 200. No router runs, so the passive window
// would wait out the whole reply_window; it is 1 ns, the smallest
// Validate takes (0 means the 4 s default), so the figure is intake alone,
// as with BenchmarkWebhookIntake in adapters/telegram. Weibo does not say
// how many pushes it sends at once; 40 requests are in flight, as in that
// benchmark.
func BenchmarkWebhookIntake(b *testing.B) {
	bs := bustest.Open(b)
	a, err := New(Config{Account: testAccount, AppKey: "3538199806", AppSecret: testSecret, AccessToken: testToken,
		APIBase: "http://127.0.0.1:1", ReplyWindow: time.Nanosecond, ReplayWindow: DefaultReplayWindow}, Deps{Bus: bs})
	if err != nil {
		b.Fatal(err)
	}
	const path = "/webhooks/weibo/" + testAccount
	h := a.Routes()[http.MethodPost+" "+path]
	bustest.BenchIntake(b, bs, func(n int64) error {
		// Weibo sends no message id: a push's dedup id is its sender,
		// created_at (whole seconds), type and content, so every push
		// has a sender of its own or it would be taken for a retry.
		// The nonce is new too, as the replay guard refuses a signed
		// query seen before with another body.
		user := strconv.FormatInt(3100000000+n, 10)
		ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
		nonce := strconv.FormatInt(71000000+n, 10)
		q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {Signature(testSecret, ts, nonce)}}.Encode()
		req := httptest.NewRequest(http.MethodPost, path+"?"+q, strings.NewReader(textPush(user, "where is my parcel?", time.Now())))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK || w.Body.Len() != 0 {
			return fmt.Errorf("push %d: got %d %q, want 200 with an empty body", n, w.Code, w.Body.String())
		}
		return nil
	})
}
