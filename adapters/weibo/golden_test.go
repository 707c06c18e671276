package weibo

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline/envelope"
	"hotline/envelope/envelopetest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

const goldenID = "01KAXQ5W2M3T7K9R2W6Y0B1CD0"

var goldenNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// pushFiles lists the real-shaped pushes in testdata, without their
// golden envelopes.
func pushFiles(t testing.TB) []string {
	all, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range all {
		if !strings.HasSuffix(f, ".golden.json") {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatal("no testdata pushes")
	}
	return out
}

// TestPushGolden turns every push in testdata into an envelope and
// compares it with a reviewed golden file.
func TestPushGolden(t *testing.T) {
	for _, f := range pushFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m, err := ToMessage(raw, "weibo-main", goldenID, goldenNow)
			if err != nil {
				t.Fatalf("ToMessage: %v", err)
			}
			envelopetest.Golden(t, f, m, *update)
		})
	}
}

// TestPushMapping pins the decisions the golden files encode, so a
// careless -update cannot change them unnoticed.
func TestPushMapping(t *testing.T) {
	tests := []struct {
		file     string
		kind     envelope.Kind
		event    string
		key      string
		dedup    string
		metaKey  string
		metaWant string
	}{
		{"text", envelope.KindText, "", "", "2489518277-1342433360-text-", "", ""},
		{"text_ids_as_strings", envelope.KindText, "", "", "2489518277-1342433361-text-", "", ""},
		{"position", envelope.KindLocation, "", "", "2489518277-1342433362-position-", "", ""},
		{"voice", envelope.KindVoice, "", "", "2489518277-1342433363-voice-", "tovfid", "821804469"},
		{"image", envelope.KindImage, "", "", "2489518277-1342433364-image-", "tovfid", "821804469"},
		{"event_follow", envelope.KindEvent, envelope.EventSubscribe, "", "2489518277-1342433365-event-", "subtype", "follow"},
		{"event_unfollow", envelope.KindEvent, envelope.EventUnsubscribe, "", "2489518277-1342433366-event-", "", ""},
		{"event_subscribe", envelope.KindEvent, envelope.EventSubscribe, "", "2489518277-1342433367-event-", "", ""},
		{"event_unsubscribe", envelope.KindEvent, envelope.EventUnsubscribe, "", "2489518277-1342433368-event-", "", ""},
		{"event_scan", envelope.KindEvent, envelope.EventScan, "qrscene_1001", "2489518277-1342433369-event-", "ticket", "gQHx7zoAAAAAAAAAASxodHRwOi8v"},
		{"event_scan_follow", envelope.KindEvent, envelope.EventSubscribe, "qrscene_1002", "2489518277-1342433370-event-", "scene", "qrscene_1002"},
		{"event_click", envelope.KindEvent, envelope.EventMenu, "1", "2489518277-1342433371-event-", "", ""},
		{"event_view", envelope.KindEvent, envelope.EventView, "http://weibo.com/help", "2489518277-1342433372-event-", "", ""},
		{"event_mention", envelope.KindEvent, envelope.EventMention, "", "2489518277-1342433373-event-", "", ""},
		{"data_as_string", envelope.KindEvent, envelope.EventMenu, "2", "2489518277-1342433375-event-", "", ""},
		{"position_data_as_string", envelope.KindLocation, "", "", "2489518277-1342433376-position-", "", ""},
		{"unknown_type", envelope.KindRaw, "", "", "2489518277-1342433377-articles-", "type", "articles"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/" + tc.file + ".json")
			if err != nil {
				t.Fatal(err)
			}
			m, err := ToMessage(raw, "weibo-main", goldenID, goldenNow)
			if err != nil {
				t.Fatalf("ToMessage: %v", err)
			}
			if m.Kind != tc.kind {
				t.Errorf("kind: got %s, want %s", m.Kind, tc.kind)
			}
			var ev, key string
			if m.Event != nil {
				ev, key = m.Event.Name, m.Event.Key
			}
			if ev != tc.event || key != tc.key {
				t.Errorf("event: got %q key %q, want %q key %q", ev, key, tc.event, tc.key)
			}
			// sender-created_at-type- and a hash of the content.
			if !strings.HasPrefix(m.PlatformMsgID, tc.dedup) || len(m.PlatformMsgID) != len(tc.dedup)+12 {
				t.Errorf("platform_msg_id: got %s, want %s and a 12-digit content hash", m.PlatformMsgID, tc.dedup)
			}
			if tc.metaKey != "" && m.Meta[tc.metaKey] != tc.metaWant {
				t.Errorf("meta[%s]: got %q, want %q", tc.metaKey, m.Meta[tc.metaKey], tc.metaWant)
			}
			if m.Conversation != "weibo:weibo-main:2489518277" || m.From.ID != "2489518277" || m.To.ID != "1902538057" {
				t.Errorf("parties: got %s from %s to %s, want weibo:weibo-main:2489518277 from 2489518277 to 1902538057", m.Conversation, m.From.ID, m.To.ID)
			}
		})
	}
}

