package webhook

// Handling is what a webhook adapter does with one update or push. Every
// one lands in exactly one of them, decided in one place per adapter (its
// classify function), so nothing a platform sends is answered, or
// dropped, by accident.
type Handling int

const (
	// HandleMessage: a user sent something. Stored, the router answers.
	HandleMessage Handling = iota
	// HandleUserEvent: a user did something that is not a message
	// (follow, unfollow, a menu pick, blocking the bot). Stored as an
	// event.
	HandleUserEvent
	// HandlePlatformEvent: the platform reporting on its own work or on
	// others (template sends finished, someone else's membership).
	// Acknowledged as the platform expects, counted in
	// hotline_platform_events_total, never stored.
	HandlePlatformEvent
	// HandleIgnore: something the gateway does not serve (channels,
	// inline mode, an update without a user to answer). Acknowledged,
	// counted, never stored.
	HandleIgnore
)

// String names the handling in logs and tests.
func (h Handling) String() string {
	switch h {
	case HandleMessage:
		return "message"
	case HandleUserEvent:
		return "user_event"
	case HandlePlatformEvent:
		return "platform_event"
	}
	return "ignore"
}

// Stored reports whether it goes to HOTLINE_IN.
func (h Handling) Stored() bool { return h == HandleMessage || h == HandleUserEvent }
