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
// for an update hotline does not store (see classify): group chatter not
// addressed to the bot, channel posts, service messages, updates about
// others or without a user to answer. It is pure so that testdata/
// golden files pin its behaviour.
func ToMessage(u tgbotapi.Update, account, botUsername, id string, now time.Time) (*envelope.Message, bool, error) {
	// The library's types marshal back with omitempty, so the fields
	// that are set can be told the same way as from a raw update.
	raw, err := json.Marshal(u)
	if err != nil {
		return nil, false, fmt.Errorf("telegram: update %d: %w", u.UpdateID, err)
	}
	m, d, err := toMessage(u, raw, account, botUsername, id, now)
	return m, d.handling.Stored() && m != nil, err
}

// decodeUpdate parses a raw update; the raw bytes are kept by the caller
// for what the library cannot decode (readExtra).
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

// toMessage classifies an update and, when it is stored, builds its
// envelope. m is nil for everything classify keeps out of HOTLINE_IN.
func toMessage(u tgbotapi.Update, raw []byte, account, botUsername, id string, now time.Time) (*envelope.Message, decision, error) {
	x := readExtra(raw)
	d := classify(u, x, botUsername)
	if !d.handling.Stored() {
		return nil, d, nil
	}
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
	switch {
	case u.Message != nil:
		fromMessage(m, u.Message, x, botUsername)
	case u.EditedMessage != nil:
		// A user correcting themselves: answered like a message, marked
		// so agents see it replaces an earlier one.
		fromMessage(m, u.EditedMessage, x, botUsername)
		m.Meta["edited"] = "true"
	case u.CallbackQuery != nil:
		fromCallback(m, u.CallbackQuery)
	case u.MyChatMember != nil:
		fromChatMember(m, u.MyChatMember)
	}
	if m.From.ID == "" {
		// classify checked the sender; this is a bug, not input.
		return nil, d, fmt.Errorf("telegram: update %d: %s without a sender", u.UpdateID, d.kind)
	}
	m.Conversation = envelope.ConversationKey(envelope.PlatformTelegram, account, m.From.ID)
	if len(m.Meta) == 0 {
		m.Meta = nil
	}
	if err := m.Validate(); err != nil {
		return nil, d, fmt.Errorf("telegram: update %d: %w", u.UpdateID, err)
	}
	return m, d, nil
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

// fromMessage fills m from a message classify accepted.
func fromMessage(m *envelope.Message, msg *tgbotapi.Message, x extra, bot string) {
	sender(m, msg.Chat, msg.From)
	m.Meta["message_id"] = strconv.Itoa(msg.MessageID)
	text, _ := addressed(msg, bot)
	m.Kind = envelope.KindText
	m.Text = text

	// Commands: /start is the user's first visit (or coming back after
	// blocking the bot); other commands become the word the router
	// understands ("/help@hotline_bot" → "help").
	if cmd, arg, ok := command(text, bot); ok {
		if cmd == "start" {
			m.Kind, m.Text = envelope.KindEvent, ""
			m.Event = &envelope.Event{Name: envelope.EventSubscribe, Key: arg}
			return
		}
		m.Text = strings.TrimSpace(cmd + " " + arg)
	}

	media := func(kind envelope.Kind, fileID, mime, name string, size int) {
		m.Kind = kind
		m.Media = []envelope.Media{{Kind: kind, PlatformID: fileID, MIME: mime, Caption: msg.Caption, FileName: name, Size: int64(max(size, 0))}}
	}
	switch messageContent(msg, x) {
	case "web_app_data":
		// The data a Web App sent with the button's label: what the user
		// submitted, so it is the text.
		m.Kind, m.Text = envelope.KindText, x.webApp.Data
		if x.webApp.ButtonText != "" {
			m.Meta["web_app_button"] = x.webApp.ButtonText
		}
	case "animation":
		a := msg.Animation
		media(envelope.KindVideo, a.FileID, a.MimeType, a.FileName, a.FileSize)
		m.Meta["animation"] = "true"
	case "photo":
		best := msg.Photo[0]
		for _, p := range msg.Photo[1:] {
			if p.Width*p.Height > best.Width*best.Height || (p.Width*p.Height == best.Width*best.Height && p.FileSize > best.FileSize) {
				best = p
			}
		}
		media(envelope.KindImage, best.FileID, "", "", best.FileSize)
	case "voice":
		media(envelope.KindVoice, msg.Voice.FileID, msg.Voice.MimeType, "", msg.Voice.FileSize)
	case "audio":
		a := msg.Audio
		media(envelope.KindVoice, a.FileID, a.MimeType, a.FileName, a.FileSize)
		if t := strings.TrimSpace(strings.TrimSpace(a.Performer) + " - " + strings.TrimSpace(a.Title)); t != "-" {
			m.Meta["audio_title"] = strings.Trim(t, " -")
		}
	case "video":
		v := msg.Video
		media(envelope.KindVideo, v.FileID, v.MimeType, v.FileName, v.FileSize)
	case "video_note":
		media(envelope.KindVideo, msg.VideoNote.FileID, "", "", msg.VideoNote.FileSize)
		m.Meta["video_note"] = "true"
	case "document":
		d := msg.Document
		media(envelope.KindFile, d.FileID, d.MimeType, d.FileName, d.FileSize)
	case "sticker":
		// A sticker is small talk, not a question: the router tells it
		// by Meta["sticker"] (its emoji, or "sticker" when it has none).
		media(envelope.KindImage, msg.Sticker.FileID, "", "", msg.Sticker.FileSize)
		m.Meta["sticker"] = msg.Sticker.Emoji
		if m.Meta["sticker"] == "" {
			m.Meta["sticker"] = "sticker"
		}
		if msg.Sticker.SetName != "" {
			m.Meta["sticker_set"] = msg.Sticker.SetName
		}
	case "venue":
		v := msg.Venue
		m.Kind = envelope.KindLocation
		m.Location = &envelope.Location{Lat: v.Location.Latitude, Lon: v.Location.Longitude, Label: v.Title, Address: v.Address}
		if v.GooglePlaceID != "" {
			m.Meta["google_place_id"] = v.GooglePlaceID
		}
		if v.FoursquareID != "" {
			m.Meta["foursquare_id"] = v.FoursquareID
		}
	case "location":
		m.Kind = envelope.KindLocation
		m.Location = &envelope.Location{Lat: msg.Location.Latitude, Lon: msg.Location.Longitude}
		if msg.Location.LivePeriod > 0 {
			m.Meta["live_period"] = strconv.Itoa(msg.Location.LivePeriod)
		}
	case "contact":
		fromContact(m, msg)
	case "dice":
		// A throw of the dice is play, not a question; kept short so an
		// agent reading the history knows what happened.
		m.Text = fmt.Sprintf("[dice %s %d]", msg.Dice.Emoji, msg.Dice.Value)
		m.Meta["dice"] = strconv.Itoa(msg.Dice.Value)
	case "poll":
		var opts []string
		for _, o := range msg.Poll.Options {
			opts = append(opts, o.Text)
		}
		m.Text = "[poll] " + msg.Poll.Question
		if len(opts) > 0 {
			m.Text += ": " + strings.Join(opts, " / ")
		}
		m.Meta["poll"] = "true"
	case "other":
		if m.Text == "" {
			// Content this gateway has no kind for: kept raw, never lost.
			m.Kind = envelope.KindRaw
			m.Meta["update_kind"] = "message"
			if f := unusualFields(x.msgKeys); f != "" {
				m.Meta["fields"] = f
			}
		}
	}
	if len(m.Text) > envelope.MaxTextLen {
		m.Text = truncate(m.Text, envelope.MaxTextLen)
		m.Meta["truncated"] = "true"
	}
}

// fromContact maps a shared contact card. Telegram sends the number as
// the sharer's phone book has it: international (with or without '+')
// for the user's own number, anything for someone else's.
func fromContact(m *envelope.Message, msg *tgbotapi.Message) {
	c := msg.Contact
	m.Kind = envelope.KindContact
	// The name goes to Contact, not Text, so that the router does not
	// take it for something the user wrote.
	m.Text = ""
	// A contact is the user's own only when Telegram says so (the
	// "share my phone number" button fills user_id with the sender);
	// only then is its number known to be international, and only then
	// can it bind the conversation.
	own := msg.From != nil && c.UserID != 0 && c.UserID == msg.From.ID
	m.Contact = &envelope.Contact{
		Name:  strings.TrimSpace(c.FirstName + " " + c.LastName),
		Phone: contactPhone(c.PhoneNumber, own),
	}
	if c.UserID != 0 {
		m.Contact.UserID = strconv.FormatInt(c.UserID, 10)
	}
	if own {
		m.Meta["contact_own"] = "true"
		if strings.HasPrefix(m.Contact.Phone, "+") {
			m.From.Phone = m.Contact.Phone
		}
	}
}

// contactPhone is a contact's number as E.164 when Telegram's number is
// international (it starts with '+', or it is the user's own), else
// exactly as sent: a national number such as 0788531373 cannot be read
// without the country, and a '+' in front would make it another number.
func contactPhone(raw string, own bool) string {
	raw = strings.TrimSpace(raw)
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, raw)
	if digits == "" {
		return raw
	}
	intl := strings.HasPrefix(raw, "+") || (own && !strings.HasPrefix(digits, "0"))
	if !intl || strings.HasPrefix(digits, "0") {
		return raw
	}
	return "+" + digits
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:min(n, len(s))]
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
}

