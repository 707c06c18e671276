// Package fallback holds hotline's degraded modes: the operators' switches
// (read_only, rate_limited, review_first, sms_fallback, announcement) kept
// in the hotline_modes KV bucket, the gate the router asks before
// answering, and what SMS fallback needs to reach a user by phone.
package fallback

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
	// Announcement is incident text per language (BCP 47 code), added
	// to replies and given as the answer to STATUS.
	Announcement map[string]string
}
