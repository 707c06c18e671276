package twilio

import (
	"net/url"
	"testing"
)

// The public vector of twilio-python's and twilio-go's request validator
// tests (docs/protocols.md C.2).
func TestSignatureKnownAnswer(t *testing.T) {
	t.Parallel()
	params := url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {"+14158675309"},
		"Digits":  {"1234"},
		"From":    {"+14158675309"},
		"To":      {"+18005551212"},
	}
	const fullURL = "https://mycompany.com/myapp.php?foo=1&bar=2"
	const want = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
	if got := Signature("12345", fullURL, params); got != want {
		t.Fatalf("Signature = %s, want %s", got, want)
	}
	for _, u := range []string{fullURL, "https://mycompany.com:443/myapp.php?foo=1&bar=2"} {
		if !ValidSignature("12345", u, params, want) {
			t.Errorf("ValidSignature(%s) = false, want true (with and without the default port)", u)
		}
	}
	for name, tc := range map[string]struct {
		token, url, sig string
		params          url.Values
	}{
		"wrong token":   {"54321", fullURL, want, params},
		"other url":     {"12345", "https://mycompany.com/myapp.php?foo=1&bar=3", want, params},
		"other port":    {"12345", "https://mycompany.com:8443/myapp.php?foo=1&bar=2", want, params},
		"changed param": {"12345", fullURL, want, url.Values{"CallSid": {"CA1234567890ABCDE"}, "Digits": {"9999"}}},
		"empty sig":     {"12345", fullURL, "", params},
	} {
		if ValidSignature(tc.token, tc.url, tc.params, tc.sig) {
			t.Errorf("%s: accepted", name)
		}
	}
}
