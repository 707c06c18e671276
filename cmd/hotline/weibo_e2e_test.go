package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"hotline/adapters/weibo"
)

// TestServeWeiboPush configures a Weibo account and pushes a signed
// message to the gateway's public listener.
func TestServeWeiboPush(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, t.TempDir())
	cfg.Router.DefaultLang = "en"
	addAccount(&cfg, weibo.Platform(), &weibo.Config{Account: "weibo-main", APIBase: "http://127.0.0.1:1", ReplyWindow: weibo.DefaultReplyWindow,
		ReplayWindow: weibo.DefaultReplayWindow, AppKey: "123456", AppSecret: "weibo-app-secret", AccessToken: "weibo-access-token"})
	public, _, _ := startServe(t, cfg)

	now := time.Now()
	push := fmt.Sprintf(`{"type":"text","receiver_id":1902538057,"sender_id":2489518277,"created_at":%q,"text":"help","data":{}}`,
		now.Format("Mon Jan 02 15:04:05 -0700 2006"))
	ts, nonce := fmt.Sprint(now.UnixMilli()), "57155157"
	post := func(sig string) (int, string) {
		q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {sig}}
		resp, err := http.Post("http://"+public+"/webhooks/weibo/weibo-main?"+q.Encode(), "application/json", strings.NewReader(push))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := post("0000000000000000000000000000000000000000"); code != http.StatusUnauthorized {
		t.Fatalf("forged signature: %d, want 401", code)
	}
	code, body := post(weibo.Signature("weibo-app-secret", ts, nonce))
	if code != 200 || !strings.Contains(body, `"result":true`) || !strings.Contains(body, `"receiver_id":"2489518277"`) {
		t.Fatalf("help by Weibo push: %d %s, want a passive reply to the sender", code, body)
	}
}
