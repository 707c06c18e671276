package telegram

import (
	"encoding/json"
	"slices"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"hotline/adapters/webhook"
)

// decision is classify's answer: the handling, the update's kind (the
// payload field, and for a message what it carries, as "message/venue")
// and, for what is not stored, why.
type decision struct {
	handling webhook.Handling
	kind     string
	why      string
}

// extra is what the library's v5.5.1 types cannot tell: payloads the Bot
// API added since (business_message, message_reaction, chat_boost, ...)
// and message fields such as web_app_data. It is read from the raw update.
type extra struct {
	keys    []string // the update's non-null payload fields, sorted
	msgKeys []string // the message's non-null fields, sorted
	webApp  *webAppData
}

// webAppData is what a Web App's sendData delivers
// (https://core.telegram.org/bots/api#webappdata).
type webAppData struct {
	Data       string `json:"data"`
	ButtonText string `json:"button_text"`
}

// readExtra reads what the library drops. raw is a valid update (decoded
// before), so a failure here only means there is nothing extra.
func readExtra(raw []byte) extra {
	var x extra
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil {
		return x
	}
	x.keys = present(top, "update_id")
	for _, k := range []string{"message", "edited_message"} {
		var fields map[string]json.RawMessage
		if v, ok := top[k]; !ok || json.Unmarshal(v, &fields) != nil {
			continue
		}
		x.msgKeys = present(fields)
		if w, ok := fields["web_app_data"]; ok {
			var d webAppData
			if json.Unmarshal(w, &d) == nil {
				x.webApp = &d
			}
		}
		break
	}
	return x
}

