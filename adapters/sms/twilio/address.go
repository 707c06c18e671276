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
	// Valid says the address has a shape a provider sends: E.164, a
	// short code, an alphanumeric sender id, or a WhatsApp number or id.
	// Anything else ("<script>…") is refused, never stored as a user.
	Valid bool
}

// parseAddress reads a From or To. A WhatsApp number keeps its prefix in
// the ID so that its conversation, opt-out and rate limit are apart from
// the same number's SMS ones: a user may STOP one channel and keep the
// other, and every reply knows which channel it belongs to. Region applies
// to SMS only; WhatsApp always sends an international number.
func parseAddress(raw, region string) address {
	if rest, ok := cutPrefixFold(raw, whatsappPrefix); ok {
		if n, err := sms.Normalize(rest, ""); err == nil {
			return address{ID: whatsappPrefix + n, Phone: n, WhatsApp: true, Valid: true}
		}
		// A WhatsApp user id that is not a phone number (a business-scoped
		// id such as "US.1234"): kept as given, it is all Twilio will take
		// back as To.
		return address{ID: whatsappPrefix + rest, WhatsApp: true, Valid: whatsappID(rest)}
	}
	n, err := sms.Normalize(raw, region)
	if err != nil {
		// Short codes and alphanumeric senders are not E.164 and have
		// no phone behind them; keep them as they came so the
		// conversation still has a stable key.
		return address{ID: raw, Valid: shortCode(raw) || alphanumericSender(raw)}
	}
	return address{ID: n, Phone: n, Valid: true}
}

// shortCode is a carrier short code: 3 to 8 digits.
func shortCode(s string) bool {
	if len(s) < 3 || len(s) > 8 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// alphanumericSender is a sender id as carriers allow it: up to 11
// letters, digits and spaces, with at least one letter.
func alphanumericSender(s string) bool {
	if len(s) == 0 || len(s) > 11 {
		return false
	}
	letter := false
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9', c == ' ':
		default:
			return false
		}
	}
	return letter
}

// whatsappID is a WhatsApp user id that is not a number ("US.1234"):
// letters, digits, dots, dashes and underscores.
func whatsappID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
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

// truncate keeps error messages about hostile input short.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
