package weibo

import (
	"os"
	"path/filepath"
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
	kind     string
	check    func(t *testing.T, m *envelope.Message)
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

func mediaID(kind envelope.Kind, id string) func(*testing.T, *envelope.Message) {
	return func(t *testing.T, m *envelope.Message) {
		t.Helper()
		if m.Kind != kind || len(m.Media) != 1 || m.Media[0].PlatformID != id {
			t.Errorf("got %s %+v, want %s %s", m.Kind, m.Media, kind, id)
		}
	}
}

var pushCases = []pushCase{
	{"text", webhook.HandleMessage, "text", kindText(envelope.KindText, "私信或留言内容")},
	{"text_ids_as_strings", webhook.HandleMessage, "text", nil},
	{"text_recent", webhook.HandleMessage, "text", kindText(envelope.KindText, "我的订单还没到")}, // its golden keeps created_at
	{"text_clock_off", webhook.HandleMessage, "text", func(t *testing.T, m *envelope.Message) {
		if m.Meta["created_at"] != m.ReceivedAt.UTC().Format(time.RFC3339) || m.Meta["create_time"] != "Mon Jan 01 08:00:00 +0800 2035" {
			t.Errorf("created_at %q create_time %q, want the receive time and the original", m.Meta["created_at"], m.Meta["create_time"])
		}
	}},
	{"data_as_string", webhook.HandleUserEvent, "click", eventKey(envelope.EventMenu, "2")},
	{"position", webhook.HandleMessage, "position", func(t *testing.T, m *envelope.Message) {
		if m.Kind != envelope.KindLocation || m.Location == nil || m.Location.Label == "" || m.Text != "" {
			t.Errorf("got %s %+v text %q, want a labelled location", m.Kind, m.Location, m.Text)
		}
	}},
	{"position_data_as_string", webhook.HandleMessage, "position", nil},
	{"voice", webhook.HandleMessage, "voice", mediaID(envelope.KindVoice, "821804459")},
	{"image", webhook.HandleMessage, "image", mediaID(envelope.KindImage, "821804459")},
	{"image_no_vfid", webhook.HandleMessage, "image", kindText(envelope.KindRaw, "")},
	{"unknown_type", webhook.HandleMessage, "other", kindText(envelope.KindRaw, "分享了一篇文章")},
	{"event_follow", webhook.HandleUserEvent, "follow", eventKey(envelope.EventSubscribe, "")},
	{"event_subscribe", webhook.HandleUserEvent, "subscribe", eventKey(envelope.EventSubscribe, "")},
	{"event_scan_follow", webhook.HandleUserEvent, "scan_follow", eventKey(envelope.EventSubscribe, "qrscene_1002")},
	{"event_unfollow", webhook.HandleUserEvent, "unfollow", eventKey(envelope.EventUnsubscribe, "")},
	{"event_unsubscribe", webhook.HandleUserEvent, "unsubscribe", eventKey(envelope.EventUnsubscribe, "")},
	{"event_scan", webhook.HandleUserEvent, "scan", eventKey(envelope.EventScan, "qrscene_1001")},
	{"event_click", webhook.HandleUserEvent, "click", eventKey(envelope.EventMenu, "1")},
	{"event_view", webhook.HandleUserEvent, "view", eventKey(envelope.EventView, "http://weibo.com/help")},
	{"event_mention", webhook.HandleUserEvent, "mention", func(t *testing.T, m *envelope.Message) {
		eventKey(envelope.EventMention, "")(t, m)
		if m.Text != "@客服 我的账号被盗了" {
			t.Errorf("text %q, want what the user wrote", m.Text)
		}
	}},
	{"event_unknown_subtype", webhook.HandlePlatformEvent, "other", nil},
	{"event_msg_read", webhook.HandlePlatformEvent, "other", nil},
	{"event_no_subtype", webhook.HandlePlatformEvent, "other", nil},
}

// TestClassifyEveryTestdataPush pins classifyPush for each sample, and
// that every sample has a row.
func TestClassifyEveryTestdataPush(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range pushCases {
		seen[tc.file] = true
		raw, err := os.ReadFile("testdata/" + tc.file + ".json")
		if err != nil {
			t.Fatal(err)
		}
		m, d, err := toMessage(raw, testAccount, goldenID, goldenNow)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if d.handling != tc.handling || d.kind != tc.kind || (m != nil) != tc.handling.Stored() {
			t.Errorf("%s: got %s %q with message %v, want %s %q", tc.file, d.handling, d.kind, m != nil, tc.handling, tc.kind)
		}
	}
	for _, f := range pushFiles(t) {
		if name := strings.TrimSuffix(filepath.Base(f), ".json"); !seen[name] {
			t.Errorf("%s has no row in pushCases", f)
		}
	}
}

// TestWebhookEveryPushType posts every sample, signed, through the
// webhook with the router running, each from its own user: messages and
// user events are stored with their content; other events get an empty
// 200, are not stored, get no reply and are counted.
func TestWebhookEveryPushType(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{replyWindow: 500 * time.Millisecond})
	var quiet []string
	for _, tc := range pushCases {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/" + tc.file + ".json")
			if err != nil {
				t.Fatal(err)
			}
			user := newUser()
			body := strings.ReplaceAll(string(raw), "2489518277", user)
			before := platformEventCount(t, g, tc.kind)
			code, resp := g.post(t, g.signedQuery(), body)
			if code != 200 {
				t.Fatalf("got %d %q, want 200", code, resp)
			}
			var stored []envelope.Message
			for _, data := range bustest.Messages(t, g.b, bus.StreamIn, "hotline.in.weibo."+testAccount) {
				var m envelope.Message
				if err := envelope.Decode(data, &m); err != nil {
					t.Fatal(err)
				}
				if m.From.ID == user {
					stored = append(stored, m)
				}
			}
			if !tc.handling.Stored() {
				if len(stored) != 0 || resp != "" {
					t.Fatalf("stored %d, answered %q; want nothing and an empty 200", len(stored), resp)
				}
				if got := platformEventCount(t, g, tc.kind); got != before+1 {
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
	// Once the router has handled everything stored, HOTLINE_OUT holds
	// every reply it made, and the delivery loop sends only what is
	// there: no reply to a quiet user there, none can reach the API.
	bustest.RouterCaughtUp(t, g.b)
	for _, user := range quiet {
		if n := queuedFor(t, g.b, user); n != 0 {
			t.Errorf("%s: %d replies queued after a platform event, want none", user, n)
		}
		if sent := g.api.sentTo(user); len(sent) != 0 {
			t.Errorf("%s got %q after a platform event, want nothing", user, sent)
		}
	}
}

func platformEventCount(t *testing.T, g *gateway, event string) float64 {
	t.Helper()
	return g.metric(t, "hotline_platform_events_total", "platform", "weibo", "account", testAccount, "event", event)
}
