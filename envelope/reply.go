package envelope

import "time"

// Source says who wrote a reply.
type Source string

// Sources of a reply.
const (
	SourceBot      Source = "bot"
	SourceAgent    Source = "agent"
	SourceOperator Source = "operator" // an approved or edited review item, a broadcast
	SourceSystem   Source = "system"   // confirmations hotline must send, e.g. opt-out
)

// Button is a quick reply a platform may render (an inline keyboard,
// buttons under the message); platforms without buttons show the text
// only.
type Button struct {
	Label string `json:"label"`
	Data  string `json:"data"` // what the button sends back, e.g. a menu code
}

// Reply is one message hotline sends to a user.
type Reply struct {
	ID           string    `json:"id"`          // gateway id; also the dedup key on HOTLINE_OUT
	InReplyTo    string    `json:"in_reply_to"` // the inbound message's gateway id, if any
	Platform     string    `json:"platform"`
	Account      string    `json:"account"`
	Conversation string    `json:"conversation"`
	To           Party     `json:"to"`
	Text         string    `json:"text"`
	Lang         string    `json:"lang,omitempty"`
	Dir          string    `json:"dir,omitempty"` // "rtl" for right-to-left texts
	Buttons      []Button  `json:"buttons,omitempty"`
	Media        []Media   `json:"media,omitempty"`
	Source       Source    `json:"source"`
	Agent        string    `json:"agent,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	// Rerouted records the original platform/account when fallback
	// moved a reply to SMS.
	Rerouted string `json:"rerouted,omitempty"`
	// OptOutConfirmation marks the one reply an opted-out user may get:
	// the confirmation of their STOP (or START). Every sender refuses
	// anything else to an opted-out user.
	OptOutConfirmation bool `json:"optout_confirmation,omitempty"`
}

// Validate reports the first field that is wrong.
func (r *Reply) Validate() error {
	if err := validRoute(r.ID, r.Platform, r.Account, r.Conversation); err != nil {
		return err
	}
	if r.To.ID == "" {
		return invalid("to.id", "required")
	}
	if r.Text == "" && len(r.Media) == 0 {
		return invalid("text", "required when there is no media")
	}
	if len(r.Text) > MaxTextLen {
		return invalid("text", "%d bytes, at most %d", len(r.Text), MaxTextLen)
	}
	switch r.Source {
	case SourceBot, SourceAgent, SourceOperator, SourceSystem:
	default:
		return invalid("source", "unknown source %q", r.Source)
	}
	if r.CreatedAt.IsZero() {
		return invalid("created_at", "required")
	}
	return nil
}

// Receipt is what a platform said when it accepted a reply.
type Receipt struct {
	PlatformMsgID string    `json:"platform_msg_id,omitempty"`
	SentAt        time.Time `json:"sent_at"`
	Segments      int       `json:"segments,omitempty"` // SMS parts
}

// Turn is one line of a conversation's recent history.
type Turn struct {
	Role string    `json:"role"` // "user", "bot" or "agent"
	Text string    `json:"text"`
	At   time.Time `json:"at"`
	// Media are the attachments of a user's turn, so an agent's view can
	// show them (fetched through the admin media endpoint); Text already
	// names them for views that cannot.
	Media []Media `json:"media,omitempty"`
}

// Handoff asks a human agent to take over a conversation.
type Handoff struct {
	ID           string    `json:"id"`
	InboundID    string    `json:"inbound_id"` // the message that caused it
	Platform     string    `json:"platform"`
	Account      string    `json:"account"`
	Conversation string    `json:"conversation"`
	User         Party     `json:"user"`
	Priority     Priority  `json:"priority"`
	Reasons      []string  `json:"reasons,omitempty"` // why this priority, for the agent
	Senior       bool      `json:"senior,omitempty"`  // angry user: route to a senior agent
	Tier         string    `json:"tier,omitempty"`    // the user's customer tier (vip, creator), if any
	Lang         string    `json:"lang,omitempty"`
	Deferred     bool      `json:"deferred,omitempty"` // queued during read_only
	CreatedAt    time.Time `json:"created_at"`
	SLADeadline  time.Time `json:"sla_deadline"`
	History      []Turn    `json:"history,omitempty"`
}

// Validate reports the first field that is wrong.
func (h *Handoff) Validate() error {
	if err := validRoute(h.ID, h.Platform, h.Account, h.Conversation); err != nil {
		return err
	}
	if !h.Priority.Valid() {
		return invalid("priority", "%q is not p1, p2 or p3", h.Priority)
	}
	if h.User.ID == "" {
		return invalid("user.id", "required")
	}
	if h.CreatedAt.IsZero() || h.SLADeadline.Before(h.CreatedAt) {
		return invalid("sla_deadline", "must be set and not before created_at")
	}
	return nil
}

// DeliveryState is the outcome a Status event reports.
type DeliveryState string

// Delivery states.
const (
	StateSent      DeliveryState = "sent"      // the platform accepted it
	StateDelivered DeliveryState = "delivered" // the platform reports it reached the device
	StatePassive   DeliveryState = "passive"   // answered inside the webhook response
	StateRetrying  DeliveryState = "retrying"  // failed, will try again
	StateFailed    DeliveryState = "failed"    // failed for good; see Error
	StateRerouted  DeliveryState = "rerouted"  // handed to SMS fallback
	StateDead      DeliveryState = "dead"      // moved to hotline.dead
	StateHeld      DeliveryState = "held"      // waiting in the review queue
	// StateQueued is no event: the delivery view reports it for a reply
	// stored on HOTLINE_OUT, when its sender has it to send.
	StateQueued DeliveryState = "queued"
)

// Status is a delivery status event on hotline.status.<platform>.<account>.
type Status struct {
	ReplyID       string        `json:"reply_id"`
	Platform      string        `json:"platform"`
	Account       string        `json:"account"`
	Conversation  string        `json:"conversation,omitempty"`
	State         DeliveryState `json:"state"`
	Attempt       int           `json:"attempt,omitempty"`
	PlatformMsgID string        `json:"platform_msg_id,omitempty"`
	Error         string        `json:"error,omitempty"`
	At            time.Time     `json:"at"`
}

// Validate reports the first field that is wrong.
func (s *Status) Validate() error {
	if s.ReplyID == "" {
		return invalid("reply_id", "required")
	}
	if err := ValidToken(s.Platform); err != nil {
		return invalid("platform", "%v", err)
	}
	if err := ValidToken(s.Account); err != nil {
		return invalid("account", "%v", err)
	}
	switch s.State {
	case StateSent, StateDelivered, StatePassive, StateRetrying, StateFailed, StateRerouted, StateDead, StateHeld:
	default:
		return invalid("state", "unknown state %q", s.State)
	}
	if s.At.IsZero() {
		return invalid("at", "required")
	}
	return nil
}

// DeadLetter wraps a message that could not be processed, on hotline.dead.
// Data is the original payload, untouched, so an operator can replay it.
type DeadLetter struct {
	Stream     string              `json:"stream"`
	Subject    string              `json:"subject"`
	Sequence   uint64              `json:"sequence"`
	Consumer   string              `json:"consumer"`
	Deliveries uint64              `json:"deliveries"`
	Reason     string              `json:"reason"`
	Headers    map[string][]string `json:"headers,omitempty"`
	Data       []byte              `json:"data"`
	At         time.Time           `json:"at"`
}
