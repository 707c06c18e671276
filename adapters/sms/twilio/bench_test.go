package twilio

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"hotline/bus/bustest"
)

// BenchmarkWebhookIntake measures signed inbound SMS webhooks per second
// through the handler: form parsing, the X-Twilio-Signature check against
// the public URL, decoding, the per-number inbound limit, and a publish on
// HOTLINE_IN acknowledged by the embedded JetStream, answered with an
// empty TwiML response. The body is "hello", not a carrier keyword, so the
// passive-reply path runs; no router does, so its window would wait out
// the whole reply_window: it is 1 ns, the smallest Validate takes (0
// means the 4 s default), so the figure is intake alone, as with
// BenchmarkWebhookIntake in adapters/telegram, with 40 requests in flight
// as there. Every request has a MessageSid of its own (a repeated one is
// a retry and not stored again), and the senders are 40,000 numbers taken
// in turn, so a sender stays inside its inbound limit and the limiter's
// table stays under the 50,000 numbers where it starts sweeping.
func BenchmarkWebhookIntake(b *testing.B) {
	bs := bustest.Open(b)
	a, err := New(Config{Provider: Provider, Account: "sms-main", AccountSID: testSID, AuthToken: testToken, From: "+14155550100",
		APIBase: "http://127.0.0.1:1", PublicURL: publicURL, ReplyWindow: time.Nanosecond}, Deps{Bus: bs})
	if err != nil {
		b.Fatal(err)
	}
	const path = "/webhooks/sms/sms-main"
	h := a.Routes()[http.MethodPost+" "+path]
	bustest.BenchIntake(b, bs, func(n int64) error {
		form := text(fmt.Sprintf("+141555%05d", 50000+n%40000), "hello") // a new MessageSid
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", Signature(testToken, publicURL+path, form))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "<Message>") {
			return fmt.Errorf("webhook %d: got %d %q, want 200 with an empty TwiML response", n, w.Code, w.Body.String())
		}
		return nil
	})
}
