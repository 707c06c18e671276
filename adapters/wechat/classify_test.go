package wechat

import (
	"os"
	"strings"
	"testing"
	"time"

	"hotline/adapters/webhook"
	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
)

// pushCase is one testdata push and what hotline must do with it.
type pushCase struct {
	file     string
	handling webhook.Handling
	kind     string                                  // the metric label
	check    func(t *testing.T, m *envelope.Message) // the stored envelope
}

func kindText(kind envelope.Kind, text string) func(*testing.T, *envelope.Message) {
	return func(t *testing.T, m *envelope.Message) {
		t.Helper()
		if m.Kind != kind || m.Text != text {
			t.Errorf("got %s %q, want %s %q", m.Kind, m.Text, kind, text)
		}
	}
}

func eventKey(name, key string) func(*testing.T, *envelope.Message) {
	return func(t *testing.T, m *envelope.Message) {
		t.Helper()
		if m.Kind != envelope.KindEvent || m.Event == nil || m.Event.Name != name || m.Event.Key != key {
			t.Errorf("got %s %+v, want event %s key %q", m.Kind, m.Event, name, key)
		}
	}
}

var pushCases = []pushCase{
	{"text", webhook.HandleMessage, "text", kindText(envelope.KindText, "我的包裹在哪里")},
	{"text_recent", webhook.HandleMessage, "text", kindText(envelope.KindText, "人工")},
	{"text_createtime_ms", webhook.HandleMessage, "text", func(t *testing.T, m *envelope.Message) {
		// Milliseconds are not a date in the year 50098: the push is
		// dated when it arrived, WeChat's value is kept.
		if m.Meta["created_at"] != m.ReceivedAt.UTC().Format(time.RFC3339) || !strings.HasSuffix(m.Meta["create_time"], "000") {
			t.Errorf("created_at %q create_time %q, want the receive time %s and the original", m.Meta["created_at"], m.Meta["create_time"], m.ReceivedAt)
		}
	}},
	{"image", webhook.HandleMessage, "image", func(t *testing.T, m *envelope.Message) {
		if m.Kind != envelope.KindImage || len(m.Media) != 1 || m.Media[0].PlatformID != "Hk2wW4rZ8gIz-media-id-image" || m.Media[0].URL == "" {
			t.Errorf("got %s %+v, want the PicUrl and MediaId", m.Kind, m.Media)
		}
	}},
	{"voice", webhook.HandleMessage, "voice", kindText(envelope.KindVoice, "")},
	{"voice_recognition", webhook.HandleMessage, "voice", kindText(envelope.KindVoice, "帮助")},
	{"video", webhook.HandleMessage, "video", kindText(envelope.KindVideo, "")},
	{"shortvideo", webhook.HandleMessage, "shortvideo", kindText(envelope.KindVideo, "")},
	{"location", webhook.HandleMessage, "location", func(t *testing.T, m *envelope.Message) {
		if m.Kind != envelope.KindLocation || m.Location == nil || m.Location.Label != "广州市天河区" || m.Location.Lat != 23.134521 {
			t.Errorf("got %s %+v", m.Kind, m.Location)
		}
	}},
	{"link", webhook.HandleMessage, "link", func(t *testing.T, m *envelope.Message) {
		want := envelope.Link{URL: "https://example.com/refund", Title: "退款说明", Description: "如何申请退款"}
		if m.Kind != envelope.KindLink || m.Link == nil || *m.Link != want {
			t.Errorf("got %s %+v, want %+v", m.Kind, m.Link, want)
		}
	}},
	{"file", webhook.HandleMessage, "file", func(t *testing.T, m *envelope.Message) {
		if m.Kind != envelope.KindFile || len(m.Media) != 1 || m.Media[0].PlatformID != "f3a9c1d2e4b5" || m.Media[0].FileName != "发票-1042.pdf" || m.Media[0].Size != 49357 {
			t.Errorf("got %s %+v, want FileKey, Title and FileTotalLen", m.Kind, m.Media)
		}
	}},
	{"unknown_type", webhook.HandleMessage, "other", kindText(envelope.KindRaw, "")},
	{"event_subscribe", webhook.HandleUserEvent, "subscribe", eventKey(envelope.EventSubscribe, "")},
	{"event_subscribe_qrscene", webhook.HandleUserEvent, "subscribe", eventKey(envelope.EventSubscribe, "123123")},
	{"event_unsubscribe", webhook.HandleUserEvent, "unsubscribe", eventKey(envelope.EventUnsubscribe, "")},
	{"event_scan", webhook.HandleUserEvent, "SCAN", eventKey(envelope.EventScan, "123123")},
	{"event_location", webhook.HandleUserEvent, "LOCATION", eventKey(envelope.EventLocation, "")},
	{"event_click", webhook.HandleUserEvent, "CLICK", eventKey(envelope.EventMenu, "1")},
	{"event_view", webhook.HandleUserEvent, "VIEW", eventKey(envelope.EventView, "https://example.com/help")},
	{"event_view_miniprogram", webhook.HandleUserEvent, "view_miniprogram", eventKey(envelope.EventView, "pages/order/index")},
	{"event_scancode_push", webhook.HandleUserEvent, "scancode_push", eventKey(envelope.EventMenu, "rselfmenu_0_1")},
	{"event_scancode_waitmsg", webhook.HandleUserEvent, "scancode_waitmsg", eventKey(envelope.EventMenu, "rselfmenu_0_0")},
	{"event_pic_sysphoto", webhook.HandleUserEvent, "pic_sysphoto", eventKey(envelope.EventMenu, "rselfmenu_1_0")},
	{"event_pic_photo_or_album", webhook.HandleUserEvent, "pic_photo_or_album", eventKey(envelope.EventMenu, "rselfmenu_1_1")},
	{"event_pic_weixin", webhook.HandleUserEvent, "pic_weixin", eventKey(envelope.EventMenu, "rselfmenu_1_2")},
	{"event_location_select", webhook.HandleUserEvent, "location_select", func(t *testing.T, m *envelope.Message) {
		eventKey(envelope.EventMenu, "rselfmenu_2_0")(t, m)
		if m.Location == nil || m.Location.Label != "丽影广场" || m.Location.Address != "广州市海珠区客村艺苑路 106号" {
			t.Errorf("location %+v, want the place's name and address", m.Location)
		}
	}},
	{"event_templatesendjobfinish", webhook.HandlePlatformEvent, "TEMPLATESENDJOBFINISH", nil},
	{"event_masssendjobfinish", webhook.HandlePlatformEvent, "MASSSENDJOBFINISH", nil},
	{"event_kf_create_session", webhook.HandlePlatformEvent, "kf_create_session", nil},
	{"event_kf_close_session", webhook.HandlePlatformEvent, "kf_close_session", nil},
	{"event_card_pass_check", webhook.HandlePlatformEvent, "card_pass_check", nil},
	{"event_qualification_verify_success", webhook.HandlePlatformEvent, "qualification_verify_success", nil},
	{"event_annual_renew", webhook.HandlePlatformEvent, "annual_renew", nil},
	{"event_user_authorization_revoke", webhook.HandlePlatformEvent, "user_authorization_revoke", nil},
	{"event_subscribe_msg_popup", webhook.HandlePlatformEvent, "subscribe_msg_popup_event", nil},
	{"event_unknown", webhook.HandlePlatformEvent, "other", nil},
}

