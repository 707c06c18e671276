package weibo

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// The official example of the fan-service access guide (docs/protocols.md B.1).
const (
	kaSecret    = "xyz123xyz"
	kaTimestamp = "1397022061823"
	kaNonce     = "57155157"
	kaSignature = "90e4c22c90a58f26526c2dd5b6c56c8822edeaa1"
)

func TestSignatureKnownAnswer(t *testing.T) {
	if got := Signature(kaSecret, kaTimestamp, kaNonce); got != kaSignature {
		t.Fatalf("Signature: got %s, want %s", got, kaSignature)
	}
	tests := []struct {
		name                   string
		secret, ts, nonce, sig string
		want                   bool
	}{
		{"official", kaSecret, kaTimestamp, kaNonce, kaSignature, true},
		{"upper-case hex", kaSecret, kaTimestamp, kaNonce, strings.ToUpper(kaSignature), true},
		{"wrong secret", "xyz123xyZ", kaTimestamp, kaNonce, kaSignature, false},
		{"other timestamp", kaSecret, "1397022061824", kaNonce, kaSignature, false},
		{"other nonce", kaSecret, kaTimestamp, "57155158", kaSignature, false},
		{"empty signature", kaSecret, kaTimestamp, kaNonce, "", false},
		{"empty secret", "", kaTimestamp, kaNonce, Signature("", kaTimestamp, kaNonce), false},
		{"truncated", kaSecret, kaTimestamp, kaNonce, kaSignature[:39], false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidSignature(tc.secret, tc.ts, tc.nonce, tc.sig); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestVerifyEchoKnownAnswer replays the official verification request.
// Its timestamp is from 2014, so the replay check is off.
func TestVerifyEchoKnownAnswer(t *testing.T) {
	g := newGateway(t, gatewayOpts{alone: true, appSecret: kaSecret, replay: 0})
	q := "?nonce=57155157&timestamp=1397022061823&echostr=dnPdpTZz85&signature=90e4c22c90a58f26526c2dd5b6c56c8822edeaa1"
	code, ctype, body := g.get(t, q)
	if code != 200 || body != "dnPdpTZz85" || !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("got %d %q %q, want 200 text/plain dnPdpTZz85", code, ctype, body)
	}
	for name, q := range map[string]string{
		"wrong signature":   "?nonce=57155157&timestamp=1397022061823&echostr=dnPdpTZz85&signature=" + strings.Repeat("0", 40),
		"missing signature": "?nonce=57155157&timestamp=1397022061823&echostr=dnPdpTZz85",
		"other nonce":       "?nonce=57155158&timestamp=1397022061823&echostr=dnPdpTZz85&signature=" + kaSignature,
	} {
		if code, _, body := g.get(t, q); code != 401 || strings.Contains(body, "dnPdpTZz85") {
			t.Errorf("%s: got %d %q, want 401 without the echo", name, code, body)
		}
	}
	// With a replay window the 2014 request is refused.
	g2 := newGateway(t, gatewayOpts{alone: true, appSecret: kaSecret, replay: 5 * time.Minute})
	if code, _, _ := g2.get(t, q); code != 401 {
		t.Fatalf("stale official request: got %d, want 401", code)
	}
}

func TestCheckFresh(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	sec := func(d time.Duration) string { return itoa(now.Add(d).Unix()) }
	ms := func(d time.Duration) string { return itoa(now.Add(d).UnixMilli()) }
	tests := []struct {
		name, ts string
		window   time.Duration
		ok       bool
	}{
		{"seconds now", sec(0), 5 * time.Minute, true},
		{"milliseconds now", ms(0), 5 * time.Minute, true},
		{"seconds 4m old", sec(-4 * time.Minute), 5 * time.Minute, true},
		{"milliseconds 6m old", ms(-6 * time.Minute), 5 * time.Minute, false},
		{"seconds 6m old", sec(-6 * time.Minute), 5 * time.Minute, false},
		{"seconds 6m ahead", sec(6 * time.Minute), 5 * time.Minute, false},
		{"empty", "", 5 * time.Minute, false},
		{"not a number", "12ab", 5 * time.Minute, false},
		{"anything with the check off", "2014", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkFresh(tc.ts, now, tc.window)
			if (err == nil) != tc.ok {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
