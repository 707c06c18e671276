package telegram

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"hotline/envelope/envelopetest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

const goldenID = "01KAXQ5W2M3T7K9R2W6Y0B1CD0"

// TestInboundGolden turns real-shaped updates into envelopes and compares
// them with reviewed golden files; "null" means the update is not
// handled (group chatter not addressed to the bot).
func TestInboundGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	var inputs []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".golden.json") {
			inputs = append(inputs, f)
		}
	}
	if len(inputs) < 14 {
		t.Fatalf("%d testdata updates, want at least 14", len(inputs))
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, f := range inputs {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			u, err := decodeUpdate(raw)
			if err != nil {
				t.Fatal(err)
			}
			m, d, err := toMessage(u, raw, "tg-main", "hotline_bot", goldenID, now)
			if err != nil {
				t.Fatalf("toMessage: %v", err)
			}
			if d.handling.Stored() != (m != nil) {
				t.Fatalf("handling %s with message %v", d.handling, m)
			}
			envelopetest.Golden(t, f, m, *update)
		})
	}
}

func TestToMessageCases(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	private := &tgbotapi.Chat{ID: 42, Type: "private"}
	group := &tgbotapi.Chat{ID: -100500, Type: "group"}
	from := &tgbotapi.User{ID: 42, FirstName: "Bo", LanguageCode: "pt-br"}
	tests := []struct {
		name     string
		msg      *tgbotapi.Message
		handle   bool
		text     string
		event    string
		wantConv string
	}{
		{"help plain", &tgbotapi.Message{Chat: private, From: from, Text: "/help"}, true, "help", "", "telegram:tg-main:42"},
		{"command for another bot", &tgbotapi.Message{Chat: private, From: from, Text: "/help@other_bot"}, true, "/help@other_bot", "", "telegram:tg-main:42"},
		{"lang command keeps argument", &tgbotapi.Message{Chat: private, From: from, Text: "/lang pt"}, true, "lang pt", "", "telegram:tg-main:42"},
		{"start@bot in group", &tgbotapi.Message{Chat: group, From: from, Text: "/start@hotline_bot",
			Entities: []tgbotapi.MessageEntity{{Type: "bot_command", Offset: 0, Length: 18}}}, true, "", "subscribe", "telegram:tg-main:-100500"},
		{"help in group without mention", &tgbotapi.Message{Chat: group, From: from, Text: "/help"}, false, "", "", ""},
		{"mention after emoji counts UTF-16", &tgbotapi.Message{Chat: group, From: from, Text: "😀 @hotline_bot hi",
			Entities: []tgbotapi.MessageEntity{{Type: "mention", Offset: 3, Length: 12}}}, true, "😀 hi", "", "telegram:tg-main:-100500"},
		{"mention of another bot", &tgbotapi.Message{Chat: group, From: from, Text: "@other_bot hi",
			Entities: []tgbotapi.MessageEntity{{Type: "mention", Offset: 0, Length: 10}}}, false, "", "", ""},
		{"entity out of range", &tgbotapi.Message{Chat: group, From: from, Text: "hi",
			Entities: []tgbotapi.MessageEntity{{Type: "mention", Offset: 1, Length: 99}}}, false, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, handle, err := ToMessage(tgbotapi.Update{UpdateID: 7, Message: tc.msg}, "tg-main", "hotline_bot", goldenID, now)
			if err != nil {
				t.Fatal(err)
			}
			if handle != tc.handle {
				t.Fatalf("handle: got %v, want %v", handle, tc.handle)
			}
			if !handle {
				return
			}
			if m.Text != tc.text || m.Conversation != tc.wantConv {
				t.Fatalf("got text %q conversation %q, want %q %q", m.Text, m.Conversation, tc.text, tc.wantConv)
			}
			if tc.event != "" && (m.Event == nil || m.Event.Name != tc.event) {
				t.Fatalf("got event %+v, want %s", m.Event, tc.event)
			}
			if m.LangHint != "pt-br" || m.PlatformMsgID != "7" || m.Meta["chat_type"] != tc.msg.Chat.Type {
				t.Fatalf("got lang %q id %q meta %v", m.LangHint, m.PlatformMsgID, m.Meta)
			}
		})
	}
}

func TestDecodeUpdateRejects(t *testing.T) {
	for name, raw := range map[string]string{
		"not json":     `{"update_id":`,
		"no update_id": `{"message":{"message_id":1,"chat":{"id":1,"type":"private"},"text":"hi"}}`,
		"array":        `[]`,
	} {
		if _, err := decodeUpdate([]byte(raw)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzToMessage feeds raw update JSON, seeded from testdata, through
// decoding and normalization: whatever comes in, the result is an error
// or a valid envelope, never a panic.
func FuzzToMessage(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		if strings.HasSuffix(p, ".golden.json") {
			continue
		}
		if raw, err := os.ReadFile(p); err == nil {
			f.Add(raw)
		}
	}
	f.Add([]byte(`{"update_id":1,"message":{"chat":{"id":-1,"type":"group"},"text":"@x","entities":[{"type":"mention","offset":-5,"length":3}]}}`))
	f.Add([]byte(`{"update_id":9007199254740991,"callback_query":{"id":"x","from":{"id":1},"data":""}}`))
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw []byte) {
		u, err := decodeUpdate(raw)
		if err != nil {
			return
		}
		m, d, err := toMessage(u, raw, "tg-main", "hotline_bot", goldenID, now)
		if err != nil {
			return
		}
		if !d.handling.Stored() {
			if m != nil {
				t.Fatal("a message that is not handled")
			}
			return
		}
		if m == nil {
			t.Fatalf("%s classified %s without a message", d.kind, d.handling)
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("invalid envelope: %v", err)
		}
	})
}
