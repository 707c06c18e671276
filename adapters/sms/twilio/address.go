package twilio

import (
	"strings"

	"hotline/adapters/sms"
)

// whatsappPrefix marks a WhatsApp address in Twilio's From and To
// ("whatsapp:+14137070066"). Twilio routes a message by it: without the
// prefix the same number gets an SMS.
const whatsappPrefix = "whatsapp:"

// address is a user as Twilio names them, split into what hotline keys
// the conversation by and the phone number behind it, if any.
type address struct {
	// ID is the conversation's user: E.164 for SMS, "whatsapp:" and E.164
	// for a WhatsApp phone, or the id exactly as Twilio sent it (short
	// codes, alphanumeric senders, WhatsApp ids that are not numbers).
	ID string
	// Phone is the E.164 number, or empty when there is none.
	Phone    string
	WhatsApp bool
}

// parseAddress reads a From or To. A WhatsApp number keeps its prefix in
// the ID so that its conversation, opt-out and rate limit are apart from
// the same number's SMS ones: a user may STOP one channel and keep the
// other, and every reply knows which channel it belongs to. Region applies
// to SMS only; WhatsApp always sends an international number.
func parseAddress(raw, region string) address {
	if rest, ok := cutPrefixFold(raw, whatsappPrefix); ok {
		if n, err := sms.Normalize(rest, ""); err == nil {
			return address{ID: whatsappPrefix + n, Phone: n, WhatsApp: true}
		}
		// A WhatsApp user id that is not a phone number (a business-scoped
		// id such as "US.1234"): kept as given, it is all Twilio will take
		// back as To.
		return address{ID: whatsappPrefix + rest, WhatsApp: true}
	}
	n, err := sms.Normalize(raw, region)
	if err != nil {
		// Short codes and alphanumeric senders are not E.164; keep them
		// as they came so the conversation still has a stable key.
		return address{ID: raw, Phone: raw}
	}
	return address{ID: n, Phone: n}
}

// cutPrefixFold is strings.CutPrefix ignoring ASCII case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// conversationUser is the user part of a conversation key
// (platform:account:user); the user may itself hold colons.
func conversationUser(conversation string) string {
	parts := strings.SplitN(conversation, ":", 3)
	if len(parts) < 3 {
		return ""
	}
	return parts[2]
}
