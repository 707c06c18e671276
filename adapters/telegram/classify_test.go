package telegram

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"hotline/adapters/webhook"
	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
)

// updateCase is one testdata update and what hotline must do with it.
type updateCase struct {
	file     string
	handling webhook.Handling
	kind     string
	check    func(t *testing.T, m *envelope.Message) // the stored envelope, when stored
}

func meta(key, want string) func(*testing.T, *envelope.Message) {
	return func(t *testing.T, m *envelope.Message) {
		t.Helper()
		if m.Meta[key] != want {
			t.Errorf("meta[%s]: got %q, want %q", key, m.Meta[key], want)
		}
	}
}

func mediaIs(kind envelope.Kind, fileID string, size int64, name, mime string) func(*testing.T, *envelope.Message) {
	return func(t *testing.T, m *envelope.Message) {
		t.Helper()
		if m.Kind != kind || len(m.Media) != 1 {
			t.Fatalf("got kind %s with %d media, want %s with one", m.Kind, len(m.Media), kind)
		}
		md := m.Media[0]
		if md.Kind != kind || md.PlatformID != fileID || md.Size != size || md.FileName != name || md.MIME != mime {
			t.Errorf("media: got %+v, want %s %s %d bytes %q %q", md, kind, fileID, size, name, mime)
		}
	}
}

func both(fs ...func(*testing.T, *envelope.Message)) func(*testing.T, *envelope.Message) {
	return func(t *testing.T, m *envelope.Message) {
		t.Helper()
		for _, f := range fs {
			f(t, m)
		}
	}
}

func textIs(kind envelope.Kind, text string) func(*testing.T, *envelope.Message) {
	return func(t *testing.T, m *envelope.Message) {
		t.Helper()
		if m.Kind != kind || m.Text != text {
			t.Errorf("got %s %q, want %s %q", m.Kind, m.Text, kind, text)
		}
	}
}

func eventIs(name string) func(*testing.T, *envelope.Message) {
	return func(t *testing.T, m *envelope.Message) {
		t.Helper()
		if m.Kind != envelope.KindEvent || m.Event == nil || m.Event.Name != name {
			t.Errorf("got %s %+v, want event %s", m.Kind, m.Event, name)
		}
	}
}

func contactIs(name, phone, fromPhone string) func(*testing.T, *envelope.Message) {
	return func(t *testing.T, m *envelope.Message) {
		t.Helper()
		if m.Kind != envelope.KindContact || m.Contact == nil || m.Contact.Name != name || m.Contact.Phone != phone || m.From.Phone != fromPhone || m.Text != "" {
			t.Errorf("got %s %+v from phone %q text %q, want contact %s %s, from phone %q", m.Kind, m.Contact, m.From.Phone, m.Text, name, phone, fromPhone)
		}
	}
}

