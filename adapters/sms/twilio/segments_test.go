package twilio

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotline/adapters/sms/gsm"
	"hotline/bus/bustest"
	"hotline/envelope"
)

// newCountingAdapter is the adapter alone against the fake Messages API,
// with its metrics on reg.
func newCountingAdapter(t *testing.T, reg prometheus.Registerer, account string) (*Adapter, *fakeTwilio) {
	t.Helper()
	api := newFakeTwilio(t)
	a, err := New(Config{Provider: Provider, Account: account, AccountSID: testSID, AuthToken: testToken, From: "+14155550100",
		APIBase: api.srv.URL, PublicURL: "https://hotline.example.com"}, Deps{Bus: bustest.Open(t), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	return a, api
}

// exportedSegments reads hotline_sms_segments_total{account} from reg.
func exportedSegments(t *testing.T, reg prometheus.Gatherer, account string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "hotline_sms_segments_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "account" && l.GetValue() == account {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func smsReply(to, text string, media ...envelope.Media) envelope.Reply {
	now := time.Now().UTC()
	return envelope.Reply{ID: envelope.NewID(now), Platform: "sms", Account: "sms-main", Conversation: "sms:sms-main:" + to,
		To: envelope.Party{ID: to, Phone: strings.TrimPrefix(to, "whatsapp:")}, Text: text, Media: media,
		Source: envelope.SourceBot, CreatedAt: now}
}

// Every accepted SMS is counted with gsm's segments; the receipt carries
// Twilio's num_segments when it answers one, else the same count.
func TestSegmentsCountedAndReported(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	a, api := newCountingAdapter(t, reg, "sms-main")
	ctx := context.Background()
	const to = "+14155552671"
	chinese := strings.Repeat("您好", 50)  // UCS-2, 100 units: 2 segments
	long := strings.Repeat("a", 2000)    // 2 messages: 1,600 (11 segments) and 400 (3)
	words := strings.Repeat("word ", 40) // GSM-7, 200 septets: 2 segments
	tests := []struct {
		name        string
		answer      string // the Messages API's body; "" is the fake's, num_segments "2"
		text        string
		wantReceipt int
		wantCounted float64
	}{
		{"twilio's count wins", "", "hello", 2, 1},
		{"no num_segments", `{"sid":"SM1","status":"queued"}`, words, 2, 2},
		{"null num_segments", `{"sid":"SM2","status":"queued","num_segments":null}`, chinese, 2, 2},
		{"numeric num_segments", `{"sid":"SM3","status":"queued","num_segments":3}`, "hi", 3, 1},
		{"a long reply adds up its messages", `{"sid":"SM4","status":"queued"}`, long, 14, 14},
	}
	var counted float64
	for _, tc := range tests {
		if tc.answer == "" {
			api.fail(0, "", nil)
		} else {
			api.fail(http.StatusCreated, tc.answer, nil)
		}
		rc, err := a.Send(ctx, smsReply(to, tc.text))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if rc.Segments != tc.wantReceipt {
			t.Errorf("%s: receipt segments %d, want %d", tc.name, rc.Segments, tc.wantReceipt)
		}
		counted += tc.wantCounted
		if got := exportedSegments(t, reg, "sms-main"); got != counted {
			t.Errorf("%s: hotline_sms_segments_total %v, want %v", tc.name, got, counted)
		}
	}
	var want float64
	for _, p := range splitText(long, maxTwiMLText) {
		want += float64(gsm.Analyze(p).Segments)
	}
	if want != 14 {
		t.Fatalf("gsm counts %v segments for the long reply, want 14 as above", want)
	}
}

// WhatsApp messages and MMS are no SMS segments: not counted, and the
// receipt says only what the provider says.
func TestSegmentsNotCountedForWhatsAppOrMMS(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	a, api := newCountingAdapter(t, reg, "sms-main")
	ctx := context.Background()
	api.fail(http.StatusCreated, `{"sid":"SM1","status":"queued"}`, nil)
	img := envelope.Media{Kind: envelope.KindImage, URL: "https://cdn.example.com/a.png", MIME: "image/png"}
	for _, r := range []envelope.Reply{
		smsReply("whatsapp:+14155552671", "hello on WhatsApp"),
		smsReply("+14155552671", "a picture", img),
	} {
		rc, err := a.Send(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if rc.Segments != 0 {
			t.Errorf("to %s: receipt segments %d, want 0", r.To.ID, rc.Segments)
		}
	}
	if got := exportedSegments(t, reg, "sms-main"); got != 0 {
		t.Errorf("hotline_sms_segments_total: %v, want 0", got)
	}
	// A long MMS: the text parts before the last go as SMS, the media
	// ride on the last part.
	rc, err := a.Send(ctx, smsReply("+14155552671", strings.Repeat("b", 1700), img))
	if err != nil {
		t.Fatal(err)
	}
	if want := gsm.Analyze(strings.Repeat("b", 1600)).Segments; rc.Segments != want {
		t.Errorf("long MMS: receipt segments %d, want the SMS part's %d", rc.Segments, want)
	}
	if got := exportedSegments(t, reg, "sms-main"); got != 11 {
		t.Errorf("hotline_sms_segments_total: %v, want 11", got)
	}
}

// Two accounts on one registry share the metric, each with its label; a
// nil registry keeps it private.
func TestSegmentsMetricPerAccount(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	main, _ := newCountingAdapter(t, reg, "sms-main")
	other, _ := newCountingAdapter(t, reg, "sms-other")
	private, _ := newCountingAdapter(t, nil, "sms-main")
	ctx := context.Background()
	for _, a := range []*Adapter{main, other, other, private} {
		if _, err := a.Send(ctx, smsReply("+14155552671", "hello")); err != nil {
			t.Fatal(err)
		}
	}
	if got := exportedSegments(t, reg, "sms-main"); got != 1 {
		t.Errorf("sms-main: %v, want 1", got)
	}
	if got := exportedSegments(t, reg, "sms-other"); got != 2 {
		t.Errorf("sms-other: %v, want 2", got)
	}
}