// TestClassifyEveryTestdataPush pins classifyPush for each sample, and
// that every sample has a row.
func TestClassifyEveryTestdataPush(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range pushCases {
		seen[tc.file] = true
		raw, err := os.ReadFile("testdata/" + tc.file + ".xml")
		if err != nil {
			t.Fatal(err)
		}
		p, err := parsePush(raw)
		if err != nil {
			t.Fatal(err)
		}
		if d := classifyPush(p); d.handling != tc.handling || d.kind != tc.kind {
			t.Errorf("%s: got %s %q, want %s %q", tc.file, d.handling, d.kind, tc.handling, tc.kind)
		}
	}
	for _, f := range pushFiles(t) {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "testdata/"), ".xml")
		if !seen[name] {
			t.Errorf("%s has no row in pushCases", f)
		}
	}
}

// TestWebhookEveryPushType posts every sample, signed, through the
// webhook with the router running, each from its own user: messages and
// user events are stored with their content; platform events get
// "success", are not stored, get no reply and are counted. The
// template and mass-send reports also go in safe mode.
func TestWebhookEveryPushType(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{replyWindow: 500 * time.Millisecond})
	gPlain := newGateway(t, gatewayOpts{plain: true, replyWindow: 500 * time.Millisecond})
	both := []*gateway{g, gPlain}
	var quiet []string // users who must get no reply
	for _, tc := range pushCases {
		for _, safe := range []bool{false, true} {
			if safe && tc.file != "event_templatesendjobfinish" && tc.file != "event_masssendjobfinish" && tc.file != "text_createtime_ms" {
				continue
			}
			gw := gPlain
			name := tc.file + "/plain"
			if safe {
				gw, name = g, tc.file+"/safe"
			}
			t.Run(name, func(t *testing.T) {
				raw, err := os.ReadFile("testdata/" + tc.file + ".xml")
				if err != nil {
					t.Fatal(err)
				}
				user := newUser()
				body := strings.ReplaceAll(string(raw), "oyORnuP8q7ou2gfYjqLzSIWZf0rs", user)
				before := platformEventCount(t, both, tc.kind)
				code, resp := gw.at(t)(gw.request(t, safe, body))
				if code != 200 {
					t.Fatalf("got %d %q, want 200", code, resp)
				}
				stored := storedFrom(t, gw.b, user)
				if !tc.handling.Stored() {
					if len(stored) != 0 {
						t.Fatalf("stored %+v, want nothing", stored)
					}
					if resp != "success" {
						t.Fatalf("answered %q, want success", resp)
					}
					if got := platformEventCount(t, both, tc.kind); got != before+1 {
						t.Fatalf("hotline_platform_events_total{event=%q}: got %v, want %v", tc.kind, got, before+1)
					}
					quiet = append(quiet, user)
					return
				}
				if len(stored) != 1 {
					t.Fatalf("stored %d messages, want 1", len(stored))
				}
				if tc.check != nil {
					tc.check(t, &stored[0])
				}
			})
		}
	}
	// Once the router has handled everything stored, HOTLINE_OUT holds
	// every reply it made, and the delivery loop sends only what is
	// there: no reply to a quiet user there, none can reach the API.
	for _, gw := range both {
		bustest.RouterCaughtUp(t, gw.b)
	}
	for _, gw := range both {
		for _, data := range bustest.Messages(t, gw.b, bus.StreamOut, "hotline.out.wechat."+testAccount) {
			var r envelope.Reply
			if envelope.Decode(data, &r) == nil {
				for _, user := range quiet {
					if r.To.ID == user {
						t.Errorf("a reply to %s after a platform event: %q", user, r.Text)
					}
				}
			}
		}
	}
	for _, user := range quiet {
		if sent := append(g.api.sentTo(user), gPlain.api.sentTo(user)...); len(sent) != 0 {
			t.Errorf("%s got %q after a platform event, want nothing", user, sent)
		}
	}
}

func storedFrom(t *testing.T, b *bus.Bus, user string) []envelope.Message {
	t.Helper()
	var out []envelope.Message
	for _, data := range bustest.Messages(t, b, bus.StreamIn, "hotline.in.wechat."+testAccount) {
		var m envelope.Message
		if err := envelope.Decode(data, &m); err != nil {
			t.Fatal(err)
		}
		if m.From.ID == user {
			out = append(out, m)
		}
	}
	return out
}

// platformEventCount sums the count of event over the gateways.
func platformEventCount(t *testing.T, gws []*gateway, event string) float64 {
	t.Helper()
	n := 0.0
	for _, g := range gws {
		n += g.metric(t, "hotline_platform_events_total", "platform", "wechat", "account", testAccount, "event", event)
	}
	return n
}
