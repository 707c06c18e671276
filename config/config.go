// Package config loads hotline's configuration: defaults, then an optional
// YAML file, then HOTLINE_* environment variables, into plain structs that
// the rest of the program receives explicitly. Nothing else reads viper.
package config

import (
	"time"

	"hotline/envelope"
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
	WebChat  WebChat  `mapstructure:"webchat"`
	Accounts Accounts `mapstructure:"accounts"`
}

// SMS bounds the verification codes phone binding texts: an SMS gateway
// that texts any number on request is a tool for toll fraud.
type SMS struct {
	// VerifyRegions are the countries (ISO 3166: "CN") codes may go to;
	// empty: the default_region of fallback.sms_account, or anywhere
	// when that has none.
	VerifyRegions []string `mapstructure:"verify_regions"`
	// VerifyPerAddressHour caps codes per client address per hour (the
	// web chat's visitors); VerifyPerHour caps them for the gateway.
	VerifyPerAddressHour int `mapstructure:"verify_per_address_hour"`
	VerifyPerHour        int `mapstructure:"verify_per_hour"`
}

// WebChat configures the web chat channel served at /chat/ on the public
// listener: the credential-free way to talk to the bot, and a real
// channel for a support site.
type WebChat struct {
	Enabled bool   `mapstructure:"enabled"`
	Account string `mapstructure:"account"`
	// RatePerMinute and Burst bound what one visitor may send.
	RatePerMinute int `mapstructure:"rate_per_minute"`
	Burst         int `mapstructure:"burst"`
	// MaxText is the longest message a visitor may send, in characters.
	MaxText int `mapstructure:"max_text"`
	// MaxSockets caps the open chats one instance holds.
	MaxSockets int `mapstructure:"max_sockets"`
	// SocketsPerAddress caps the open chats of one client address, and
	// NewSocketsPerMinute how many it may open a minute.
	SocketsPerAddress   int `mapstructure:"sockets_per_address"`
	NewSocketsPerMinute int `mapstructure:"new_sockets_per_minute"`
	// ClientIPHeader is the header a proxy in front sets to the client's
	// address (X-Forwarded-For, X-Real-IP); empty: the remote address.
	ClientIPHeader string `mapstructure:"client_ip_header"`
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
	// Workers is how many conversations one instance routes at once.
	Workers int `mapstructure:"workers"`
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

// Accounts lists the platform accounts hotline serves.
type Accounts struct {
	WeChat   []WeChatAccount   `mapstructure:"wechat"`
	Weibo    []WeiboAccount    `mapstructure:"weibo"`
	Telegram []TelegramAccount `mapstructure:"telegram"`
	SMS      []SMSAccount      `mapstructure:"sms"`
}

// AccountCommon holds what every account may set.
type AccountCommon struct {
	Name string `mapstructure:"name"`
	// APIBase points the adapter at another API root (a local fake,
	// staging, a compatible provider).
	APIBase string `mapstructure:"api_base"`
	// ReplyWindow is how long a webhook waits for the router's answer
	// to reply inside the HTTP response.
	ReplyWindow time.Duration `mapstructure:"reply_window"`
	// ReplayWindow is how old a signed timestamp may be; 0 turns the
	// check off.
	ReplayWindow time.Duration `mapstructure:"replay_window"`
	// SendRate caps sends per second for the account; 0 takes the
	// platform's documented limit.
	SendRate float64 `mapstructure:"send_rate"`
}

// WeChatAccount is one WeChat official account.
type WeChatAccount struct {
	AccountCommon  `mapstructure:",squash"`
	AppID          string          `mapstructure:"app_id"`
	AppSecret      envelope.Secret `mapstructure:"app_secret"`
	Token          envelope.Secret `mapstructure:"token"`
	EncodingAESKey envelope.Secret `mapstructure:"encoding_aes_key"`
	// PreviousEncodingAESKey is the key before a rotation, tried when
	// the current one fails, as WeChat advises while a change spreads.
	PreviousEncodingAESKey envelope.Secret `mapstructure:"previous_encoding_aes_key"`
}

// WeiboAccount is one Weibo-style fan-service account.
type WeiboAccount struct {
	AccountCommon `mapstructure:",squash"`
	AppKey        string          `mapstructure:"app_key"`
	AppSecret     envelope.Secret `mapstructure:"app_secret"`
	AccessToken   envelope.Secret `mapstructure:"access_token"`
}

// TelegramAccount is one Telegram bot.
type TelegramAccount struct {
	AccountCommon `mapstructure:",squash"`
	Token         envelope.Secret `mapstructure:"token"`
	Mode          string          `mapstructure:"mode"` // webhook or poll
	WebhookSecret envelope.Secret `mapstructure:"webhook_secret"`
}

// SMSAccount is one SMS provider account or GSM modem.
type SMSAccount struct {
	AccountCommon `mapstructure:",squash"`
	Provider      string          `mapstructure:"provider"` // twilio or modem
	AccountSID    string          `mapstructure:"account_sid"`
	AuthToken     envelope.Secret `mapstructure:"auth_token"`
	From          string          `mapstructure:"from"`
	// WhatsAppFrom is the WhatsApp sender ("whatsapp:+15550100") for
	// users who write on WhatsApp through the same Twilio account; empty
	// means from on WhatsApp. Only for provider twilio.
	WhatsAppFrom  string `mapstructure:"whatsapp_from"`
	Device        string `mapstructure:"device"`
	Baud          int    `mapstructure:"baud"`
	DefaultRegion string `mapstructure:"default_region"`
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
		},
		Fallback: Fallback{AutoSMSFallback: true, SMSAccount: "sms-main", RateLimit: RateLimit{
			PerSenderEvery: 3 * time.Second, PerSenderBurst: 5, GlobalPerSecond: 50, GlobalBurst: 100, NoticeWindow: time.Minute,
		}},
		SMS:      SMS{VerifyRegions: []string{}, VerifyPerAddressHour: 3, VerifyPerHour: 100},
		Outbound: Outbound{MaxAttempts: 8, MaxAge: 24 * time.Hour, BreakerFailures: 5, BreakerProbe: time.Second, BreakerOpen: 8 * time.Second, HoldRecheck: 30 * time.Second},
		WebChat: WebChat{Enabled: true, Account: "demo", RatePerMinute: 30, Burst: 10, MaxText: 2000, MaxSockets: 10000,
			SocketsPerAddress: 20, NewSocketsPerMinute: 30},
	}
}

// Per-account defaults, applied to each entry for keys it does not set.
const (
	DefaultReplyWindow  = 4 * time.Second // WeChat waits 5 s for a passive reply
	DefaultReplayWindow = 5 * time.Minute
	DefaultBaud         = 115200
	DefaultTelegramMode = "webhook"
)
