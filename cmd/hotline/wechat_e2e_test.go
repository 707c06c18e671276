package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"hotline/adapters/wechat"
)

// TestServeWeChatPush configures an official account in plaintext mode
// and pushes a signed message to the gateway's public listener.
func TestServeWeChatPush(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, t.TempDir())
	cfg.Router.DefaultLang = "zh"
	addAccount(&cfg, wechat.Platform(), &wechat.Config{Account: "oa-main", APIBase: "http://127.0.0.1:1", ReplyWindow: wechat.DefaultReplyWindow,
		ReplayWindow: wechat.DefaultReplayWindow, AppID: "wx5823bf96d3bd56c7", AppSecret: "wechat-app-secret", Token: "wechat-token"})
	public, _, _ := startServe(t, cfg)

	ts, nonce := fmt.Sprint(time.Now().Unix()), "1320562132"
	push := `<xml><ToUserName><![CDATA[gh_abc]]></ToUserName><FromUserName><![CDATA[oUser123]]></FromUserName>` +
		`<CreateTime>` + ts + `</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[帮助]]></Content>` +
		`<MsgId>23874623847123</MsgId></xml>`
	post := func(sig string) (int, string) {
		q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {sig}, "openid": {"oUser123"}}
		resp, err := http.Post("http://"+public+"/webhooks/wechat/oa-main?"+q.Encode(), "text/xml", strings.NewReader(push))
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
	code, body := post(wechat.Signature("wechat-token", ts, nonce))
	if code != 200 || !strings.Contains(body, "<ToUserName><![CDATA[oUser123]]></ToUserName>") || !strings.Contains(body, "账号安全") {
		t.Fatalf("帮助 by WeChat: %d %s, want the Chinese help as a passive reply", code, body)
	}
}
