package twilio

import (
	"net/http"
	"strings"
	"testing"

	"hotline/bus"
	"hotline/bus/bustest"
)

// Signed requests that no provider sends are refused with the right
// status and stored nowhere: a sender that is no address at all (400), a
// body over 64 KiB (413, not 400).
func TestHostileSignedWebhooksRefused(t *testing.T) {
	g := newGateway(t, false)
	for _, tc := range []struct {
		name string
		from string
		body string
		want int
	}{
		{"script as sender", "<script>alert(1)</script>", "hi", http.StatusBadRequest},
		{"two digits", "12", "hi", http.StatusBadRequest},
		{"whatsapp markup", "whatsapp:<b>x</b>", "hi", http.StatusBadRequest},
		{"oversized body", "+14155552671", strings.Repeat("x", 70<<10), http.StatusRequestEntityTooLarge},
		{"short code", "22395", "hi", http.StatusOK},
	} {
		code, body := g.post(t, "/webhooks/sms/sms-main", text(tc.from, tc.body), "")
		if code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.want)
		}
	}
	stored := bustest.Messages(t, g.b, bus.StreamIn, "hotline.in.sms.sms-main")
	if len(stored) != 1 || strings.Contains(string(stored[0]), "script") {
		t.Fatalf("%d messages stored, want only the short code's", len(stored))
	}
}
