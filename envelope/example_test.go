package envelope_test

import (
	"fmt"
	"time"

	"hotline/envelope"
)

func Example() {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	m := envelope.Message{
		ID:            envelope.NewID(now),
		Platform:      envelope.PlatformTelegram,
		Account:       "tg-main",
		PlatformMsgID: "update-1001",
		Conversation:  envelope.ConversationKey(envelope.PlatformTelegram, "tg-main", "42"),
		From:          envelope.Party{ID: "42", Name: "Ana"},
		Kind:          envelope.KindText,
		Text:          "help+pt",
		ReceivedAt:    now,
	}
	subject, _ := envelope.InSubject(m.Platform, m.Account)
	data, err := envelope.Encode(&m)
	fmt.Println(subject, err == nil, len(data) > 0)
	// Output: hotline.in.telegram.tg-main true true
}
