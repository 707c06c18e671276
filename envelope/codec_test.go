package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func sampleMessage() Message {
	return Message{
		ID:            "01JDQ4Z5X8M3T7K9R2W6Y0B1CD",
		Platform:      PlatformWeChat,
		Account:       "oa-main",
		PlatformMsgID: "23874623847",
		Conversation:  ConversationKey(PlatformWeChat, "oa-main", "oUser123"),
		From:          Party{ID: "oUser123"},
		To:            Party{ID: "gh_abc"},
		Kind:          KindText,
		Text:          "help+ar",
		LangHint:      "zh_CN",
		ReceivedAt:    time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
	}
}

func TestMessageGolden(t *testing.T) {
	m := sampleMessage()
	got, err := Encode(&m)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", "message_text.json")
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Fatalf("encoding changed:\ngot:\n%s\nwant:\n%s", pretty.Bytes(), want)
	}
	var back Message
	if err := Decode(want, &back); err != nil {
		t.Fatalf("Decode golden: %v", err)
	}
	if back.Text != m.Text || !back.ReceivedAt.Equal(m.ReceivedAt) || back.Conversation != m.Conversation {
		t.Fatalf("round trip: got %+v, want %+v", back, m)
	}
}

func TestMessageValidateNamesField(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Message)
		field string
	}{
		{"bad id", func(m *Message) { m.ID = "nope" }, "id"},
		{"unsafe account", func(m *Message) { m.Account = "a.b" }, "account"},
		{"conversation of another account", func(m *Message) { m.Conversation = "wechat:other:u" }, "conversation"},
		{"no dedup key", func(m *Message) { m.PlatformMsgID = "" }, "platform_msg_id"},
		{"no sender", func(m *Message) { m.From.ID = "" }, "from.id"},
		{"unknown kind", func(m *Message) { m.Kind = "sticker" }, "kind"},
		{"event without name", func(m *Message) { m.Kind = KindEvent }, "event.name"},
		{"location without point", func(m *Message) { m.Kind = KindLocation }, "location"},
		{"huge text", func(m *Message) { m.Text = strings.Repeat("a", MaxTextLen+1) }, "text"},
		{"no time", func(m *Message) { m.ReceivedAt = time.Time{} }, "received_at"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := sampleMessage()
			tc.edit(&m)
			err := m.Validate()
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), ": "+tc.field+": ") {
				t.Fatalf("error %q does not name field %q", err, tc.field)
			}
		})
	}
	m := sampleMessage()
	if err := m.Validate(); err != nil {
		t.Fatalf("valid sample refused: %v", err)
	}
}

func TestReplyHandoffStatusValidate(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	r := Reply{ID: NewID(now), Platform: "sms", Account: "sms-main", Conversation: "sms:sms-main:+8613800138000",
		To: Party{ID: "+8613800138000"}, Text: "hi", Source: SourceBot, CreatedAt: now}
	if err := r.Validate(); err != nil {
		t.Fatalf("valid reply refused: %v", err)
	}
	r.Source = "robot"
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "source") {
		t.Fatalf("bad source: got %v, want error naming source", err)
	}
	h := Handoff{ID: NewID(now), Platform: "sms", Account: "sms-main", Conversation: r.Conversation,
		User: r.To, Priority: P2, CreatedAt: now, SLADeadline: now.Add(5 * time.Minute)}
	if err := h.Validate(); err != nil {
		t.Fatalf("valid handoff refused: %v", err)
	}
	h.Priority = "urgent"
	if err := h.Validate(); err == nil || !strings.Contains(err.Error(), "priority") {
		t.Fatalf("bad priority: got %v, want error naming priority", err)
	}
	s := Status{ReplyID: r.ID, Platform: "sms", Account: "sms-main", State: StateSent, At: now}
	if err := s.Validate(); err != nil {
		t.Fatalf("valid status refused: %v", err)
	}
	s.State = "lost"
	if err := s.Validate(); err == nil {
		t.Fatal("unknown state accepted")
	}
}

func TestDecodeRejects(t *testing.T) {
	for name, in := range map[string]string{
		"not json":      "help",
		"trailing data": `{"id":"x"} {}`,
		"wrong type":    `{"id": 5}`,
		"too large":     `"` + strings.Repeat("a", MaxEncodedLen) + `"`,
		"invalid":       `{"id":"01JDQ4Z5X8M3T7K9R2W6Y0B1CD"}`,
	} {
		t.Run(name, func(t *testing.T) {
			var m Message
			if err := Decode([]byte(in), &m); !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
}

func FuzzDecodeMessage(f *testing.F) {
	if seed, err := os.ReadFile(filepath.Join("testdata", "message_text.json")); err == nil {
		f.Add(seed)
	}
	f.Add([]byte(`{"kind":"event","event":{"name":"subscribe"}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Message
		if err := Decode(data, &m); err != nil {
			return
		}
		// Whatever Decode accepts must encode again and stay valid.
		out, err := Encode(&m)
		if err != nil {
			t.Fatalf("accepted message does not re-encode: %v", err)
		}
		var again Message
		if err := Decode(out, &again); err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
	})
}
