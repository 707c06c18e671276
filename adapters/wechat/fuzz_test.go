package wechat

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hotline/bus/bustest"
)

// fuzzAdapter is an adapter with a 1 ms reply window and no timestamp
// check, so any body the fuzzer makes is judged on its content alone.
func fuzzAdapter(t testing.TB, safe bool) http.Handler {
	cfg := testConfig("http://127.0.0.1:1", time.Millisecond, 0)
	if !safe {
		cfg.EncodingAESKey = ""
	}
	a, err := New(cfg, Deps{Bus: bustest.Open(t)})
	if err != nil {
		t.Fatal(err)
	}
	return a.Routes()["POST /webhooks/wechat/"+testAccount]
}

// FuzzPost drives the POST body path: plaintext pushes (mode 0), pushes
// encrypted and signed as WeChat does (mode 1), and raw safe-mode bodies
// whose Encrypt is whatever the fuzzer wrote, correctly signed (mode 2).
// Nothing may panic; a push ToMessage refuses must be answered 400, one
// it accepts 200.
func FuzzPost(f *testing.F) {
	for _, p := range pushFiles(f) {
		if raw, err := os.ReadFile(p); err == nil {
			f.Add(raw, byte(0))
			f.Add(raw, byte(1))
		}
	}
	f.Add([]byte(`<xml><Encrypt><![CDATA[`+kaEncrypt+`]]></Encrypt></xml>`), byte(2))
	f.Add([]byte(`<xml><Encrypt>AAAA</Encrypt></xml>`), byte(2))
	f.Add([]byte(`<xml><MsgType>text`), byte(0))
	plain, safe := fuzzAdapter(f, false), fuzzAdapter(f, true)
	key, _ := AESKey(kaAESKey)
	var nonces atomic.Int64
	f.Fuzz(func(t *testing.T, body []byte, mode byte) {
		// A fresh nonce per push, as WeChat sends: the body-reuse guard
		// stays on without a replay window and refuses a signed query
		// seen before with another body.
		ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), strconv.FormatInt(nonces.Add(1), 10)
		q := url.Values{"timestamp": {ts}, "nonce": {nonce}}
		h, payload := plain, string(body)
		switch mode % 3 {
		case 0:
			q.Set("signature", Signature(testToken, ts, nonce))
		case 1:
			enc, err := Encrypt(key, testAppID, nil, body)
			if err != nil {
				t.Fatal(err)
			}
			h, payload = safe, "<xml><Encrypt><![CDATA["+enc+"]]></Encrypt></xml>"
			q.Set("encrypt_type", "aes")
			q.Set("msg_signature", Signature(testToken, ts, nonce, enc))
		case 2:
			h = safe
			outer, err := parsePush(body)
			enc := ""
			if err == nil {
				enc = outer.Encrypt
			}
			q.Set("encrypt_type", "aes")
			q.Set("msg_signature", Signature(testToken, ts, nonce, enc))
		}
		req := httptest.NewRequest(http.MethodPost, "/webhooks/wechat/"+testAccount+"?"+q.Encode(), strings.NewReader(payload))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch {
		case mode%3 == 2:
			if w.Code != 200 && w.Code != 400 {
				t.Fatalf("raw safe body: got %d %q, want 200 or 400", w.Code, w.Body.String())
			}
		case len(payload) > maxBody:
			if w.Code != 400 {
				t.Fatalf("oversized body: got %d, want 400", w.Code)
			}
		default:
			_, err := ToMessage(body, testAccount, goldenID, goldenNow)
			if want := map[bool]int{true: 200, false: 400}[err == nil]; w.Code != want {
				t.Fatalf("got %d %q, want %d (ToMessage: %v)", w.Code, w.Body.String(), want, err)
			}
			if w.Code == 200 && w.Body.String() != "success" {
				t.Fatalf("got body %q, want success (no router runs)", w.Body.String())
			}
		}
	})
}

// BenchmarkWebhook measures safe-mode pushes per second through the
// webhook: signature check, decryption, normalization and a publish
// acknowledged by the embedded JetStream. No router runs, so the passive
// window is 1 ms to keep its wait from dominating the figure. WeChat
// opens many connections at once; 20 per core on this two-core machine
// gives 40 concurrent requests.
func BenchmarkWebhook(b *testing.B) {
	h := fuzzAdapter(b, true)
	key, _ := AESKey(kaAESKey)
	var n atomic.Int64
	n.Store(6054768590064713728)
	b.SetParallelism(20)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := strconv.FormatInt(n.Add(1), 10)
			enc, _ := Encrypt(key, testAppID, nil, []byte(textPush("oyORnuP8q7ou2gfYjqLzSIWZf0rs", "我的包裹在哪里", id, time.Now())))
			ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), id
			q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "encrypt_type": {"aes"}, "msg_signature": {Signature(testToken, ts, nonce, enc)}}
			req := httptest.NewRequest(http.MethodPost, "/webhooks/wechat/"+testAccount+"?"+q.Encode(),
				strings.NewReader("<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA["+enc+"]]></Encrypt></xml>"))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Errorf("got %d %s", w.Code, w.Body.String())
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pushes/s")
}
