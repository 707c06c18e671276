package telegram

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"hotline/envelope"
)

// ToMessage turns one Bot API update into an envelope. handle is false
// for group chatter that is not addressed to the bot: such updates are
// acknowledged and stored nowhere (the gateway keeps conversations with
// the bot, not a copy of every group). It is pure so that testdata/
// golden files pin its behaviour.
//
// https://core.telegram.org/bots/api#update: at most one payload field
// is set per update. A kind hotline does not understand becomes KindRaw
// with Meta["update_kind"] instead of being dropped.
func ToMessage(u tgbotapi.Update, account, botUsername, id string, now time.Time) (*envelope.Message, bool, error) {
	return toMessage(u, nil, account, botUsername, id, now)
}

// decodeUpdate parses a raw update and keeps it alongside, so kinds the
// library does not know still have a name and a user.
func decodeUpdate(raw []byte) (tgbotapi.Update, error) {
	var u tgbotapi.Update
	if err := json.Unmarshal(raw, &u); err != nil {
		return u, fmt.Errorf("telegram: update: %w", err)
	}
	if u.UpdateID <= 0 {
		return u, errors.New("telegram: update: update_id is missing")
	}
	return u, nil
}

// rawInfo names the payload field of an update the library could not
// decode into a known field, and finds the chat or user it concerns.
func rawInfo(raw []byte) (kind, userID string) {
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil {
		return "unknown", ""
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		if k != "update_id" {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return "unknown", ""
	}
	slices.Sort(keys)
	kind = keys[0]
	var payload map[string]json.RawMessage
	if json.Unmarshal(top[kind], &payload) != nil {
		return kind, ""
	}
	for _, field := range []string{"chat", "from", "user"} {
		var p struct {
			ID int64 `json:"id"`
		}
		if json.Unmarshal(payload[field], &p) == nil && p.ID != 0 {
			return kind, strconv.FormatInt(p.ID, 10)
		}
	}
	return kind, ""
}

func toMessage(u tgbotapi.Update, raw []byte, account, botUsername, id string, now time.Time) (*envelope.Message, bool, error) {
	m := &envelope.Message{
		ID:            id,
		Platform:      envelope.PlatformTelegram,
		Account:       account,
		PlatformMsgID: strconv.Itoa(u.UpdateID),
		To:            envelope.Party{ID: account},
		ReceivedAt:    now,
		Meta:          map[string]string{},
	}
	if botUsername != "" {
		m.To.Name = "@" + botUsername
	}
	handle := true
	switch {
	case u.Message != nil:
		handle = fromMessage(m, u.Message, botUsername)
	case u.EditedMessage != nil:
		handle = fromMessage(m, u.EditedMessage, botUsername)
		m.Meta["edited"] = "true"
	case u.CallbackQuery != nil:
		fromCallback(m, u.CallbackQuery)
	case u.MyChatMember != nil:
		fromChatMember(m, u.MyChatMember)
	default:
		fromOther(m, u, raw)
	}
	if !handle {
		return nil, false, nil
	}
	if m.From.ID == "" {
		m.From.ID = "unknown"
	}
	m.Conversation = envelope.ConversationKey(envelope.PlatformTelegram, account, m.From.ID)
	if len(m.Meta) == 0 {
		m.Meta = nil
	}
	if err := m.Validate(); err != nil {
		return nil, false, fmt.Errorf("telegram: update %d: %w", u.UpdateID, err)
	}
	return m, true, nil
}

// sender fills From with the chat (the conversation is the chat, so a
// group is one conversation) and the user's name and language.
func sender(m *envelope.Message, chat *tgbotapi.Chat, from *tgbotapi.User) {
	if chat != nil {
		m.From.ID = strconv.FormatInt(chat.ID, 10)
		m.Meta["chat_type"] = chat.Type
		if chat.Title != "" {
			m.Meta["chat_title"] = chat.Title
		}
	}
	if from != nil {
		if m.From.ID == "" {
			m.From.ID = strconv.FormatInt(from.ID, 10)
		}
		m.From.Name = strings.TrimSpace(from.FirstName + " " + from.LastName)
		m.LangHint = from.LanguageCode
		if from.UserName != "" {
			m.Meta["username"] = from.UserName
		}
		if chat != nil && chat.ID != from.ID {
			m.Meta["from_id"] = strconv.FormatInt(from.ID, 10)
		}
	}
}

func isGroup(chat *tgbotapi.Chat) bool {
	return chat != nil && (chat.Type == "group" || chat.Type == "supergroup")
}

// fromMessage fills m from a message and reports whether hotline should
// handle it: in groups only what is addressed to the bot.
func fromMessage(m *envelope.Message, msg *tgbotapi.Message, bot string) bool {
	sender(m, msg.Chat, msg.From)
	m.Meta["message_id"] = strconv.Itoa(msg.MessageID)
	text, entities := msg.Text, msg.Entities
	if text == "" && msg.Caption != "" {
		text, entities = msg.Caption, msg.CaptionEntities
	}
	group := isGroup(msg.Chat)
	addressed := !group
	if group && bot != "" {
		if r := msg.ReplyToMessage; r != nil && r.From != nil && r.From.IsBot && strings.EqualFold(r.From.UserName, bot) {
			addressed = true
		}
		if stripped, ok := stripMention(text, entities, bot); ok {
			text, addressed = stripped, true
		}
	}
	if !addressed {
		return false
	}
	m.Kind = envelope.KindText
	m.Text = text

	// Commands: /start is the user's first visit (or coming back after
	// blocking the bot); other commands become the word the router
	// understands ("/help@hotline_bot" → "help").
	if cmd, arg, ok := command(text, bot); ok {
		if cmd == "start" {
			m.Kind, m.Text = envelope.KindEvent, ""
			m.Event = &envelope.Event{Name: envelope.EventSubscribe, Key: arg}
			return true
		}
		m.Text = strings.TrimSpace(cmd + " " + arg)
	}

	switch {
	case len(msg.Photo) > 0:
		best := msg.Photo[0]
		for _, p := range msg.Photo[1:] {
			if p.Width*p.Height > best.Width*best.Height || (p.Width*p.Height == best.Width*best.Height && p.FileSize > best.FileSize) {
				best = p
			}
		}
		m.Kind = envelope.KindImage
		m.Media = []envelope.Media{{Kind: envelope.KindImage, PlatformID: best.FileID, Caption: msg.Caption}}
	case msg.Voice != nil:
		m.Kind = envelope.KindVoice
		m.Media = []envelope.Media{{Kind: envelope.KindVoice, PlatformID: msg.Voice.FileID, MIME: msg.Voice.MimeType}}
	case msg.Audio != nil:
		m.Kind = envelope.KindVoice
		m.Media = []envelope.Media{{Kind: envelope.KindVoice, PlatformID: msg.Audio.FileID, MIME: msg.Audio.MimeType, Caption: msg.Caption}}
	case msg.Video != nil:
		m.Kind = envelope.KindVideo
		m.Media = []envelope.Media{{Kind: envelope.KindVideo, PlatformID: msg.Video.FileID, MIME: msg.Video.MimeType, Caption: msg.Caption}}
	case msg.VideoNote != nil:
		m.Kind = envelope.KindVideo
		m.Media = []envelope.Media{{Kind: envelope.KindVideo, PlatformID: msg.VideoNote.FileID}}
	case msg.Document != nil:
		m.Kind = envelope.KindFile
		m.Media = []envelope.Media{{Kind: envelope.KindFile, PlatformID: msg.Document.FileID, MIME: msg.Document.MimeType, Caption: msg.Caption}}
		if msg.Document.FileName != "" {
			m.Meta["file_name"] = msg.Document.FileName
		}
	case msg.Sticker != nil:
		m.Kind = envelope.KindImage
		m.Media = []envelope.Media{{Kind: envelope.KindImage, PlatformID: msg.Sticker.FileID}}
		if msg.Sticker.Emoji != "" {
			m.Meta["sticker_emoji"] = msg.Sticker.Emoji
		}
	case msg.Location != nil:
		m.Kind = envelope.KindLocation
		m.Location = &envelope.Location{Lat: msg.Location.Latitude, Lon: msg.Location.Longitude}
		if msg.Venue != nil {
			m.Location.Label = msg.Venue.Title
		}
	case msg.Contact != nil:
		m.Kind = envelope.KindContact
		phone := normalizePhone(msg.Contact.PhoneNumber)
		// The name goes to Meta, not Text, so that the router does not
		// take it for something the user wrote.
		m.Text = ""
		if name := strings.TrimSpace(msg.Contact.FirstName + " " + msg.Contact.LastName); name != "" {
			m.Meta["contact_name"] = name
		}
		// A contact is the user's own only when Telegram says so (the
		// "share my phone number" button fills user_id with the
		// sender); only then can it bind the conversation.
		if msg.From != nil && msg.Contact.UserID == msg.From.ID {
			m.From.Phone = phone
			m.Meta["contact_own"] = "true"
		}
		m.Meta["contact_phone"] = phone
	case text == "":
		// A service message (pinned, new member, ...) or content hotline
		// has no kind for: kept raw.
		m.Kind = envelope.KindRaw
		m.Meta["update_kind"] = "message"
	}
	return true
}

// stripMention finds @bot in text (as a mention entity, or as the
// suffix of a command) and removes it. Entity offsets count UTF-16
// code units (https://core.telegram.org/bots/api#messageentity).
func stripMention(text string, entities []tgbotapi.MessageEntity, bot string) (string, bool) {
	u := utf16Units(text)
	for _, e := range entities {
		if e.Offset < 0 || e.Length <= 0 || e.Offset > len(u) || e.Length > len(u)-e.Offset {
			continue
		}
		part := fromUnits(u[e.Offset : e.Offset+e.Length])
		switch e.Type {
		case "mention":
			if strings.EqualFold(part, "@"+bot) {
				out := fromUnits(u[:e.Offset]) + fromUnits(u[e.Offset+e.Length:])
				return strings.Join(strings.Fields(out), " "), true
			}
		case "bot_command":
			if _, at, ok := strings.Cut(part, "@"); ok && strings.EqualFold(at, bot) {
				return text, true
			}
		}
	}
	return text, false
}

// command splits "/help@bot arg" into "help" and "arg". A command for
// another bot ("/help@other_bot") is not one of ours.
func command(text, bot string) (cmd, arg string, ok bool) {
	if !strings.HasPrefix(text, "/") {
		return "", "", false
	}
	head, arg, _ := strings.Cut(text[1:], " ")
	head, at, hasAt := strings.Cut(head, "@")
	if head == "" || (hasAt && !strings.EqualFold(at, bot)) {
		return "", "", false
	}
	for _, r := range head {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "", "", false
		}
	}
	return strings.ToLower(head), strings.TrimSpace(arg), true
}

