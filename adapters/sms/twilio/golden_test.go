package twilio

import (
	"errors"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline/envelope/envelopetest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// TestInboundGolden turns real-shaped Twilio form posts into envelopes
// and compares them with reviewed golden files.
func TestInboundGolden(t *testing.T) {
	t.Parallel()
	forms, err := filepath.Glob("testdata/*.form")
	if err != nil || len(forms) == 0 {
		t.Fatalf("no testdata forms: %v", err)
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, f := range forms {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			form, err := url.ParseQuery(strings.TrimSpace(string(raw)))
			if err != nil {
				t.Fatal(err)
			}
			m, err := ToMessage(form, "sms-main", "US", "01KAXQ5W2M3T7K9R2W6Y0B1CD0", now)
			if err != nil {
				t.Fatalf("ToMessage: %v", err)
			}
			envelopetest.Golden(t, f, m, *update)
		})
	}
}

func TestToMessageRejects(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for name, form := range map[string]url.Values{
		"no sid":  {"From": {"+14155552671"}, "Body": {"hi"}},
		"no from": {"MessageSid": {"SM1"}, "Body": {"hi"}},
	} {
		if _, err := ToMessage(form, "sms-main", "US", "01KAXQ5W2M3T7K9R2W6Y0B1CD0", now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestToMessageBase64(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for name, tc := range map[string]struct {
		form url.Values
		text string
		ok   bool
	}{
		"plain body is never decoded": {url.Values{"Body": {"aGVsbG8="}}, "aGVsbG8=", true},
		"Encoding=base64":             {url.Values{"Body": {"aGVsbG8="}, "Encoding": {"base64"}}, "hello", true},
		"encoding in any case":        {url.Values{"Body": {"aGVsbG8="}, "Encoding": {"Base64"}}, "hello", true},
		"MessageType=base64":          {url.Values{"Body": {"aGVsbG8="}, "MessageType": {"base64"}}, "hello", true},
		"unpadded":                    {url.Values{"Body": {"aGVsbG8"}, "Encoding": {"base64"}}, "hello", true},
		"line-wrapped":                {url.Values{"Body": {"aGVs\r\nbG8="}, "Encoding": {"base64"}}, "hello", true},
		"not base64":                  {url.Values{"Body": {"hello!"}, "Encoding": {"base64"}}, "", false},
		"whatsapp text type is text":  {url.Values{"Body": {"aGVsbG8="}, "MessageType": {"text"}}, "aGVsbG8=", true},
	} {
		t.Run(name, func(t *testing.T) {
			tc.form.Set("MessageSid", "SM1")
			tc.form.Set("From", "+14155552671")
			m, err := ToMessage(tc.form, "sms-main", "US", "01KAXQ5W2M3T7K9R2W6Y0B1CD0", now)
			if !tc.ok {
				if !errors.Is(err, ErrBadBody) {
					t.Fatalf("got %v, want ErrBadBody", err)
				}
				return
			}
			if err != nil || m.Text != tc.text {
				t.Fatalf("got %+v %v, want text %q", m, err, tc.text)
			}
		})
	}
}

func TestParseAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw, region string
		want        address
	}{
		{"+14137070066", "", address{ID: "+14137070066", Phone: "+14137070066", Valid: true}},
		{"(415) 555-2671", "US", address{ID: "+14155552671", Phone: "+14155552671", Valid: true}},
		{"whatsapp:+14137070066", "", address{ID: "whatsapp:+14137070066", Phone: "+14137070066", WhatsApp: true, Valid: true}},
		{"WhatsApp:+14137070066", "CN", address{ID: "whatsapp:+14137070066", Phone: "+14137070066", WhatsApp: true, Valid: true}},
		// A national number on WhatsApp is not guessed into a region.
		{"whatsapp:4137070066", "US", address{ID: "whatsapp:4137070066", WhatsApp: true, Valid: true}},
		{"whatsapp:US.1234", "US", address{ID: "whatsapp:US.1234", WhatsApp: true, Valid: true}},
		// Short codes and sender ids have no phone behind them.
		{"22395", "US", address{ID: "22395", Valid: true}},
		{"ACME", "", address{ID: "ACME", Valid: true}},
		// Anything else is not an address a provider sends.
		{"<script>alert(1)</script>", "US", address{ID: "<script>alert(1)</script>"}},
		{"whatsapp:<b>x</b>", "", address{ID: "whatsapp:<b>x</b>", WhatsApp: true}},
		{"12", "US", address{ID: "12"}},
		{"A VERY LONG SENDER", "", address{ID: "A VERY LONG SENDER"}},
	}
	for _, tc := range tests {
		if got := parseAddress(tc.raw, tc.region); got != tc.want {
			t.Errorf("parseAddress(%q, %q) = %+v, want %+v", tc.raw, tc.region, got, tc.want)
		}
	}
}

func FuzzToMessage(f *testing.F) {
	forms, _ := filepath.Glob("testdata/*.form")
	more, _ := filepath.Glob("testdata/*/*.form")
	for _, p := range append(forms, more...) {
		if raw, err := os.ReadFile(p); err == nil {
			f.Add(string(raw))
		}
	}
	f.Add("MessageSid=SM1&From=%2B1&Body=%FF%FE&NumMedia=99")
	f.Add("MessageSid=SM1&From=whatsapp%3A&Latitude=NaN&Longitude=1e400")
	f.Add("MessageSid=SM1&From=WHATSAPP%3A%2B1&Body=%3D%3D&Encoding=base64&ButtonPayload=STOP")
	f.Add("MessageSid=SM1&From=whatsapp%3AUS.1&Latitude=-90&Longitude=180&OptOutType=start")
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		m, err := ToMessage(form, "sms-main", "US", "01KAXQ5W2M3T7K9R2W6Y0B1CD0", now)
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("ToMessage returned an invalid envelope: %v", err)
		}
		// A WhatsApp sender never loses its channel, and its
		// conversation is never an SMS one.
		if _, wa := cutPrefixFold(form.Get("From"), whatsappPrefix); wa != strings.HasPrefix(m.From.ID, whatsappPrefix) ||
			m.Conversation != "sms:sms-main:"+m.From.ID {
			t.Fatalf("From %q became %q in %q", form.Get("From"), m.From.ID, m.Conversation)
		}
	})
}