// present lists the fields of an object that are set, sorted.
func present(obj map[string]json.RawMessage, skip ...string) []string {
	var out []string
	for k, v := range obj {
		if string(v) != "null" && !slices.Contains(skip, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// updateKinds are the payloads of https://core.telegram.org/bots/api#update
// and what each one is to hotline. message and edited_message are decided
// by their content (classifyMessage), callback_query and my_chat_member
// by who they concern; every other kind is never stored. Kinds outside
// this table (a payload newer than this list) are ignored.
var updateKinds = map[string]webhook.Handling{
	"channel_post":              webhook.HandleIgnore, // the bot never answers into channels
	"edited_channel_post":       webhook.HandleIgnore,
	"business_connection":       webhook.HandlePlatformEvent,
	"business_message":          webhook.HandleIgnore, // answering needs business_connection_id, which replies do not carry
	"edited_business_message":   webhook.HandleIgnore,
	"deleted_business_messages": webhook.HandlePlatformEvent,
	"message_reaction":          webhook.HandleIgnore,
	"message_reaction_count":    webhook.HandlePlatformEvent,
	"inline_query":              webhook.HandleIgnore, // the bot has no inline mode
	"chosen_inline_result":      webhook.HandleIgnore,
	"shipping_query":            webhook.HandleIgnore, // the bot sells nothing
	"pre_checkout_query":        webhook.HandleIgnore,
	"purchased_paid_media":      webhook.HandleIgnore,
	"poll":                      webhook.HandlePlatformEvent,
	"poll_answer":               webhook.HandleIgnore,
	"chat_member":               webhook.HandlePlatformEvent,
	"chat_join_request":         webhook.HandleIgnore,
	"chat_boost":                webhook.HandlePlatformEvent,
	"removed_chat_boost":        webhook.HandlePlatformEvent,
}

// serviceFields are the message fields of service messages: members
// joining or leaving, pins, titles, payments, video chats, forum topics.
// They come from Telegram, not from a user talking to the bot.
var serviceFields = []string{
	"new_chat_members", "left_chat_member", "new_chat_title", "new_chat_photo", "delete_chat_photo",
	"group_chat_created", "supergroup_chat_created", "channel_chat_created", "message_auto_delete_timer_changed",
	"migrate_to_chat_id", "migrate_from_chat_id", "pinned_message", "invoice", "successful_payment",
	"refunded_payment", "users_shared", "user_shared", "chat_shared", "connected_website", "write_access_allowed",
	"passport_data", "proximity_alert_triggered", "boost_added", "chat_background_set", "checklist_tasks_done",
	"checklist_tasks_added", "forum_topic_created", "forum_topic_edited", "forum_topic_closed",
	"forum_topic_reopened", "general_forum_topic_hidden", "general_forum_topic_unhidden", "giveaway_created",
	"giveaway", "giveaway_winners", "giveaway_completed", "gift", "unique_gift", "paid_message_price_changed",
	"video_chat_scheduled", "video_chat_started", "video_chat_ended", "video_chat_participants_invited",
	"voice_chat_scheduled", "voice_chat_started", "voice_chat_ended", "voice_chat_participants_invited",
	"direct_message_price_changed",
}

// updateKind names the update's payload: the library's field when it
// decoded one, else the first field the raw update has.
func updateKind(u tgbotapi.Update, x extra) string {
	switch {
	case u.Message != nil:
		return "message"
	case u.EditedMessage != nil:
		return "edited_message"
	case u.CallbackQuery != nil:
		return "callback_query"
	case u.MyChatMember != nil:
		return "my_chat_member"
	}
	for _, k := range x.keys {
		if _, known := updateKinds[k]; known {
			return k
		}
	}
	if len(x.keys) > 0 {
		return "unknown"
	}
	return "empty"
}

// classify decides what hotline does with an update: the one place that
// does. bot is the bot's username, which tells whether a group message is
// addressed to it.
func classify(u tgbotapi.Update, x extra, bot string) decision {
	kind := updateKind(u, x)
	switch kind {
	case "message", "edited_message":
		msg := u.Message
		if msg == nil {
			msg = u.EditedMessage
		}
		return classifyMessage(kind, msg, x, bot)
	case "callback_query":
		cq := u.CallbackQuery
		switch {
		case cq.From == nil || cq.From.ID == 0:
			return decision{webhook.HandleIgnore, kind, "no user to answer"}
		case cq.Data == "":
			// A game's button: the bot offers no games.
			return decision{webhook.HandleIgnore, kind, "no button data"}
		}
		return decision{webhook.HandleMessage, kind, ""}
	case "my_chat_member":
		// In a private chat the bot's own membership is the user
		// blocking (kicked) or unblocking (member) it. In a group it is
		// the bot being added or removed: nobody to answer.
		cm := u.MyChatMember
		if cm.Chat.Type != "private" || cm.Chat.ID == 0 {
			return decision{webhook.HandlePlatformEvent, kind, "the bot's membership in a " + cm.Chat.Type}
		}
		switch cm.NewChatMember.Status {
		case "kicked", "left", "member", "administrator", "creator":
			return decision{webhook.HandleUserEvent, kind, ""}
		}
		return decision{webhook.HandlePlatformEvent, kind, "membership status " + cm.NewChatMember.Status}
	case "empty":
		return decision{webhook.HandleIgnore, kind, "no payload"}
	case "unknown":
		return decision{webhook.HandleIgnore, kind, "a payload this gateway does not know"}
	}
	h := updateKinds[kind]
	return decision{h, kind, "not served by this bot"}
}

// classifyMessage decides a message or an edit by its chat, its sender
// and what it carries.
func classifyMessage(kind string, msg *tgbotapi.Message, x extra, bot string) decision {
	content := messageContent(msg, x)
	kind += "/" + content
	switch {
	case msg.Chat == nil || msg.Chat.ID == 0:
		return decision{webhook.HandleIgnore, kind, "no chat to answer"}
	case msg.From == nil || msg.From.ID == 0:
		return decision{webhook.HandleIgnore, kind, "no user"}
	case msg.From.IsBot:
		return decision{webhook.HandleIgnore, kind, "sent by a bot"}
	case msg.Chat.Type == "channel":
		return decision{webhook.HandleIgnore, kind, "a channel"}
	case content == "service":
		return decision{webhook.HandleIgnore, kind, "a service message"}
	case content == "game":
		return decision{webhook.HandleIgnore, kind, "a game: the bot offers none"}
	}
	if isGroup(msg.Chat) {
		if _, ok := addressed(msg, bot); !ok {
			return decision{webhook.HandleIgnore, kind, "group chatter not addressed to the bot"}
		}
	}
	return decision{webhook.HandleMessage, kind, ""}
}

// messageContent names what a message carries, the most specific first:
// a venue is also a location, an animation also a document, a captioned
// photo also has text.
func messageContent(msg *tgbotapi.Message, x extra) string {
	switch {
	case x.webApp != nil:
		return "web_app_data"
	case msg.Animation != nil:
		return "animation"
	case len(msg.Photo) > 0:
		return "photo"
	case msg.Voice != nil:
		return "voice"
	case msg.Audio != nil:
		return "audio"
	case msg.Video != nil:
		return "video"
	case msg.VideoNote != nil:
		return "video_note"
	case msg.Document != nil:
		return "document"
	case msg.Sticker != nil:
		return "sticker"
	case msg.Venue != nil:
		return "venue"
	case msg.Location != nil:
		return "location"
	case msg.Contact != nil:
		return "contact"
	case msg.Dice != nil:
		return "dice"
	case msg.Poll != nil:
		return "poll"
	case msg.Game != nil:
		return "game"
	case msg.Text != "":
		return "text"
	}
	for _, k := range x.msgKeys {
		if slices.Contains(serviceFields, k) {
			return "service"
		}
	}
	// Something a user sent that this gateway cannot read (a story, a
	// checklist, paid media): kept raw, never dropped.
	return "other"
}

// addressed reports whether a group message is for the bot (a reply to
// it, @bot, /command@bot) and returns its text without the mention.
func addressed(msg *tgbotapi.Message, bot string) (string, bool) {
	text, entities := msg.Text, msg.Entities
	if text == "" && msg.Caption != "" {
		text, entities = msg.Caption, msg.CaptionEntities
	}
	if !isGroup(msg.Chat) {
		return text, true
	}
	if bot == "" {
		return text, false
	}
	ok := false
	if r := msg.ReplyToMessage; r != nil && r.From != nil && r.From.IsBot && strings.EqualFold(r.From.UserName, bot) {
		ok = true
	}
	if stripped, found := stripMention(text, entities, bot); found {
		text, ok = stripped, true
	}
	return text, ok
}