// updateCases covers every update kind the Bot API documents and what a
// message can carry.
var updateCases = []updateCase{
	{"text_private", webhook.HandleMessage, "message/text", textIs(envelope.KindText, "where is my parcel?")},
	{"edited_message", webhook.HandleMessage, "edited_message/text", both(textIs(envelope.KindText, "where is my parcel??"), meta("edited", "true"))},
	{"photo_caption", webhook.HandleMessage, "message/photo", both(mediaIs(envelope.KindImage, "AgACAgIAAxkBAAIBlarge", 96140, "", ""),
		textIs(envelope.KindImage, "the box arrived damaged 📦"))},
	{"voice", webhook.HandleMessage, "message/voice", mediaIs(envelope.KindVoice, "AwACAgIAAxkBAAIBvoice", 12870, "", "audio/ogg")},
	{"audio", webhook.HandleMessage, "message/audio", mediaIs(envelope.KindVoice, "CQACAgIAAxkBAAIBaudio", 1843210, "call-recording.m4a", "audio/mp4")},
	{"video", webhook.HandleMessage, "message/video", both(mediaIs(envelope.KindVideo, "BAACAgIAAxkBAAIBvideo", 2487611, "unboxing.mp4", "video/mp4"),
		textIs(envelope.KindVideo, "it does not turn on"))},
	{"video_note", webhook.HandleMessage, "message/video_note", mediaIs(envelope.KindVideo, "DQACAgIAAxkBAAIBnote", 412032, "", "")},
	{"animation", webhook.HandleMessage, "message/animation", both(mediaIs(envelope.KindVideo, "CgACAgQAAxkBAAIBanim", 181543, "mp4.mp4", "video/mp4"), meta("animation", "true"))},
	{"document", webhook.HandleMessage, "message/document", mediaIs(envelope.KindFile, "BQACAgIAAxkBAAIBdoc", 48211, "invoice-1042.pdf", "application/pdf")},
	{"sticker", webhook.HandleMessage, "message/sticker", both(mediaIs(envelope.KindImage, "CAACAgIAAxkBAAIBsticker", 28370, "", ""), meta("sticker", "👍"))},
	{"location", webhook.HandleMessage, "message/location", func(t *testing.T, m *envelope.Message) {
		if m.Kind != envelope.KindLocation || m.Location == nil || m.Location.Lat != 52.520008 || m.Location.Lon != 13.404954 {
			t.Errorf("got %s %+v", m.Kind, m.Location)
		}
	}},
	{"venue", webhook.HandleMessage, "message/venue", func(t *testing.T, m *envelope.Message) {
		if m.Kind != envelope.KindLocation || m.Location == nil || m.Location.Label != "Kigali Heights" || m.Location.Address != "KG 7 Ave, Kigali, Rwanda" || m.Location.Lat != -1.944072 {
			t.Errorf("got %s %+v, want the venue's title and address", m.Kind, m.Location)
		}
	}},
	{"contact_own", webhook.HandleMessage, "message/contact", contactIs("Alice Example", "+491701234567", "+491701234567")},
	{"contact_national", webhook.HandleMessage, "message/contact", contactIs("Jean Mugisha", "0788531373", "")},
	{"contact_other_intl", webhook.HandleMessage, "message/contact", contactIs("Jean", "+250788531373", "")},
	{"web_app_data", webhook.HandleMessage, "message/web_app_data", both(textIs(envelope.KindText, `{"order":"A-1042","issue":"late"}`), meta("web_app_button", "Report a problem"))},
	{"dice", webhook.HandleMessage, "message/dice", textIs(envelope.KindText, "[dice 🎲 4]")},
	{"poll_in_message", webhook.HandleMessage, "message/poll", textIs(envelope.KindText, "[poll] Which time suits you for the call?: Morning / Evening")},
	{"story", webhook.HandleMessage, "message/other", both(textIs(envelope.KindRaw, ""), meta("fields", "story"))},
	{"start", webhook.HandleMessage, "message/text", eventIs(envelope.EventSubscribe)},
	{"start_payload", webhook.HandleMessage, "message/text", func(t *testing.T, m *envelope.Message) {
		if m.Event == nil || m.Event.Name != envelope.EventSubscribe || m.Event.Key != "promo42" {
			t.Errorf("got %+v, want subscribe promo42", m.Event)
		}
	}},
	{"help_at_bot", webhook.HandleMessage, "message/text", textIs(envelope.KindText, "help")},
	{"group_addressed", webhook.HandleMessage, "message/text", textIs(envelope.KindText, "my order is late")},
	{"group_reply_to_bot", webhook.HandleMessage, "message/text", textIs(envelope.KindText, "yes please")},
	{"callback_query", webhook.HandleMessage, "callback_query", textIs(envelope.KindText, "1")},
	{"my_chat_member_kicked", webhook.HandleUserEvent, "my_chat_member", eventIs(envelope.EventUnsubscribe)},
	{"my_chat_member_unblocked", webhook.HandleUserEvent, "my_chat_member", eventIs(envelope.EventSubscribe)},

	{"group_not_addressed", webhook.HandleIgnore, "message/text", nil},
	{"new_chat_members", webhook.HandleIgnore, "message/service", nil},
	{"pinned_message", webhook.HandleIgnore, "message/service", nil},
	{"message_without_from", webhook.HandleIgnore, "message/text", nil},
	{"game", webhook.HandleIgnore, "message/game", nil},
	{"channel_post", webhook.HandleIgnore, "channel_post", nil},
	{"edited_channel_post", webhook.HandleIgnore, "edited_channel_post", nil},
	{"business_message", webhook.HandleIgnore, "business_message", nil},
	{"inline_query", webhook.HandleIgnore, "inline_query", nil},
	{"chosen_inline_result", webhook.HandleIgnore, "chosen_inline_result", nil},
	{"shipping_query", webhook.HandleIgnore, "shipping_query", nil},
	{"pre_checkout_query", webhook.HandleIgnore, "pre_checkout_query", nil},
	{"poll_answer", webhook.HandleIgnore, "poll_answer", nil},
	{"unknown_kind", webhook.HandleIgnore, "message_reaction", nil},
	{"chat_join_request", webhook.HandleIgnore, "chat_join_request", nil},
	{"update_without_payload", webhook.HandleIgnore, "empty", nil},
	{"poll", webhook.HandlePlatformEvent, "poll", nil},
	{"message_reaction_count", webhook.HandlePlatformEvent, "message_reaction_count", nil},
	{"chat_member", webhook.HandlePlatformEvent, "chat_member", nil},
	{"chat_boost", webhook.HandlePlatformEvent, "chat_boost", nil},
	{"removed_chat_boost", webhook.HandlePlatformEvent, "removed_chat_boost", nil},
	{"my_chat_member_group", webhook.HandlePlatformEvent, "my_chat_member", nil},
}

