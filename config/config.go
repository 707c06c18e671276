// Package config loads hotline's configuration: defaults, then an optional
// YAML file, then HOTLINE_* environment variables, into plain structs that
// the rest of the program receives explicitly. Nothing else reads viper.
package config

import (
	"time"

	"hotline/envelope"
	"hotline/platform"
)

// Config is the whole configuration. The mapstructure tags are the YAML
// keys; the environment variable of a key is HOTLINE_ followed by the key
// in capitals with dots as underscores (nats.store_dir: HOTLINE_NATS_STORE_DIR).
type Config struct {
	HTTP     HTTP     `mapstructure:"http"`
	NATS     NATS     `mapstructure:"nats"`
	Log      Log      `mapstructure:"log"`
	Router   Router   `mapstructure:"router"`
	Fallback Fallback `mapstructure:"fallback"`
	SMS      SMS      `mapstructure:"sms"`
	Outbound Outbound `mapstructure:"outbound"`
	// Accounts are the platform accounts, each decoded by its platform
	// from an entry of accounts.<platform> (or from the platform's own
	// section, for a platform.Platform that is Single), in the order of
	// Options.Platforms.
	Accounts []Account `mapstructure:"-"`
}

// Account is one platform account's settings as its platform decoded
// them.
type Account struct {
	// Key is where the entry is in the configuration:
	// accounts.<platform>[0], or a single platform's section.
	Key      string
	Platform platform.Platform
	Settings platform.Config
}

// Enabled reports whether the account is to be served (a section with
// enabled: false is decoded, validated only when on, and not served).
func (a Account) Enabled() bool {
	s, ok := a.Settings.(platform.Switchable)
	return !ok || s.IsEnabled()
}

// SMS bounds the verification codes phone binding texts: an SMS gateway
// that texts any number on request is a tool for toll fraud.
type SMS struct {
	// VerifyRegions are the countries (ISO 3166: "CN") codes may go to;
	// empty: the default_region of fallback.sms_account, or anywhere
	// when that has none.
	VerifyRegions []string `mapstructure:"verify_regions"`
	// VerifyPerAddressHour caps codes per client address per hour (for
	// visitors of channels the gateway serves itself, where anyone can
	// come back as someone new); VerifyPerHour caps them for the gateway.
	VerifyPerAddressHour int `mapstructure:"verify_per_address_hour"`
	VerifyPerHour        int `mapstructure:"verify_per_hour"`
}

// HTTP configures the public and the admin listener.
type HTTP struct {
	Listen      string          `mapstructure:"listen"`
	AdminListen string          `mapstructure:"admin_listen"`
	AdminToken  envelope.Secret `mapstructure:"admin_token"`
	PublicURL   string          `mapstructure:"public_url"`
	// MaxBodyBytes caps every request body; platforms send a few KB.
	MaxBodyBytes int64 `mapstructure:"max_body_bytes"`
	// ShutdownTimeout bounds how long a stop waits for requests in
	// flight and for consumers to drain.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
}

// NATS says where the bus is.
type NATS struct {
	// URL may carry credentials (nats://user:pass@host), so it is held
	// as a Secret and never printed whole.
	URL        envelope.Secret `mapstructure:"url"`
	StoreDir   string          `mapstructure:"store_dir"`
	Listen     string          `mapstructure:"listen"`
	Replicas   int             `mapstructure:"replicas"`
	SessionTTL time.Duration   `mapstructure:"session_ttl"`
	// SeenTTL is how long an inbound message's platform id is
	// remembered, so a webhook replayed after the streams' duplicate
	// window is recognized and not stored again.
	SeenTTL time.Duration `mapstructure:"seen_ttl"`
	Streams Streams       `mapstructure:"streams"`
}

// Streams holds the limits of each stream.
type Streams struct {
	In      StreamLimits `mapstructure:"in"`
	Out     StreamLimits `mapstructure:"out"`
	Handoff StreamLimits `mapstructure:"handoff"`
	Review  StreamLimits `mapstructure:"review"`
	Status  StreamLimits `mapstructure:"status"`
	Dead    StreamLimits `mapstructure:"dead"`
	Audit   StreamLimits `mapstructure:"audit"`
}

// StreamLimits bounds one stream; max_bytes 0 means no byte limit.
type StreamLimits struct {
	MaxAge   time.Duration `mapstructure:"max_age"`
	MaxBytes int64         `mapstructure:"max_bytes"`
}

// Log configures logging; the --log-format and --log-level flags override it.
type Log struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error
	Format string `mapstructure:"format"` // auto (text on a terminal, else JSON), text, json
}

// Router configures the router.
type Router struct {
	DefaultLang string            `mapstructure:"default_lang"`
	FAQFile     string            `mapstructure:"faq_file"`
	Menu        map[string]string `mapstructure:"menu"`
	// TextsDir holds YAML files that override or add to the built-in
	// texts (one file per language, as in router/data/texts).
	TextsDir string `mapstructure:"texts_dir"`
	// HandoffDailyLimit caps agent handoffs per user per day; 0: none.
	HandoffDailyLimit int        `mapstructure:"handoff_daily_limit"`
	Translator        Translator `mapstructure:"translator"`
	// Workers is how many conversations are routed at once in each
	// partition of HOTLINE_IN this instance owns.
	Workers int `mapstructure:"workers"`
	// Agents are the people who answer handoffs; `hotline handoff next`
	// gives each the most urgent ticket in a language they speak, and
	// p1 and angry users to senior agents first.
	Agents []Agent `mapstructure:"agents"`
	// TierLookup asks the service's own system for a user's tier.
	TierLookup TierLookup `mapstructure:"tier_lookup"`
	// Tiers are the customer tiers users may have (hotline tier set,
	// tier_lookup): a handoff is raised Raise priority levels and held
	// to the tier's first-response targets.
	Tiers map[string]Tier `mapstructure:"tiers"`
}

