package wechat

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Signature is WeChat's signature: the lower-case hex SHA-1 of its parts
// (token, timestamp, nonce, and in safe mode the Encrypt value) sorted
// byte-wise and joined with no separator (PROTOCOLS.md A.2, A.6).
func Signature(parts ...string) string {
	s := append([]string(nil), parts...)
	sort.Strings(s)
	sum := sha1.Sum([]byte(strings.Join(s, "")))
	return hex.EncodeToString(sum[:])
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
// (PROTOCOLS.md A.6).
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
// random(16) || len(4, big endian) || msg || appid. The trailing app id
// must equal appID.
func Decrypt(key []byte, appID, encrypted string) ([]byte, error) {
	ct, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil {
		return nil, fmt.Errorf("wechat: Encrypt is not base64: %w", err)
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, errDecrypt
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, key[:aes.BlockSize]).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > blockPad || pad > len(pt) {
		return nil, errDecrypt
	}
	pt = pt[:len(pt)-pad]
	if len(pt) < 20 {
		return nil, errDecrypt
	}
	n := binary.BigEndian.Uint32(pt[16:20])
	if uint64(n) > uint64(len(pt)-20) {
		return nil, errDecrypt
	}
	msg, tail := pt[20:20+n], pt[20+n:]
	if !bytes.Equal(tail, []byte(appID)) {
		return nil, errors.New("wechat: decrypted message is for another app id")
	}
	return msg, nil
}

// Encrypt seals msg for appID the way Decrypt opens it. random must be 16
// bytes (nil draws them from crypto/rand).
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
	var buf bytes.Buffer
	buf.Write(random)
	_ = binary.Write(&buf, binary.BigEndian, uint32(len(msg)))
	buf.Write(msg)
	buf.WriteString(appID)
	pad := blockPad - buf.Len()%blockPad
	buf.Write(bytes.Repeat([]byte{byte(pad)}, pad))
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	pt := buf.Bytes()
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(block, key[:aes.BlockSize]).CryptBlocks(ct, pt)
	return base64.StdEncoding.EncodeToString(ct), nil
}
