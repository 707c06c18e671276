// Package fallback holds hotline's degraded modes: the operators' switches
// (read_only, rate_limited, review_first, sms_fallback, announcement) kept
// in the hotline_modes KV bucket, the gate the router asks before
// answering, and what SMS fallback needs to reach a user by phone.
package fallback

import (
	"maps"
	"slices"
	"time"
)

// Decision says how the modes in force change one inbound message's
// handling. The zero value is "answer normally".
type Decision struct {
	// Refuse, when set, is the text key to answer with instead of the
	// normal answer (read_only, busy); empty answers normally.
	Refuse string
	// Silent suppresses every reply (over the rate limit after the one
	// busy notice); the message is still stored and recorded.
	Silent bool
	// DeferHandoff queues a handoff for later even when the answer was
	// refused, so nothing the user asked is lost.
	DeferHandoff bool
	// HoldForReview sends bot replies other than static help to the
	// review queue instead of the user.
	HoldForReview bool
	// SMSFallback says sms_fallback is in force for the message's
	// platform account: a user with a bound phone gets replies by SMS,
	// so they must not be handed to the webhook waiting on the platform.
	SMSFallback bool
	// InForce lists every mode in force for the message's platform
	// account, most severe first, so users can be told the truth
	// (STATUS, announcements) whatever the mode.
	InForce []Notice
}

// Notice is one mode in force as users should hear of it.
type Notice struct {
	Mode  string
	Scope Scope
	// SetAt tells one setting of a mode from a later one, so a user is
	// told of each once.
	SetAt time.Time
	// Announce is the operator's text per language (BCP 47 code); nil
	// when none was given and users get the built-in text of the mode.
	Announce map[string]string
}

// Key identifies the setting behind the notice: a mode set again, in
// another scope or later, is a new key.
func (n Notice) Key() string {
	return n.Mode + " " + n.Scope.String() + " " + n.SetAt.UTC().Format(time.RFC3339Nano)
}

// Notices returns what is in force in eff, most severe first. The
// texts are copies: callers may change them without touching the store.
func Notices(eff Effective) []Notice {
	var out []Notice
	for _, mode := range bySeverity() {
		if s := eff.Get(mode); s != nil {
			out = append(out, Notice{Mode: s.Mode, Scope: s.Scope, SetAt: s.SetAt, Announce: maps.Clone(s.Announce)})
		}
	}
	return out
}

// bySeverity orders modes by how much they take from users: no answers
// to questions, then some messages unanswered, then answers on another
// channel, then answers delayed, then plain information.
func bySeverity() []string {
	order := []string{ModeReadOnly, ModeRateLimited, ModeSMSFallback, ModeReviewFirst, ModeAnnouncement}
	// A mode added to Modes and not here still counts, last.
	for _, m := range Modes() {
		if !slices.Contains(order, m) {
			order = append(order, m)
		}
	}
	return order
}