// Tier is one customer tier.
type Tier struct {
	Raise int `mapstructure:"raise"`
	// SLA holds first-response targets by priority (p1, p2, p3); a
	// missing one is the standard target.
	SLA map[string]time.Duration `mapstructure:"sla"`
}

// TierLookup is an HTTP endpoint answering GET ?conversation=&platform=
// &account=&user= with {"tier": "vip"}.
type TierLookup struct {
	URL     string          `mapstructure:"url"`
	Token   envelope.Secret `mapstructure:"token"`
	Cache   time.Duration   `mapstructure:"cache"`
	Timeout time.Duration   `mapstructure:"timeout"`
}

// Agent is one person answering handoffs.
type Agent struct {
	Name      string   `mapstructure:"name"`
	Languages []string `mapstructure:"languages"` // empty: any
	Senior    bool     `mapstructure:"senior"`
}

// Translator is a LibreTranslate-compatible API for help in languages
// without texts.
type Translator struct {
	URL    string          `mapstructure:"url"`
	APIKey envelope.Secret `mapstructure:"api_key"`
}

// Fallback configures degraded modes.
type Fallback struct {
	AutoSMSFallback bool      `mapstructure:"auto_sms_fallback"`
	SMSAccount      string    `mapstructure:"sms_account"`
	RateLimit       RateLimit `mapstructure:"rate_limit"`
}

// RateLimit sizes the token buckets of rate_limited mode.
type RateLimit struct {
	// PerSenderEvery is how often one conversation may send, on average.
	PerSenderEvery time.Duration `mapstructure:"per_sender_every"`
	PerSenderBurst int           `mapstructure:"per_sender_burst"`
	// GlobalPerSecond is what one platform account accepts in all.
	GlobalPerSecond float64 `mapstructure:"global_per_second"`
	GlobalBurst     int     `mapstructure:"global_burst"`
	// NoticeWindow is how long a user over the limit hears nothing
	// after the one "busy" notice.
	NoticeWindow time.Duration `mapstructure:"notice_window"`
}

// Outbound configures the delivery loops.
type Outbound struct {
	// MaxAttempts failed sends before a reply goes to dead letters;
	// waiting out an open circuit does not count.
	MaxAttempts int `mapstructure:"max_attempts"`
	// MaxAge is how long a reply may wait in all, outages included.
	MaxAge time.Duration `mapstructure:"max_age"`
	// BreakerFailures consecutive failures open an account's circuit.
	// A probe goes through BreakerProbe after it opened, and after each
	// failed probe twice as long, up to BreakerOpen: the last held reply
	// leaves at most BreakerOpen after the platform recovered.
	BreakerFailures int           `mapstructure:"breaker_failures"`
	BreakerProbe    time.Duration `mapstructure:"breaker_probe"`
	BreakerOpen     time.Duration `mapstructure:"breaker_open"`
	// HoldRecheck is how often a reply held by sms_fallback (its user
	// has no bound phone) checks whether the mode has cleared.
	HoldRecheck time.Duration `mapstructure:"hold_recheck"`
}

// Default returns the configuration hotline runs with when nothing is set:
// an embedded NATS server and no platform accounts.
func Default() Config {
	return Config{
		HTTP: HTTP{
			Listen:          ":8080",
			AdminListen:     "127.0.0.1:8081",
			MaxBodyBytes:    1 << 20,
			ShutdownTimeout: 15 * time.Second,
		},
		NATS: NATS{
			StoreDir:   "data/nats",
			Replicas:   1,
			SessionTTL: 30 * 24 * time.Hour,
			SeenTTL:    48 * time.Hour,
			Streams: Streams{
				In:      StreamLimits{MaxAge: 7 * 24 * time.Hour},
				Out:     StreamLimits{MaxAge: 7 * 24 * time.Hour},
				Handoff: StreamLimits{MaxAge: 30 * 24 * time.Hour},
				Review:  StreamLimits{MaxAge: 14 * 24 * time.Hour},
				Status:  StreamLimits{MaxAge: 3 * 24 * time.Hour},
				Dead:    StreamLimits{MaxAge: 30 * 24 * time.Hour},
				Audit:   StreamLimits{MaxAge: 365 * 24 * time.Hour},
			},
		},
		Log: Log{Level: "info", Format: "auto"},
		Router: Router{
			DefaultLang: "zh",
			Menu:        map[string]string{"1": "account_security", "2": "payments", "3": "live_stream"},
			Workers:     64,
			Agents:      []Agent{},
			TierLookup:  TierLookup{Cache: 5 * time.Minute, Timeout: 2 * time.Second},
			Tiers: map[string]Tier{
				"vip":     {Raise: 1, SLA: map[string]time.Duration{"p1": 15 * time.Second, "p2": 2 * time.Minute, "p3": 30 * time.Minute}},
				"creator": {Raise: 1, SLA: map[string]time.Duration{}},
			},
		},
		Fallback: Fallback{AutoSMSFallback: true, SMSAccount: "sms-main", RateLimit: RateLimit{
			PerSenderEvery: 3 * time.Second, PerSenderBurst: 5, GlobalPerSecond: 50, GlobalBurst: 100, NoticeWindow: time.Minute,
		}},
		SMS:      SMS{VerifyRegions: []string{}, VerifyPerAddressHour: 3, VerifyPerHour: 100},
		Outbound: Outbound{MaxAttempts: 8, MaxAge: 24 * time.Hour, BreakerFailures: 5, BreakerProbe: time.Second, BreakerOpen: 8 * time.Second, HoldRecheck: 30 * time.Second},
	}
}