// normalizePhone turns Telegram's digits ("79991234567" or "+7999...")
// into E.164.
func normalizePhone(p string) string {
	p = strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, p)
	if p == "" {
		return ""
	}
	return "+" + p
}

// fromCallback maps an inline keyboard button press: the button's data
// (a menu code) is what the user "said".
func fromCallback(m *envelope.Message, cq *tgbotapi.CallbackQuery) {
	var chat *tgbotapi.Chat
	if cq.Message != nil {
		chat = cq.Message.Chat
		m.Meta["message_id"] = strconv.Itoa(cq.Message.MessageID)
	}
	sender(m, chat, cq.From)
	m.Kind = envelope.KindText
	m.Text = cq.Data
	m.Meta["callback_query_id"] = cq.ID
	if cq.Data == "" {
		m.Kind = envelope.KindRaw
		m.Meta["update_kind"] = "callback_query"
	}
}

// fromChatMember maps the bot's own membership: a private chat's
// "kicked" is the user blocking the bot, "member" unblocking it
// (https://core.telegram.org/bots/api#chatmemberupdated).
func fromChatMember(m *envelope.Message, cm *tgbotapi.ChatMemberUpdated) {
	sender(m, &cm.Chat, &cm.From)
	status := cm.NewChatMember.Status
	m.Meta["member_status"] = status
	switch status {
	case "kicked", "left":
		m.Kind = envelope.KindEvent
		m.Event = &envelope.Event{Name: envelope.EventUnsubscribe}
	case "member", "administrator", "creator":
		m.Kind = envelope.KindEvent
		m.Event = &envelope.Event{Name: envelope.EventSubscribe}
	default:
		m.Kind = envelope.KindRaw
		m.Meta["update_kind"] = "my_chat_member"
	}
}