// TestClassifyEveryTestdataUpdate pins classify's decision for each
// sample, and that every sample in testdata has a row.
func TestClassifyEveryTestdataUpdate(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, tc := range updateCases {
		seen[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/" + tc.file + ".json")
			if err != nil {
				t.Fatal(err)
			}
			u, err := decodeUpdate(raw)
			if err != nil {
				t.Fatal(err)
			}
			d := classify(u, readExtra(raw), "hotline_bot")
			if d.handling != tc.handling || d.kind != tc.kind {
				t.Fatalf("got %s %q (%s), want %s %q", d.handling, d.kind, d.why, tc.handling, tc.kind)
			}
			m, _, err := toMessage(u, raw, "tg-main", "hotline_bot", goldenID, time.Now())
			if err != nil || (m != nil) != tc.handling.Stored() {
				t.Fatalf("toMessage: message %v, err %v", m != nil, err)
			}
			if m != nil && tc.check != nil {
				tc.check(t, m)
			}
			// The exported path, without the raw bytes, decides the same.
			em, handle, err := ToMessage(u, "tg-main", "hotline_bot", goldenID, time.Now())
			if err != nil || handle != tc.handling.Stored() || (em != nil) != handle {
				t.Fatalf("ToMessage: handle %v, message %v, err %v; want handle %v", handle, em != nil, err, tc.handling.Stored())
			}
		})
	}
	files, _ := os.ReadDir("testdata")
	for _, f := range files {
		name, ok := strings.CutSuffix(f.Name(), ".json")
		if ok && !strings.HasSuffix(name, ".golden") && !seen[name] {
			t.Errorf("testdata/%s has no row in updateCases", f.Name())
		}
	}
}

