package wechat

import (
	"encoding/xml"
	"strings"
	"testing"
)

// Tencent's Python sample (docs/protocols.md A.7, WX-2).
const (
	kaToken     = "spamtest"
	kaAESKey    = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	kaAppID     = "wx2c2769f8efd9abc2"
	kaTimestamp = "1409735669"
	kaNonce     = "1320562132"
	kaMsgSig    = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
	kaSig       = "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a"
	kaEncrypt   = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
	kaMsg       = "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n<CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[abcdteT]]></Content>\n<MsgId>6054768590064713728</MsgId>\n</xml>"
	kaRandom    = "89465c840c5f116f"
)

func TestKnownAnswerSignatures(t *testing.T) {
	if got := Signature(kaToken, kaTimestamp, kaNonce); got != kaSig {
		t.Errorf("signature: got %s, want %s", got, kaSig)
	}
	if got := Signature(kaToken, kaTimestamp, kaNonce, kaEncrypt); got != kaMsgSig {
		t.Errorf("msg_signature: got %s, want %s", got, kaMsgSig)
	}
	if !validSignature(strings.ToUpper(kaSig), kaToken, kaTimestamp, kaNonce) {
		t.Error("upper-case signature refused")
	}
	if validSignature("", kaToken, kaTimestamp, kaNonce) || validSignature(kaSig, "other", kaTimestamp, kaNonce) {
		t.Error("an empty or wrong signature passed")
	}
}

func TestKnownAnswerDecrypt(t *testing.T) {
	key, err := AESKey(kaAESKey)
	if err != nil {
		t.Fatalf("AESKey: %v (the official key needs the non-strict decoder)", err)
	}
	msg, err := Decrypt(key, kaAppID, kaEncrypt)
	if err != nil {
		t.Fatal(err)
	}
	if string(msg) != kaMsg || len(msg) != 280 {
		t.Fatalf("got %d bytes %q, want %d bytes %q", len(msg), msg, 280, kaMsg)
	}
	if _, err := Decrypt(key, "wx0000000000000000", kaEncrypt); err == nil {
		t.Fatal("decrypted for another app id")
	}
}

// The random prefix of the vector is known, so encryption must give the
// vector's ciphertext byte for byte.
func TestKnownAnswerEncrypt(t *testing.T) {
	key, _ := AESKey(kaAESKey)
	got, err := Encrypt(key, kaAppID, []byte(kaRandom), []byte(kaMsg))
	if err != nil {
		t.Fatal(err)
	}
	if got != kaEncrypt {
		t.Fatalf("got %s\nwant %s", got, kaEncrypt)
	}
}

// A sealed passive reply opens with the documented algorithm and its
// signature checks.
func TestSealedReplyRoundTrip(t *testing.T) {
	a := &Adapter{cfg: Config{AppID: kaAppID, Token: kaToken}}
	a.key, _ = AESKey(kaAESKey)
	reply := []byte("<xml><Content><![CDATA[你好]]></Content></xml>")
	body, err := a.seal(a.key, reply, "nonce42", goldenNow)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Encrypt, MsgSignature, TimeStamp, Nonce string
	}
	if err := xml.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	if s.Nonce != "nonce42" || s.MsgSignature != Signature(kaToken, s.TimeStamp, s.Nonce, s.Encrypt) {
		t.Fatalf("sealed reply %s: bad nonce or signature", body)
	}
	got, err := Decrypt(a.key, kaAppID, s.Encrypt)
	if err != nil || string(got) != string(reply) {
		t.Fatalf("got %q, %v; want %q", got, err, reply)
	}
}

func TestDecryptRejects(t *testing.T) {
	key, _ := AESKey(kaAESKey)
	for name, enc := range map[string]string{
		"not base64":     "%%%",
		"empty":          "",
		"not blocks":     "YWJj",
		"wrong key data": strings.Repeat("A", 64),
	} {
		if _, err := Decrypt(key, kaAppID, enc); err == nil {
			t.Errorf("%s: decrypted", name)
		}
	}
	if _, err := AESKey("short"); err == nil {
		t.Error("a short key was accepted")
	}
}
