// Package platform is the contract between the gateway and the adapter of
// each messaging platform: what an adapter is (a Sender, and optionally
// webhooks, a background loop and a readiness check), and the descriptor
// that tells the wiring everything else about a platform — its name on
// the bus, the label users see, its documented send limits, its config
// section and how to open one account of it.
//
// A new platform is a package with a Platform() function returning its
// descriptor, and one line in the list the binary is built with
// (platform/builtin). Nothing else in hotline names a platform:
// config decodes each account entry into the type the descriptor gives,
// the gateway opens it, mounts what it offers and runs a delivery loop
// for it. docs/adding-a-platform.md walks through it.
package platform

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"hotline/bus"
	"hotline/envelope"
)

// Sender delivers one reply to its platform. Every adapter is one; the
// delivery loop (package outbound) calls it, and a failure should be an
// *outbound.SendError so the loop knows whether to retry.
type Sender interface {
	Send(ctx context.Context, r envelope.Reply) (envelope.Receipt, error)
}

// Webhooks is an adapter that receives on the public listener. Patterns
// are net/http ServeMux patterns and must start with /webhooks/<name>/
// or be the adapter's own pages.
type Webhooks interface {
	Routes() map[string]http.Handler
}

// Runner is an adapter with work of its own (long polling, webhook
// registration, notifications): Run returns when ctx ends.
type Runner interface {
	Run(ctx context.Context) error
}

// Readier is an adapter that is not ready at once (its credentials are
// checked by a first request): /readyz reports its error until then.
type Readier interface {
	Ready() error
}

// Health is an adapter with more to say in the status report than ready
// or not: a modem's signal and registration.
type Health interface {
	Health() map[string]string
}

// BodyLimits is a Webhooks adapter whose routes take bodies larger than
// the listener's http.max_body_bytes (uploads): route pattern to cap.
type BodyLimits interface {
	BodyLimits() map[string]int64
}

// Page is an adapter that serves a page people open in a browser (the
// web chat): the gateway logs its address at start-up.
type Page interface {
	Page() string
}

// Limits are a platform's documented send limits: per account and per
// recipient, each a rate per second and a burst.
type Limits struct {
	PerSecond      float64
	Burst          int
	PerRecipient   float64
	RecipientBurst int
}

// Platform describes one platform, or one provider of a platform that
// has several (SMS through a provider's API or a modem share the "sms" name and
// section, told apart by the entry's provider key).
type Platform struct {
	// Name is the platform's subject token (hotline.in.<name>.<account>),
	// the first part of a mode scope and of a conversation key.
	Name string
	// Provider tells providers of one Name apart; empty for most. An
	// entry names its provider with the provider key, which the
	// provider's settings decode too.
	Provider string
	// Label names the platform to people: an SMS rerouted from it starts
	// "[<Label>] ", and the console shows it.
	Label string
	// Section is the config key the accounts are under: a list
	// ("accounts.<name>") or, with Single, one top-level entry.
	Section string
	Single  bool
	// Attached is a platform whose accounts are devices on this host (a
	// modem on a serial port): an account's delivery loop runs on the
	// instance that has it, instead of wherever the instances sharing
	// NATS would put it.
	Attached bool
	// Limits are the documented send limits, used unless an account sets
	// send_rate.
	Limits Limits
	// NewConfig returns a pointer to an account's settings with every
	// default filled in; config decodes the entry onto it, so a key the
	// entry sets wins even when it is zero.
	NewConfig func() Config
	// Open builds one account's adapter from its decoded, validated
	// settings. It makes no request to the platform: an outage there must
	// not stop the gateway from starting.
	Open func(ctx context.Context, env Env, cfg Config) (Sender, error)
}

// Config is one account's settings, decoded from its config entry.
type Config interface {
	// AccountName is the account's name: a subject token, unique within
	// its platform.
	AccountName() string
	// Validate returns nil or every problem, each an error whose text
	// starts with the entry's key ("token: required"), so config can
	// name it in full (accounts.<name>[0].token: required).
	Validate() error
}

// Switchable is a Config that can be turned off (enabled: false).
type Switchable interface {
	IsEnabled() bool
}

// RateSetter is a Config with its own send rate (send_rate); 0 keeps the
// platform's Limits.
type RateSetter interface {
	AccountSendRate() float64
}

// Regional is a Config with a home country (ISO 3166, "CN"): numbers
// without a country code are read as from there, and phone verification
// codes are sent there by default.
type Regional interface {
	Region() string
}

// Env is what the gateway gives every adapter it opens.
type Env struct {
	Bus      *bus.Bus
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// PublicURL is how platforms reach this gateway (http.public_url),
	// "" when not set.
	PublicURL string
	// Announcer gives the banner of the modes in force for an account of
	// this platform; never nil.
	Announcer Announcer
	// Labels returns the catalog's texts whose keys start with prefix,
	// by language code, plus LabelDir "rtl" for a language written right
	// to left: an adapter's own words in every language the bot speaks.
	Labels func(prefix string) map[string]map[string]string
}

// LabelDir is the key Env.Labels sets to "rtl" for a right-to-left
// language.
const LabelDir = "dir"

// Announcer picks the announcement of the modes in force.
type Announcer interface {
	// Announcement returns the text for account in lang (BCP 47, may be
	// "") and its direction ("rtl" or ""), or "" when there is none.
	Announcement(account, lang string) (text, dir string)
}

// Key names one account of a platform.
type Key struct{ Platform, Account string }

func (k Key) String() string { return k.Platform + "/" + k.Account }

// Opener adapts an adapter's typed constructor to Platform.Open: the
// settings config decoded are a *C, made by the platform's NewConfig.
func Opener[C any, PC interface {
	*C
	Config
}](name string, open func(ctx context.Context, env Env, cfg PC) (Sender, error)) func(context.Context, Env, Config) (Sender, error) {
	return func(ctx context.Context, env Env, c Config) (Sender, error) {
		cfg, ok := c.(PC)
		if !ok {
			return nil, fmt.Errorf("%s: settings are %T, want %T", name, c, cfg)
		}
		return open(ctx, env, cfg)
	}
}