// fromChatMember maps the bot's own membership in a private chat
// (classify lets no other through): "kicked" is the user blocking the
// bot, "member" unblocking it
// (https://core.telegram.org/bots/api#chatmemberupdated).
func fromChatMember(m *envelope.Message, cm *tgbotapi.ChatMemberUpdated) {
	sender(m, &cm.Chat, &cm.From)
	status := cm.NewChatMember.Status
	m.Meta["member_status"] = status
	m.Kind = envelope.KindEvent
	m.Event = &envelope.Event{Name: envelope.EventSubscribe}
	if status == "kicked" || status == "left" {
		m.Event.Name = envelope.EventUnsubscribe
	}
}

// commonFields are the fields every message has; unusualFields leaves
// them out so Meta["fields"] names what the message carries.
var commonFields = []string{"message_id", "from", "chat", "date", "sender_chat", "edit_date", "reply_to_message",
	"message_thread_id", "is_topic_message", "forward_origin", "forward_from", "forward_date", "has_protected_content",
	"entities", "caption_entities", "reply_markup", "via_bot", "author_signature", "media_group_id"}

func unusualFields(keys []string) string {
	var out []string
	for _, k := range keys {
		if !slices.Contains(commonFields, k) {
			out = append(out, k)
		}
	}
	return strings.Join(out, ",")
}
