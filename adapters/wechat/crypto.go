package wechat

import (
	"crypto/aes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/silenceper/wechat/v2/util"
)

// Signature is WeChat's signature: the lower-case hex SHA-1 of its parts
// (token, timestamp, nonce, and in safe mode the Encrypt value) sorted
// byte-wise and joined with no separator (docs/protocols.md A.2, A.6). It is
// silenceper/wechat's util.Signature, on a copy: that one sorts its
// argument in place.
func Signature(parts ...string) string {
	return util.Signature(append([]string(nil), parts...)...)
}

// validSignature checks sig against Signature(parts...) in constant time.
// An empty signature never passes.
func validSignature(sig string, parts ...string) bool {
	if sig == "" {
		return false
	}
	want := Signature(parts...)
	return subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(sig))) == 1
}

// blockPad is WeChat's PKCS#7 block size: 32 bytes, not AES's 16
// (docs/protocols.md A.6).
const blockPad = 32

// AESKey decodes an EncodingAESKey as WeChat does: base64 of the 43
// characters plus "=", with the non-strict decoder, because the official
// sample key has non-zero spare bits that the strict decoder refuses.
func AESKey(encodingAESKey string) ([]byte, error) {
	if len(encodingAESKey) != 43 {
		return nil, fmt.Errorf("wechat: encoding_aes_key has %d characters, want 43", len(encodingAESKey))
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, errors.New("wechat: encoding_aes_key is not base64 of 32 bytes")
	}
	return key, nil
}

var errDecrypt = errors.New("wechat: ciphertext does not decrypt")

// Decrypt opens a safe-mode Encrypt value: base64, AES-256-CBC with the
// IV taken from the key, a PKCS#7 pad of up to 32, then
// random(16) || len(4, big endian) || msg || appid, through silenceper/
// wechat's util.AESDecryptMsg (which checks every length against the
// plaintext). The trailing app id must equal appID.
func Decrypt(key []byte, appID, encrypted string) ([]byte, error) {
	ct, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil {
		return nil, fmt.Errorf("wechat: Encrypt is not base64: %w", err)
	}
	if len(key) != 32 || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, errDecrypt
	}
	_, msg, gotAppID, err := util.AESDecryptMsg(ct, key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errDecrypt, err)
	}
	if subtle.ConstantTimeCompare(gotAppID, []byte(appID)) != 1 {
		return nil, errors.New("wechat: decrypted message is for another app id")
	}
	return msg, nil
}

// Encrypt seals msg for appID the way Decrypt opens it, with silenceper/
// wechat's util.AESEncryptMsg. random must be 16 bytes (nil draws them
// from crypto/rand).
func Encrypt(key []byte, appID string, random, msg []byte) (string, error) {
	if random == nil {
		random = make([]byte, 16)
		if _, err := rand.Read(random); err != nil {
			return "", err
		}
	}
	if len(random) != 16 {
		return "", errors.New("wechat: random prefix must be 16 bytes")
	}
	if len(key) != 32 {
		return "", errors.New("wechat: AES key must be 32 bytes")
	}
	return base64.StdEncoding.EncodeToString(util.AESEncryptMsg(random, msg, appID, key)), nil
}
