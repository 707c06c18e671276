package twilio

import (
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

func FuzzToMessage(f *testing.F) {
	forms, _ := filepath.Glob("testdata/*.form")
	for _, p := range forms {
		if raw, err := os.ReadFile(p); err == nil {
			f.Add(string(raw))
		}
	}
	f.Add("MessageSid=SM1&From=%2B1&Body=%FF%FE&NumMedia=99")
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
	})
}
