package wechat

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"hotline/bus"
	"hotline/envelope"
)

func eventPush(user, event, key string, at time.Time) string {
	return fmt.Sprintf("<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName><CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[%s]]></Event><EventKey><![CDATA[%s]]></EventKey></xml>",
		accountGH, user, at.Unix(), event, key)
}

// TestFollowClickUnfollow runs events through the router in safe mode: a
// follow through a QR code is welcomed, menu key 1 answers account
// security, an unfollow opts the user out.
func TestFollowClickUnfollow(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{replay: 5 * time.Minute})
	user := newUser()
	now := time.Now()
	code, body := g.at(t)(safeRequest(t, testToken, now, eventPush(user, "subscribe", "qrscene_42", now)))
	if code != 200 || !strings.Contains(passiveText(t, body, user, true), "欢迎") {
		t.Fatalf("subscribe: got %d %q, want the welcome", code, body)
	}
	code, body = g.at(t)(safeRequest(t, testToken, now, eventPush(user, "CLICK", "1", now.Add(time.Second))))
	if code != 200 || !strings.Contains(passiveText(t, body, user, true), "账号安全") {
		t.Fatalf("CLICK 1: got %d %q, want the account security answer", code, body)
	}
	if code, body := g.at(t)(safeRequest(t, testToken, now, eventPush(user, "unsubscribe", "", now.Add(2*time.Second)))); code != 200 {
		t.Fatalf("unsubscribe: got %d %q, want 200", code, body)
	}
	waitOptedOut(t, g, user)
}

func waitOptedOut(t *testing.T, g *gateway, user string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		opted, err := g.b.OptedOut(context.Background(), envelope.ConversationKey("wechat", testAccount, user))
		if err == nil && opted {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the unsubscribe did not opt the user out")
}

// Compatible mode carries the plaintext fields and Encrypt side by side;
// only the encrypted copy, which the signature covers, is read.
func TestCompatibleModeReadsTheEncryptedCopy(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{replay: 5 * time.Minute})
	user := newUser()
	key, _ := AESKey(kaAESKey)
	enc, _ := Encrypt(key, testAppID, nil, []byte(textPush(user, "帮助", newMsgID(), time.Now())))
	ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), nextNonce()
	q := "?" + url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {Signature(testToken, ts, nonce)}, "encrypt_type": {"aes"},
		"msg_signature": {Signature(testToken, ts, nonce, enc)}}.Encode()
	// The plaintext copy says something else: it must be ignored.
	forged := strings.Replace(textPush("someone-else", "菜单", "1", time.Now()), "</xml>", "<Encrypt><![CDATA["+enc+"]]></Encrypt></xml>", 1)
	code, body := g.post(t, q, forged)
	if code != 200 || !strings.Contains(passiveText(t, body, user, true), "1 账号安全") {
		t.Fatalf("compatible push: got %d %q, want the help text for %s", code, body, user)
	}
}

func TestConfigValidate(t *testing.T) {
	good := testConfig("", 0, 0)
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"bad account", func(c *Config) { c.Account = "oa.main" }},
		{"no app id", func(c *Config) { c.AppID = "" }},
		{"no token", func(c *Config) { c.Token = "" }},
		{"no app secret", func(c *Config) { c.AppSecret = "" }},
		{"short aes key", func(c *Config) { c.EncodingAESKey = "abc" }},
		{"reply window 5s", func(c *Config) { c.ReplyWindow = 5 * time.Second }},
		{"negative replay window", func(c *Config) { c.ReplayWindow = -time.Second }},
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("got nil, want an error")
			}
			if strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), kaAESKey) {
				t.Fatalf("error %q carries a secret", err)
			}
		})
	}
}

const rotatedKey = "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlk0"

// TestKeyRotation: after the EncodingAESKey changes, pushes sealed with
// either key are read, and each is answered with the key that opened it.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{rotated: true, replay: 5 * time.Minute})
	user := newUser()
	// Sealed with the previous key (kaAESKey): passiveText opens the
	// answer with that key.
	code, body := g.at(t)(safeRequest(t, testToken, time.Now(), textPush(user, "帮助", newMsgID(), time.Now())))
	if code != 200 || !strings.Contains(passiveText(t, body, user, true), "1 账号安全") {
		t.Fatalf("push under the previous key: got %d %q", code, body)
	}
	// Sealed with the new key: the answer opens with the new key only.
	key, _ := AESKey(rotatedKey)
	enc, _ := Encrypt(key, testAppID, nil, []byte(textPush(user, "帮助", newMsgID(), time.Now())))
	ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), nextNonce()
	q := "?" + url.Values{"timestamp": {ts}, "nonce": {nonce}, "encrypt_type": {"aes"}, "msg_signature": {Signature(testToken, ts, nonce, enc)}}.Encode()
	code, body = g.post(t, q, "<xml><Encrypt><![CDATA["+enc+"]]></Encrypt></xml>")
	if code != 200 || !strings.Contains(body, "<Encrypt>") {
		t.Fatalf("push under the new key: got %d %q", code, body)
	}
	var s struct{ Encrypt string }
	_ = xmlUnmarshal(body, &s)
	if msg, err := Decrypt(key, testAppID, s.Encrypt); err != nil || !strings.Contains(string(msg), "1 账号安全") {
		t.Fatalf("answer under the new key: got %q, %v", msg, err)
	}
}

func xmlUnmarshal(s string, v any) error { return xml.Unmarshal([]byte(s), v) }

// A push that cannot be stored is answered 503, so WeChat tries again.
func TestPublishFailureIs503(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{alone: true, plain: true, replyWindow: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	code, body := g.at(t)(plainRequest(testToken, time.Now(), textPush(newUser(), "hello", newMsgID(), time.Now())))
	if code != 503 {
		t.Fatalf("got %d %q, want 503", code, body)
	}
}

// A cached token with less than five minutes left is replaced before use.
func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{alone: true})
	ctx := context.Background()
	raw, _ := json.Marshal(storedToken{Token: "ALMOST_EXPIRED", ExpiresAt: time.Now().Add(4 * time.Minute)})
	if _, err := g.b.KV(bus.BucketTokens).Put(ctx, "wechat.token."+testAppID, raw); err != nil {
		t.Fatal(err)
	}
	user := newUser()
	if _, err := g.a.Send(ctx, testReply(user, "hi")); err != nil {
		t.Fatal(err)
	}
	if got := g.api.tokenFetches(); got != 1 {
		t.Fatalf("token fetches: got %d, want 1", got)
	}
	e, err := g.b.KV(bus.BucketTokens).Get(ctx, "wechat.token."+testAppID)
	if err != nil {
		t.Fatal(err)
	}
	var st storedToken
	if err := json.Unmarshal(e.Value(), &st); err != nil || !strings.HasPrefix(st.Token, "ACCESS_TOKEN_1") || time.Until(st.ExpiresAt) < time.Hour {
		t.Fatalf("stored token: got %+v (%v), want the new one, valid about 2h", st, err)
	}
}
