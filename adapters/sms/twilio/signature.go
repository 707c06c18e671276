package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
)

// Signature computes X-Twilio-Signature: base64 of HMAC-SHA1, keyed with
// the auth token, over the full URL followed by every POST parameter as
// key+value with keys sorted byte-wise (values of a repeated key sorted
// too). See https://www.twilio.com/docs/usage/webhooks/webhooks-security.
func Signature(authToken, fullURL string, params url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vals := append([]string(nil), params[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ValidSignature checks sig in constant time against the URL as given
// and with its default port added or removed: Twilio signs with either,
// depending on how the webhook URL was written in the console.
func ValidSignature(authToken, fullURL string, params url.Values, sig string) bool {
	if sig == "" || authToken == "" {
		return false
	}
	ok := false
	for _, u := range urlVariants(fullURL) {
		if subtle.ConstantTimeCompare([]byte(Signature(authToken, u, params)), []byte(sig)) == 1 {
			ok = true
		}
	}
	return ok
}

func urlVariants(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return []string{raw}
	}
	port := map[string]string{"https": "443", "http": "80"}[u.Scheme]
	if port == "" {
		return []string{raw}
	}
	alt := *u
	if u.Port() == port {
		alt.Host = u.Hostname()
	} else if u.Port() == "" {
		alt.Host = u.Host + ":" + port
	} else {
		return []string{raw}
	}
	return []string{raw, alt.String()}
}
