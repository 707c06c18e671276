package wechat

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hotline/envelope"
	"hotline/envelope/envelopetest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

const goldenID = "01KAXQ5W2M3T7K9R2W6Y0B1CD0"

var goldenNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// pushFiles lists the real-shaped pushes in testdata.
func pushFiles(t testing.TB) []string {
	all, err := filepath.Glob("testdata/*.xml")
	if err != nil || len(all) == 0 {
		t.Fatalf("no testdata pushes (%v)", err)
	}
	return all
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
			m, err := ToMessage(raw, "oa-main", goldenID, goldenNow)
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
	const user = "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
	tests := []struct {
		file     string
		kind     envelope.Kind
		text     string
		event    string
		key      string
		dedup    string
		metaKey  string
		metaWant string
	}{
		{"text", envelope.KindText, "我的包裹在哪里", "", "", "6054768590064713728", "", ""},
		{"image", envelope.KindImage, "", "", "", "6054768590064713729", "", ""},
		{"voice", envelope.KindVoice, "", "", "", "6054768590064713730", "format", "amr"},
		{"voice_recognition", envelope.KindVoice, "帮助", "", "", "6054768590064713731", "format", "speex"},
		{"video", envelope.KindVideo, "", "", "", "6054768590064713732", "thumb_media_id", "Hk2wW4rZ8gIz-thumb-id"},
		{"shortvideo", envelope.KindVideo, "", "", "", "6054768590064713733", "msg_type", "shortvideo"},
		{"location", envelope.KindLocation, "", "", "", "6054768590064713734", "scale", "20"},
		{"link", envelope.KindLink, "", "", "", "6054768590064713735", "description", "如何申请退款"},
		{"event_subscribe", envelope.KindEvent, "", envelope.EventSubscribe, "", user + "-1409735680-subscribe", "", ""},
		{"event_subscribe_qrscene", envelope.KindEvent, "", envelope.EventSubscribe, "123123", user + "-1409735681-subscribe", "scene", "123123"},
		{"event_unsubscribe", envelope.KindEvent, "", envelope.EventUnsubscribe, "", user + "-1409735682-unsubscribe", "", ""},
		{"event_scan", envelope.KindEvent, "", envelope.EventScan, "123123", user + "-1409735683-SCAN", "scene", "123123"},
		{"event_click", envelope.KindEvent, "", envelope.EventMenu, "1", user + "-1409735684-CLICK", "", ""},
		{"event_view", envelope.KindEvent, "", envelope.EventView, "https://example.com/help", user + "-1409735685-VIEW", "menu_id", "208379533"},
		{"event_location", envelope.KindEvent, "", envelope.EventLocation, "", user + "-1409735686-LOCATION", "precision", "119.385040"},
		{"event_scancode_push", envelope.KindEvent, "", envelope.EventMenu, "rselfmenu_0_1", user + "-1409735687-scancode_push", "event", "scancode_push"},
		{"event_scancode_waitmsg", envelope.KindEvent, "", envelope.EventMenu, "rselfmenu_0_0", user + "-1409735693-scancode_waitmsg", "scan_result", "SF1234567890"},
		{"event_pic_sysphoto", envelope.KindEvent, "", envelope.EventMenu, "rselfmenu_1_0", user + "-1409735694-pic_sysphoto", "pic_count", "1"},
		{"event_location_select", envelope.KindEvent, "", envelope.EventMenu, "rselfmenu_2_0", user + "-1409735697-location_select", "event", "location_select"},
		{"event_view_miniprogram", envelope.KindEvent, "", envelope.EventView, "pages/order/index", user + "-1409735698-view_miniprogram", "menu_id", "208379534"},
		{"file", envelope.KindFile, "", "", "", "6054768590064713742", "file_md5", "5d41402abc4b2a76b9719d911017c592"},
		{"unknown_type", envelope.KindRaw, "", "", "", "6054768590064713736", "msg_type", "miniprogrampage"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/" + tc.file + ".xml")
			if err != nil {
				t.Fatal(err)
			}
			m, err := ToMessage(raw, "oa-main", goldenID, goldenNow)
			if err != nil {
				t.Fatalf("ToMessage: %v", err)
			}
			if m.Kind != tc.kind || m.Text != tc.text {
				t.Errorf("kind, text: got %s %q, want %s %q", m.Kind, m.Text, tc.kind, tc.text)
			}
			var ev, key string
			if m.Event != nil {
				ev, key = m.Event.Name, m.Event.Key
			}
			if ev != tc.event || key != tc.key {
				t.Errorf("event: got %q key %q, want %q key %q", ev, key, tc.event, tc.key)
			}
			if m.PlatformMsgID != tc.dedup {
				t.Errorf("platform_msg_id: got %s, want %s", m.PlatformMsgID, tc.dedup)
			}
			if tc.metaKey != "" && m.Meta[tc.metaKey] != tc.metaWant {
				t.Errorf("meta[%s]: got %q, want %q", tc.metaKey, m.Meta[tc.metaKey], tc.metaWant)
			}
			if m.Conversation != "wechat:oa-main:"+user || m.From.ID != user || m.To.ID != "gh_10f6c3c3ac5a" {
				t.Errorf("parties: got %s from %s to %s", m.Conversation, m.From.ID, m.To.ID)
			}
		})
	}
}

func TestToMessageRejects(t *testing.T) {
	tests := []struct{ name, body string }{
		{"not xml", `{"MsgType":"text"}`},
		{"truncated", `<xml><FromUserName>u</FromUserName><MsgType>text`},
		{"no sender", `<xml><CreateTime>1</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId></xml>`},
		{"no type", `<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime></xml>`},
		{"bad time", `<xml><FromUserName>u</FromUserName><CreateTime>yesterday</CreateTime><MsgType>text</MsgType></xml>`},
		{"bad msg id", `<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><MsgId>-1</MsgId></xml>`},
		{"bad location", `<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>location</MsgType><Location_X>91</Location_X><Location_Y>1</Location_Y><MsgId>1</MsgId></xml>`},
		{"newline in sender", "<xml><FromUserName>u\nv</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId></xml>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if m, err := ToMessage([]byte(tc.body), "oa-main", goldenID, goldenNow); err == nil {
				t.Fatalf("got %+v, want an error", m)
			}
		})
	}
}
