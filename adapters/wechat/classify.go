package wechat

import (
	"hotline/adapters/webhook"
	"hotline/envelope"
)

// decision is classifyPush's answer. kind is the push's MsgType, or its Event
// for an event push, as WeChat names it when it is one of the names
// below and "other" otherwise: it labels hotline_platform_events_total,
// so it never carries a free string from the request.
type decision struct {
	handling webhook.Handling
	kind     string
	event    string // hotline's event name, for user events
}

// userEvents are the events a user causes, with hotline's name for each.
// The custom-menu picks (scan, photo, location select) carry the menu's
// key like CLICK does; what the user then sends (the photo, the place)
// arrives as its own message.
var userEvents = map[string]string{
	"subscribe":          envelope.EventSubscribe,
	"unsubscribe":        envelope.EventUnsubscribe,
	"SCAN":               envelope.EventScan,
	"CLICK":              envelope.EventMenu,
	"VIEW":               envelope.EventView,
	"LOCATION":           envelope.EventLocation,
	"scancode_push":      envelope.EventMenu,
	"scancode_waitmsg":   envelope.EventMenu, // the client shows "receiving" and waits for our answer
	"pic_sysphoto":       envelope.EventMenu,
	"pic_photo_or_album": envelope.EventMenu,
	"pic_weixin":         envelope.EventMenu,
	"location_select":    envelope.EventMenu,
	"view_miniprogram":   envelope.EventView,
}

// platformEvents are the events WeChat documents that no user should be
// answered for. Any event not listed here or in userEvents is a platform
// event too, counted as "other".
var platformEvents = map[string]bool{
	"TEMPLATESENDJOBFINISH": true, "MASSSENDJOBFINISH": true, "PUBLISHJOBFINISH": true,
	"kf_create_session": true, "kf_close_session": true, "kf_switch_session": true,
	"card_pass_check": true, "card_not_pass_check": true, "user_get_card": true, "user_gifting_card": true,
	"user_del_card": true, "user_consume_card": true, "user_pay_from_pay_cell": true, "user_view_card": true,
	"user_enter_session_from_card": true, "update_member_card": true, "card_sku_remind": true,
	"card_pay_order": true, "submit_membercard_user_info": true,
	"qualification_verify_success": true, "qualification_verify_fail": true, "naming_verify_success": true,
	"naming_verify_fail": true, "annual_renew": true, "verify_expired": true,
	"user_info_modified": true, "user_authorization_revoke": true, "user_authorization_cancellation": true,
	"subscribe_msg_popup_event": true, "subscribe_msg_change_event": true, "subscribe_msg_sent_event": true,
	"poi_check_notify": true, "WifiConnected": true, "ShakearoundUserShake": true, "merchant_order": true,
}

// messageTypes are the MsgTypes a user sends that hotline reads. Any
// other MsgType is still a message (KindRaw): nothing a user sent is
// dropped.
var messageTypes = map[string]bool{
	"text": true, "image": true, "voice": true, "video": true, "shortvideo": true,
	"location": true, "link": true, "file": true,
}

// classifyPush decides what hotline does with a push: the one place that
// does.
func classifyPush(p *push) decision {
	if p.MsgType != "event" {
		kind := p.MsgType
		if !messageTypes[kind] {
			kind = "other"
		}
		return decision{handling: webhook.HandleMessage, kind: kind}
	}
	if name, ok := userEvents[p.Event]; ok {
		return decision{handling: webhook.HandleUserEvent, kind: p.Event, event: name}
	}
	kind := p.Event
	if !platformEvents[kind] {
		kind = "other"
	}
	return decision{handling: webhook.HandlePlatformEvent, kind: kind}
}
