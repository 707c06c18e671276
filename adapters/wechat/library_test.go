package wechat

import (
	"encoding/xml"
	"testing"

	// Only the crypto helpers of the library's util package, as an
	// independent implementation to check ours against. The root
	// package is never imported: its init() turns on global debug
	// logging (docs/libraries.md, section 1).
	wxutil "github.com/silenceper/wechat/v2/util"
)

// TestLibraryCrossCheck: our sealed passive reply opens with
// silenceper/wechat's DecryptMsg and its signature matches the library's;
// a push the library encrypts opens with our Decrypt.
func TestLibraryCrossCheck(t *testing.T) {
	a := &Adapter{cfg: Config{AppID: kaAppID, Token: kaToken}}
	a.key, _ = AESKey(kaAESKey)
	reply := []byte("<xml><ToUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></ToUserName><Content><![CDATA[您好]]></Content></xml>")
	body, err := a.seal(a.key, reply, kaNonce, goldenNow)
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ Encrypt, MsgSignature, TimeStamp, Nonce string }
	if err := xml.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	_, got, err := wxutil.DecryptMsg(kaAppID, s.Encrypt, kaAESKey)
	if err != nil || string(got) != string(reply) {
		t.Fatalf("library decrypt: got %q, %v; want %q", got, err, reply)
	}
	if want := wxutil.Signature(kaToken, s.TimeStamp, s.Nonce, s.Encrypt); s.MsgSignature != want {
		t.Fatalf("MsgSignature: got %s, library says %s", s.MsgSignature, want)
	}
	enc, err := wxutil.EncryptMsg([]byte("0123456789abcdef"), []byte(kaMsg), kaAppID, kaAESKey)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := Decrypt(a.key, kaAppID, string(enc))
	if err != nil || string(msg) != kaMsg {
		t.Fatalf("our decrypt of the library's ciphertext: got %q, %v", msg, err)
	}
}