// fromOther keeps any other update raw, with the chat or user it
// concerns when the library or the raw JSON tells.
func fromOther(m *envelope.Message, u tgbotapi.Update, raw []byte) {
	m.Kind = envelope.KindRaw
	kind := "unknown"
	switch {
	case u.ChannelPost != nil:
		kind = "channel_post"
		sender(m, u.ChannelPost.Chat, u.ChannelPost.From)
	case u.EditedChannelPost != nil:
		kind = "edited_channel_post"
		sender(m, u.EditedChannelPost.Chat, u.EditedChannelPost.From)
	case u.InlineQuery != nil:
		kind = "inline_query"
		sender(m, nil, u.InlineQuery.From)
	case u.ChosenInlineResult != nil:
		kind = "chosen_inline_result"
		sender(m, nil, u.ChosenInlineResult.From)
	case u.ShippingQuery != nil:
		kind = "shipping_query"
		sender(m, nil, u.ShippingQuery.From)
	case u.PreCheckoutQuery != nil:
		kind = "pre_checkout_query"
		sender(m, nil, u.PreCheckoutQuery.From)
	case u.Poll != nil:
		kind = "poll"
	case u.PollAnswer != nil:
		kind = "poll_answer"
		sender(m, nil, &u.PollAnswer.User)
	case u.ChatMember != nil:
		kind = "chat_member"
		sender(m, &u.ChatMember.Chat, &u.ChatMember.From)
	case u.ChatJoinRequest != nil:
		kind = "chat_join_request"
		sender(m, &u.ChatJoinRequest.Chat, &u.ChatJoinRequest.From)
	case raw != nil:
		var user string
		kind, user = rawInfo(raw)
		m.From.ID = user
	}
	m.Meta["update_kind"] = kind
}
