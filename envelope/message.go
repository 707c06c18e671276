package envelope

import (
	"errors"
	"fmt"
	"time"
)

// Kind says what an inbound message carries.
type Kind string

// Kinds of inbound message. Raw keeps a platform message hotline does not
// understand yet instead of dropping it.
const (
	KindText     Kind = "text"
	KindImage    Kind = "image"
	KindVoice    Kind = "voice"
	KindVideo    Kind = "video"
	KindFile     Kind = "file"
	KindLocation Kind = "location"
	KindLink     Kind = "link"
	KindContact  Kind = "contact"
	KindEvent    Kind = "event"
	KindRaw      Kind = "raw"
)

func (k Kind) valid() bool {
	switch k {
	case KindText, KindImage, KindVoice, KindVideo, KindFile, KindLocation, KindLink, KindContact, KindEvent, KindRaw:
		return true
	}
	return false
}

// Events an adapter may report; platforms' own names map onto these.
const (
	EventSubscribe   = "subscribe"   // follow, /start, first visit
	EventUnsubscribe = "unsubscribe" // unfollow, bot blocked
	EventMenu        = "menu"        // a menu button; Event.Key is the menu code
	EventView        = "view"        // a menu link opened
	EventScan        = "scan"        // a QR code scanned
	EventLocation    = "location"    // a location report
	EventMention     = "mention"
)

// Party is one side of a conversation as the platform knows it.
type Party struct {
	// ID is the platform's own user or account id, in whatever form the
	// platform gives it (an opaque per-app id, a numeric chat id, an
	// E.164 number for SMS).
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"` // E.164, when known
}

// Media references an attachment kept by the platform; hotline stores the
// reference, never the bytes.
type Media struct {
	Kind       Kind   `json:"kind"`
	URL        string `json:"url,omitempty"`
	PlatformID string `json:"platform_id,omitempty"` // the platform's file id, fetched through its API
	MIME       string `json:"mime,omitempty"`
	Caption    string `json:"caption,omitempty"`
	FileName   string `json:"file_name,omitempty"`
	Size       int64  `json:"size,omitempty"` // bytes, when the platform says
}

// Location is a point a user shared: a pin, or a venue with its name
// (Label) and street address.
type Location struct {
	Lat     float64 `json:"lat"`
	Lon     float64 `json:"lon"`
	Label   string  `json:"label,omitempty"`
	Address string  `json:"address,omitempty"`
}

// Contact is a person's card a user shared.
type Contact struct {
	Name string `json:"name,omitempty"`
	// Phone is E.164 when the adapter could normalize it (with the
	// account's region for a national number), else exactly as sent:
	// never a guess such as a bare "+" before a national number.
	Phone  string `json:"phone,omitempty"`
	UserID string `json:"user_id,omitempty"` // the platform's id, when the contact has one
}

// Link is a web page a user shared.
type Link struct {
	URL         string `json:"url"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

// Event is a platform event such as a follow or a menu click.
type Event struct {
	Name string `json:"name"`
	Key  string `json:"key,omitempty"` // menu code, QR scene
}

// Message is one thing a user sent, normalized. Adapters build it, the
// router reads it.
type Message struct {
	ID            string    `json:"id"` // gateway id (ULID)
	Platform      string    `json:"platform"`
	Account       string    `json:"account"`
	PlatformMsgID string    `json:"platform_msg_id"` // the platform's id; the dedup key
	Conversation  string    `json:"conversation"`    // platform:account:user
	From          Party     `json:"from"`
	To            Party     `json:"to"`
	Kind          Kind      `json:"kind"`
	Text          string    `json:"text,omitempty"`
	Media         []Media   `json:"media,omitempty"`
	Location      *Location `json:"location,omitempty"`
	Contact       *Contact  `json:"contact,omitempty"`
	Link          *Link     `json:"link,omitempty"`
	Event         *Event    `json:"event,omitempty"`
	LangHint      string    `json:"lang_hint,omitempty"` // BCP 47 from the platform
	ReceivedAt    time.Time `json:"received_at"`
	// Meta holds platform details worth keeping that have no field
	// (a chat's type, the QR code a user scanned), never secrets.
	Meta map[string]string `json:"meta,omitempty"`
}

// MetaClientAddr is the Meta key of the address a message came from. An
// adapter sets it on what a visitor types when the gateway itself faces
// the user, who is then anonymous, with no platform account behind them:
// the router gives each address a verification-code budget and asks such
// a visitor to say something before it texts a code. Adapters of
// platforms that relay their users' messages never set it.
const MetaClientAddr = "client_addr"

// MaxTextLen bounds the text of a message or reply in bytes. No platform
// sends more than a few KB; anything larger is malformed or an attack.
const MaxTextLen = 64 << 10

// ErrInvalid is wrapped by every Validate error.
var ErrInvalid = errors.New("envelope: invalid")

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

// validRoute checks the fields every envelope shares.
func validRoute(id, platform, account, conversation string) error {
	if _, err := ParseIDTime(id); err != nil {
		return invalid("id", "%v", err)
	}
	if err := ValidToken(platform); err != nil {
		return invalid("platform", "%v", err)
	}
	if err := ValidToken(account); err != nil {
		return invalid("account", "%v", err)
	}
	prefix := platform + ":" + account + ":"
	if len(conversation) <= len(prefix) || conversation[:len(prefix)] != prefix {
		return invalid("conversation", "%q does not start with %q and a user", conversation, prefix)
	}
	return nil
}

// Validate reports the first field that is wrong, by its JSON name.
func (m *Message) Validate() error {
	if err := validRoute(m.ID, m.Platform, m.Account, m.Conversation); err != nil {
		return err
	}
	if m.PlatformMsgID == "" {
		return invalid("platform_msg_id", "required (it is the dedup key)")
	}
	if m.From.ID == "" {
		return invalid("from.id", "required")
	}
	if !m.Kind.valid() {
		return invalid("kind", "unknown kind %q", m.Kind)
	}
	if len(m.Text) > MaxTextLen {
		return invalid("text", "%d bytes, at most %d", len(m.Text), MaxTextLen)
	}
	if m.Kind == KindEvent && (m.Event == nil || m.Event.Name == "") {
		return invalid("event.name", "required when kind is event")
	}
	if m.Kind == KindLocation && m.Location == nil {
		return invalid("location", "required when kind is location")
	}
	if m.ReceivedAt.IsZero() {
		return invalid("received_at", "required")
	}
	return nil
}