func TestToMessageRejects(t *testing.T) {
	tests := []struct{ name, body string }{
		{"not json", `<xml/>`},
		{"no sender", `{"type":"text","receiver_id":1,"created_at":"Mon Jul 16 18:09:20 +0800 2012"}`},
		{"no receiver", `{"type":"text","sender_id":1,"created_at":"Mon Jul 16 18:09:20 +0800 2012"}`},
		{"float id", `{"type":"text","sender_id":1.5,"receiver_id":1,"created_at":"Mon Jul 16 18:09:20 +0800 2012"}`},
		{"negative id", `{"type":"text","sender_id":"-4","receiver_id":1,"created_at":"Mon Jul 16 18:09:20 +0800 2012"}`},
		{"overflowing id", `{"type":"text","sender_id":99999999999999999999,"receiver_id":1,"created_at":"Mon Jul 16 18:09:20 +0800 2012"}`},
		{"no type", `{"sender_id":1,"receiver_id":2,"created_at":"Mon Jul 16 18:09:20 +0800 2012"}`},
		{"bad date", `{"type":"text","sender_id":1,"receiver_id":2,"created_at":"2012-07-16T18:09:20+08:00"}`},
		{"bad position", `{"type":"position","sender_id":1,"receiver_id":2,"created_at":"Mon Jul 16 18:09:20 +0800 2012","data":{"latitude":"NaN","longitude":"1"}}`},
		{"position out of range", `{"type":"position","sender_id":1,"receiver_id":2,"created_at":"Mon Jul 16 18:09:20 +0800 2012","data":{"latitude":"91","longitude":"1"}}`},
		{"event data not json", `{"type":"event","sender_id":1,"receiver_id":2,"created_at":"Mon Jul 16 18:09:20 +0800 2012","data":"subtype=follow"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if m, err := ToMessage([]byte(tc.body), "weibo-main", goldenID, goldenNow); err == nil {
				t.Fatalf("got %+v, want an error", m)
			}
		})
	}
}

func FuzzDecodePush(f *testing.F) {
	for _, p := range pushFiles(f) {
		if raw, err := os.ReadFile(p); err == nil {
			f.Add(raw)
		}
	}
	f.Add([]byte(`{"type":"event","sender_id":"1","receiver_id":"2","created_at":"Mon Jul 16 18:09:20 +0800 2012","data":"\"{}\""}`))
	f.Add([]byte(`{"type":"voice","sender_id":1,"receiver_id":2,"created_at":"Mon Jul 16 18:09:20 +0800 2012","data":{"vfid":1e400}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, d, err := toMessage(body, "weibo-main", goldenID, goldenNow)
		if err != nil {
			return
		}
		if (m != nil) != d.handling.Stored() {
			t.Fatalf("%s %q with message %v", d.handling, d.kind, m != nil)
		}
		if m == nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("ToMessage returned an invalid envelope: %v", err)
		}
		if _, err := envelope.Encode(m); err != nil {
			t.Fatalf("accepted envelope does not encode: %v", err)
		}
	})
}

// Weibo has no message id and second-resolution times: two different
// messages in one second must not be merged, a retried push must be.
func TestDedupIDSeparatesSameSecondMessages(t *testing.T) {
	push := func(typ, text, data string) string {
		return `{"type":"` + typ + `","receiver_id":1902538057,"sender_id":2489518277,"created_at":"Mon Jul 16 18:09:20 +0800 2012","text":"` + text + `","data":` + data + `}`
	}
	id := func(body string) string {
		m, err := ToMessage([]byte(body), "weibo-main", goldenID, goldenNow)
		if err != nil {
			t.Fatal(err)
		}
		return m.PlatformMsgID
	}
	a, b := id(push("text", "hi", "{}")), id(push("text", "hi again", "{}"))
	img := id(push("image", "", `{"vfid":"821804469"}`))
	if a == b || a == img {
		t.Fatalf("different messages in one second share an id: %s %s %s", a, b, img)
	}
	if again := id(push("text", "hi", "{}")); again != a {
		t.Fatalf("a retried push got a new id: %s, want %s", again, a)
	}
}
