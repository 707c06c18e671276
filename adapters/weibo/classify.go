package weibo

import (
	"hotline/adapters/webhook"
	"hotline/envelope"
)

// decision is classifyPush's answer. kind is the push's type, or its
// subtype for an event, when it is one this gateway knows and "other"
// otherwise: it labels hotline_platform_events_total, so it never
// carries a free string from the request.
type decision struct {
	handling webhook.Handling
	kind     string
	event    string // hotline's event name, for user events
}

// userEvents maps Weibo's event subtypes to hotline's events. scan_follow
// (a follow through a QR code) becomes a subscribe, not a scan: what the
// user did that matters is following, which the router answers with the
// welcome; the QR scene is kept as the event key and in Meta["scene"].
var userEvents = map[string]string{
	"follow":      envelope.EventSubscribe,
	"subscribe":   envelope.EventSubscribe,
	"scan_follow": envelope.EventSubscribe,
	"unfollow":    envelope.EventUnsubscribe,
	"unsubscribe": envelope.EventUnsubscribe,
	"scan":        envelope.EventScan,
	"click":       envelope.EventMenu,
	"view":        envelope.EventView,
	"mention":     envelope.EventMention,
}

// messageTypes are the push types a user sends that hotline reads. Any
// other type is still kept, as KindRaw: the wiki says to ignore unknown
// types, but one may be something a user sent.
var messageTypes = map[string]bool{"text": true, "position": true, "voice": true, "image": true}

// classifyPush decides what hotline does with a push: the one place that
// does.
func classifyPush(typ, subtype string) decision {
	if typ != "event" {
		kind := typ
		if !messageTypes[kind] {
			kind = "other"
		}
		return decision{handling: webhook.HandleMessage, kind: kind}
	}
	if name, ok := userEvents[subtype]; ok {
		return decision{handling: webhook.HandleUserEvent, kind: subtype, event: name}
	}
	return decision{handling: webhook.HandlePlatformEvent, kind: "other"}
}
