package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hotline/adapters/sms/twilio"
)

// TestServeTwilioAccount configures an SMS account as an operator would
// and texts the gateway through its public listener.
func TestServeTwilioAccount(t *testing.T) {
	t.Parallel()
	var sent atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent.Add(1)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"sid":"SM00000000000000000000000000000001","status":"queued","num_segments":"1"}`)
	}))
	t.Cleanup(api.Close)
	cfg := testConfig(t, t.TempDir())
	cfg.Router.DefaultLang = "en"
	addAccount(&cfg, twilio.Platform(), &twilio.Config{Account: "sms-main", APIBase: api.URL, ReplyWindow: 4 * time.Second,
		Provider: "twilio", AccountSID: "AC00000000000000000000000000000000", AuthToken: "auth-token-for-tests", From: "+14155550100"})
	public, _, _ := startServe(t, cfg)

	hook := "http://" + public + "/webhooks/sms/sms-main"
	form := url.Values{"MessageSid": {"SM" + strings.Repeat("7", 32)}, "From": {"+14155552671"}, "To": {"+14155550100"}, "Body": {"help+es"}}
	post := func(sig string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, hook, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := post("forged"); code != http.StatusForbidden {
		t.Fatalf("forged signature: %d, want 403", code)
	}
	code, body := post(twilio.Signature("auth-token-for-tests", hook, form))
	if code != 200 || !strings.Contains(body, "<Message>") || !strings.Contains(body, "Pagos") {
		t.Fatalf("help+es by SMS: %d %s", code, body)
	}
	if n := sent.Load(); n != 0 {
		t.Fatalf("%d API sends for a reply given in TwiML", n)
	}
}
