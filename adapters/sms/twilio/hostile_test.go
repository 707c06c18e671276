package twilio

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"hotline/bus"
	"hotline/bus/bustest"
)

// Signed requests that no provider sends are refused with the right
// status and stored nowhere: a sender that is no address at all (400), a
// body over 64 KiB (413, not 400).
func TestHostileSignedWebhooksRefused(t *testing.T) {
	t.Parallel()
	g := newAdapter(t)
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

// A signed webhook replayed after the stream's duplicate window is
// answered 200 and ignored: a STOP captured once cannot be sent again to
// undo the START that came after it.
func TestReplayAfterDuplicateWindowIgnored(t *testing.T) {
	t.Parallel()
	g := newAdapter(t)
	ctx := context.Background()
	st, err := g.b.JetStream().Stream(ctx, bus.StreamIn)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	cfg.Duplicates = 200 * time.Millisecond
	if _, err := g.b.JetStream().UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	stop := text("+14155552674", "STOP")
	if code, body := g.post(t, "/webhooks/sms/sms-main", stop, ""); code != 200 {
		t.Fatalf("STOP: %d %s", code, body)
	}
	if code, body := g.post(t, "/webhooks/sms/sms-main", text("+14155552674", "START"), ""); code != 200 {
		t.Fatalf("START: %d %s", code, body)
	}
	// A real wait, not a barrier: the stream's duplicate window (200ms
	// here) is measured in time, and only a replay after it shows that
	// the seen record, not the window, refuses it.
	time.Sleep(400 * time.Millisecond)
	// A duplicate is answered as the original was (a genuine retry must
	// hear it again; the answer goes to whoever posted, not to the user).
	if code, body := g.post(t, "/webhooks/sms/sms-main", stop, ""); code != 200 {
		t.Fatalf("replayed STOP: %d %q, want 200", code, body)
	}
	if n := len(bustest.Messages(t, g.b, bus.StreamIn, "hotline.in.sms.sms-main")); n != 2 {
		t.Fatalf("HOTLINE_IN holds %d, want the STOP and the START only", n)
	}
	opted, err := g.b.OptedOut(ctx, "sms:sms-main:+14155552674")
	if err != nil || opted {
		t.Fatalf("after START and a replayed STOP: opted out %v (%v), want in", opted, err)
	}
}
