package weibo

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Signature computes the fan-service signature: the hex SHA-1 of the app
// secret, the timestamp and the nonce sorted byte-wise and joined with no
// separator (https://open.weibo.com/wiki/Messages_api_start; docs/protocols.md
// B.1). Weibo has no separate token: the app key's secret signs.
func Signature(secret, timestamp, nonce string) string {
	parts := []string{secret, timestamp, nonce}
	sort.Strings(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// ValidSignature checks sig against the expected signature in constant
// time. An empty secret or signature never passes. Hex case is ignored:
// the wiki's samples are lower case, and nothing is gained by refusing an
// upper-case rendering of the same digest.
func ValidSignature(secret, timestamp, nonce, sig string) bool {
	if secret == "" || sig == "" {
		return false
	}
	want := Signature(secret, timestamp, nonce)
	return subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(sig))) == 1
}

var errStale = errors.New("timestamp outside the replay window")

// checkFresh refuses a timestamp further than window from now, in either
// direction. Weibo's own example uses a 13-digit millisecond timestamp
// while the rest of its API counts seconds, so both are accepted: 13
// digits or more are milliseconds, fewer are seconds. A zero window turns
// the check off.
func checkFresh(timestamp string, now time.Time, window time.Duration) error {
	if window <= 0 {
		return nil
	}
	if timestamp == "" || len(timestamp) > 16 {
		return errors.New("timestamp is missing or malformed")
	}
	n, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || n <= 0 {
		return errors.New("timestamp is not a positive integer")
	}
	var t time.Time
	if len(timestamp) >= 13 {
		t = time.UnixMilli(n)
	} else {
		t = time.Unix(n, 0)
	}
	if d := now.Sub(t); d > window || d < -window {
		return errStale
	}
	return nil
}