// TestWebhookEveryUpdateKind posts every sample through the webhook with
// the router running: a message or user event is stored with its
// content; anything else gets an empty 200, is not stored, gets no reply
// and is counted in hotline_platform_events_total.
func TestWebhookEveryUpdateKind(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gwOpts{})
	for _, tc := range updateCases {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/" + tc.file + ".json")
			if err != nil {
				t.Fatal(err)
			}
			var head struct {
				ID int `json:"update_id"`
			}
			if err := json.Unmarshal(raw, &head); err != nil {
				t.Fatal(err)
			}
			before := platformEvents(t, g, tc.kind)
			code, _, body := g.post(t, testSecret, string(raw))
			if code != 200 {
				t.Fatalf("got %d %q, want 200", code, body)
			}
			var stored *envelope.Message
			for _, m := range inbound(t, g.b) {
				if m.PlatformMsgID == strconv.Itoa(head.ID) {
					stored = &m
				}
			}
			if !tc.handling.Stored() {
				if stored != nil {
					t.Fatalf("stored %+v, want nothing", stored)
				}
				if body != "" {
					t.Fatalf("answered %q, want an empty 200", body)
				}
				if got := platformEvents(t, g, tc.kind); got != before+1 {
					t.Fatalf("hotline_platform_events_total{event=%q}: got %v, want %v", tc.kind, got, before+1)
				}
				return
			}
			if stored == nil {
				t.Fatal("not stored")
			}
			if stored.From.ID == "unknown" || stored.From.ID == "" {
				t.Fatalf("stored for user %q", stored.From.ID)
			}
			if tc.check != nil {
				tc.check(t, stored)
			}
		})
	}
	// Nothing that was not stored was answered: every reply the router
	// made went to a chat that sent a message. The barrier waits for the
	// router to handle everything stored, then for a marker queued to
	// the channel's chat behind any reply the router made to it.
	mark := g.barrier(t, channelChat)
	g.api.mu.Lock()
	defer g.api.mu.Unlock()
	for _, s := range g.api.sent {
		if strings.HasPrefix(s.chatID, "-100987") && s.text != mark { // the channel
			t.Errorf("the bot posted into the channel: %+v", s)
		}
	}
}

// channelChat is the channel of the testdata samples (channel_post and
// others).
const channelChat = int64(-1009876543210)

func platformEvents(t *testing.T, g *gateway, event string) float64 {
	t.Helper()
	return g.metric(t, "hotline_platform_events_total", "platform", "telegram", "account", "tg-main", "event", event)
}

// The cases, end to end: an update without a payload and a
// channel post are acknowledged, stored nowhere, answered nowhere, and
// no dead letter names a user "unknown".
func TestNoTicketForUpdatesWithoutAUser(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gwOpts{})
	channel := `{"update_id":%d,"channel_post":{"message_id":310,"sender_chat":{"id":-1009876543210,"title":"Shop news","type":"channel"},"chat":{"id":-1009876543210,"title":"Shop news","type":"channel"},"date":1764072000,"text":"my order is late, help"}}`
	for _, up := range []string{`{"update_id":99}`, strings.Replace(channel, "%d", strconv.Itoa(nextUpdateID()), 1)} {
		code, _, body := g.post(t, testSecret, up)
		if code != 200 || body != "" {
			t.Fatalf("%s: got %d %q, want an empty 200", up, code, body)
		}
	}
	// The webhook stores before it answers, so nothing more can be
	// stored now; and once the router has handled everything stored
	// (nothing) and HOTLINE_OUT holds no reply, the delivery loop has
	// nothing to send.
	if n := len(inbound(t, g.b)); n != 0 {
		t.Fatalf("stored %d messages, want none", n)
	}
	bustest.RouterCaughtUp(t, g.b)
	if n := len(bustest.Messages(t, g.b, bus.StreamOut, "hotline.out.")); n != 0 {
		t.Fatalf("queued %d replies, want none", n)
	}
	g.api.mu.Lock()
	sent := len(g.api.sent)
	g.api.mu.Unlock()
	if sent != 0 {
		t.Fatalf("sent %d messages, want none", sent)
	}
	if !strings.Contains(g.logs.String(), `"msg":"update acknowledged, not stored"`) {
		t.Fatalf("no debug line for the skipped updates:\n%s", g.logs.String())
	}
}

func TestContactPhone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		own  bool
		want string
	}{
		{"491701234567", true, "+491701234567"},      // Telegram's own numbers come without '+'
		{"+491701234567", true, "+491701234567"},     //
		{"0788531373", false, "0788531373"},          // national: kept as sent, no '+'
		{"0788531373", true, "0788531373"},           // never '+' before a leading 0
		{"788531373", false, "788531373"},            // someone else's, no '+': unknown, as sent
		{"+250 788 531 373", false, "+250788531373"}, // international as written
		{"+7 (999) 123-45-67", false, "+79991234567"},
		{"", false, ""},
		{"ext", false, "ext"},
	}
	for _, tc := range tests {
		if got := contactPhone(tc.raw, tc.own); got != tc.want {
			t.Errorf("contactPhone(%q, own %v): got %q, want %q", tc.raw, tc.own, got, tc.want)
		}
	}
}
