package webchat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"hotline/bus"
	"hotline/envelope"
	"hotline/outbound"
	"hotline/platform"
)

var _ outbound.Sender = (*Adapter)(nil)

// Defaults of Config.
const (
	DefaultAccount       = "demo"
	DefaultMaxTextRunes  = 2000
	DefaultMaxFrameBytes = 16 << 10
	DefaultRatePerMinute = 30
	DefaultBurst         = 10
	DefaultHistoryLimit  = 50
	DefaultMaxSockets    = 10000
	// DefaultSocketsPerAddress leaves room for a household or an office
	// behind one address, not for one client holding an instance.
	DefaultSocketsPerAddress   = 20
	DefaultNewSocketsPerMinute = 30
)

// MinCookieKeyLen is the shortest HMAC key New accepts.
const MinCookieKeyLen = 32

// Timings of a socket.
const (
	writeTimeout = 5 * time.Second
	pingInterval = 30 * time.Second
	pingTimeout  = 10 * time.Second
	// outboxSize bounds the frames waiting for one socket; a socket that
	// falls this far behind is closed and catches up with its next hello.
	outboxSize = 64
	// announceEvery is how often Run asks the Announcer for changes.
	announceEvery = time.Second
	// closeGrace is how long a stop waits for pages to answer the close
	// handshake before it drops their connections.
	closeGrace = time.Second
)

// ErrNotReady is what Ready returns while Run is not subscribed to the
// other instances' notifications.
var ErrNotReady = errors.New("webchat: not ready: Run is not subscribed")

// Config is one web chat account. The settings with mapstructure keys
// are the config's webchat section; the rest the gateway fills in.
type Config struct {
	// Enabled serves the channel; only the config's section reads it.
	Enabled       bool   `mapstructure:"enabled"`
	Account       string `mapstructure:"account"`         // subject-safe account name (envelope.ValidToken); default "demo"
	CookieKey     []byte `mapstructure:"-"`               // HMAC-SHA256 key for the visitor cookie; required, at least 32 bytes
	SecureCookie  bool   `mapstructure:"-"`               // mark the visitor cookie Secure (public URL is https)
	MaxTextRunes  int    `mapstructure:"max_text"`        // default 2000: longer texts get an error frame "too_long"
	MaxFrameBytes int64  `mapstructure:"-"`               // default 16 KiB (and room for MaxTextRunes): conn.SetReadLimit; a bigger frame closes the socket with 1009
	RatePerMinute int    `mapstructure:"rate_per_minute"` // default 30 messages per visitor per minute ...
	Burst         int    `mapstructure:"burst"`           // ... with this burst, default 10
	HistoryLimit  int    `mapstructure:"-"`               // default 50 entries kept per visitor transcript
	// MaxSockets caps the sockets one instance holds; past it new ones
	// are refused with 1013 (try again later). Default 10,000.
	MaxSockets int `mapstructure:"max_sockets"`
	// SocketsPerAddress caps the open sockets of one client address
	// (1013 past it; default 20), NewSocketsPerMinute how many it may
	// open a minute (1008; default 30, with that many at once).
	SocketsPerAddress   int `mapstructure:"sockets_per_address"`
	NewSocketsPerMinute int `mapstructure:"new_sockets_per_minute"`
	// ClientIPHeader names the header a proxy in front sets to the
	// client's address (X-Forwarded-For, X-Real-IP); empty: the remote
	// address. Each address may send addressShare visitors' worth.
	ClientIPHeader string `mapstructure:"client_ip_header"`
	// Labels are the page's own words (input placeholder, buttons,
	// notices) by language code, each a map of webchat_* keys to texts,
	// plus LabelDir "rtl" for a language written right to left. They come
	// from the same catalog as the bot's answers; the languages listed
	// are the ones a browser's preferences are matched against. nil: the
	// page's built-in English.
	Labels map[string]map[string]string `mapstructure:"-"`
	// UploadsPerMinute and UploadBurst are each visitor's budget of
	// attachments (an address gets addressShare visitors' worth).
	// Defaults DefaultUploadsPerMinute and DefaultUploadBurst.
	UploadsPerMinute int `mapstructure:"-"`
	UploadBurst      int `mapstructure:"-"`
}

// withDefaults fills the zero values.
func (c Config) withDefaults() Config {
	if c.Account == "" {
		c.Account = DefaultAccount
	}
	if c.MaxTextRunes == 0 {
		c.MaxTextRunes = DefaultMaxTextRunes
	}
	if c.MaxFrameBytes == 0 {
		c.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if c.RatePerMinute == 0 {
		c.RatePerMinute = DefaultRatePerMinute
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	if c.HistoryLimit == 0 {
		c.HistoryLimit = DefaultHistoryLimit
	}
	if c.MaxSockets == 0 {
		c.MaxSockets = DefaultMaxSockets
	}
	if c.SocketsPerAddress == 0 {
		c.SocketsPerAddress = DefaultSocketsPerAddress
	}
	if c.NewSocketsPerMinute == 0 {
		c.NewSocketsPerMinute = DefaultNewSocketsPerMinute
	}
	if c.UploadsPerMinute == 0 {
		c.UploadsPerMinute = DefaultUploadsPerMinute
	}
	if c.UploadBurst == 0 {
		c.UploadBurst = DefaultUploadBurst
	}
	return c
}

// Validate reports every setting of the config's webchat section that
// is wrong, each starting with its key; nothing when the channel is off.
func (c *Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	return c.settings().Err()
}

func (c *Config) settings() *platform.Problems {
	var p platform.Problems
	if err := envelope.ValidToken(c.Account); err != nil {
		p.Add("account", "%v", err)
	}
	if c.MaxTextRunes < 1 || c.MaxTextRunes > envelope.MaxTextLen/4 {
		p.Add("max_text", "%d is outside 1..%d", c.MaxTextRunes, envelope.MaxTextLen/4)
	}
	for _, n := range []struct {
		key string
		v   int
	}{{"rate_per_minute", c.RatePerMinute}, {"burst", c.Burst}, {"max_sockets", c.MaxSockets},
		{"sockets_per_address", c.SocketsPerAddress}, {"new_sockets_per_minute", c.NewSocketsPerMinute},
		{"history_limit", c.HistoryLimit}, {"uploads_per_minute", c.UploadsPerMinute}, {"upload_burst", c.UploadBurst}} {
		if n.v < 1 {
			p.Add(n.key, "must be at least 1, got %d", n.v)
		}
	}
	if h := c.ClientIPHeader; h != "" && !validHeaderName(h) {
		p.Add("client_ip_header", "%q is not a header name", h)
	}
	return &p
}

// check is Validate for New: the settings, whether enabled or not, and
// what the gateway fills in.
func (c *Config) check() error {
	p := c.settings()
	if len(c.CookieKey) < MinCookieKeyLen {
		p.Add("cookie_key", "%d bytes, at least %d required", len(c.CookieKey), MinCookieKeyLen)
	}
	if c.MaxFrameBytes < 256 {
		p.Add("max_frame_bytes", "must be at least 256, got %d", c.MaxFrameBytes)
	}
	return platform.Prefixed("webchat "+c.Account+": ", p.Err())
}

// validHeaderName reports whether h is an HTTP header field name (RFC 9110
// token characters).
func validHeaderName(h string) bool {
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", c)) {
			return false
		}
	}
	return h != ""
}

// TranscriptsBucket keeps each visitor's transcript, so a reload or a
// reconnect shows what was said and every reply that arrived while the
// visitor was away. It expires with sessions.
const TranscriptsBucket = "hotline_webchat"

// EnsureBuckets creates the buckets the web chat keeps for itself.
func EnsureBuckets(ctx context.Context, b *bus.Bus) error {
	_, err := b.EnsureBucket(ctx, bus.BucketSpec{Name: TranscriptsBucket, Description: "web chat transcripts",
		History: 1, ExpireWithSessions: true})
	return err
}

// Announcer is where the banner text comes from.
type Announcer = platform.Announcer

// Deps are the adapter's collaborators.
type Deps struct {
	Bus       *bus.Bus
	Announcer Announcer // may be nil: no banner
	Logger    *slog.Logger
	Now       func() time.Time // nil: time.Now
}

// Adapter serves the chat page and its sockets for one account, and
// delivers replies to them.
type Adapter struct {
	cfg      Config
	bus      *bus.Bus
	kv       jetstream.KeyValue // the transcripts
	ann      Announcer
	log      *slog.Logger
	now      func() time.Time
	instance string // tells this instance's notifications from others'
	hub      *hub
	ready    atomic.Bool

	visitors  *keyedLimits // messages per visitor
	addresses *keyedLimits // messages per client address
	sockets   *keyedLimits // new sockets per client address

	media           jetstream.ObjectStore // the attachments
	uploadVisitors  *keyedLimits          // attachments per visitor
	uploadAddresses *keyedLimits          // attachments per client address
	readers         chan struct{}         // attachments being read back at once
	sameOrigin      *http.CrossOriginProtection
	langs           *langPicker
	page            []byte // index.html with the labels
}

// New checks cfg and builds the adapter.
func New(cfg Config, deps Deps) (*Adapter, error) {
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if deps.Bus == nil {
		return nil, fmt.Errorf("webchat %s: a bus is required", cfg.Account)
	}
	kv := deps.Bus.KV(TranscriptsBucket)
	if kv == nil {
		return nil, fmt.Errorf("webchat %s: bucket %s is missing (EnsureBuckets creates it)", cfg.Account, TranscriptsBucket)
	}
	media := deps.Bus.ObjectStore(bus.BucketMedia)
	if media == nil {
		return nil, fmt.Errorf("webchat %s: object store %s is missing", cfg.Account, bus.BucketMedia)
	}
	langs, err := newLangPicker(cfg.Labels)
	if err != nil {
		return nil, fmt.Errorf("webchat %s: %w", cfg.Account, err)
	}
	page, err := renderPage(cfg.Labels)
	if err != nil {
		return nil, fmt.Errorf("webchat %s: %w", cfg.Account, err)
	}
	cfg.CookieKey = append([]byte(nil), cfg.CookieKey...)
	a := &Adapter{cfg: cfg, bus: deps.Bus, kv: kv, ann: deps.Announcer, log: deps.Logger, now: deps.Now,
		instance: strings.ToLower(envelope.NewID(time.Now())), hub: newHub(cfg.MaxSockets, cfg.SocketsPerAddress),
		sockets:  newKeyedLimits(cfg.NewSocketsPerMinute, cfg.NewSocketsPerMinute),
		visitors: newKeyedLimits(cfg.RatePerMinute, cfg.Burst), addresses: newKeyedLimits(cfg.RatePerMinute*addressShare, cfg.Burst*addressShare),
		media:          media,
		uploadVisitors: newKeyedLimits(cfg.UploadsPerMinute, cfg.UploadBurst), uploadAddresses: newKeyedLimits(cfg.UploadsPerMinute*addressShare, cfg.UploadBurst*addressShare),
		readers: make(chan struct{}, mediaReaders), sameOrigin: http.NewCrossOriginProtection(), langs: langs, page: page}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.log = a.log.With("platform", envelope.PlatformWebChat, "account", cfg.Account)
	if a.now == nil {
		a.now = time.Now
	}
	return a, nil
}

// Ready reports ErrNotReady until Run has subscribed to notifications.
func (a *Adapter) Ready() error {
	if !a.ready.Load() {
		return ErrNotReady
	}
	return nil
}

// notifySubject is where entries of one visitor are announced to every
// instance. No stream captures hotline.webchat.>: these are core NATS
// messages, at most once, and the transcript is what counts.
func notifySubject(account, visitor string) string {
	return "hotline.webchat.notify." + account + "." + visitor
}

// headerOrigin names the instance that published a notification; it
// already pushed the entry to its own sockets.
const headerOrigin = "Hotline-Webchat-Origin"

// Run subscribes to the other instances' notifications, pushes
// announcement changes to the sockets (checking every second), and when
// ctx ends closes every socket with StatusGoingAway and returns nil.
func (a *Adapter) Run(ctx context.Context) error {
	sub, err := a.bus.Conn().Subscribe(notifySubject(a.cfg.Account, "*"), a.onNotify)
	if err != nil {
		return fmt.Errorf("webchat %s: subscribe: %w", a.cfg.Account, err)
	}
	if err := a.bus.Conn().FlushTimeout(5 * time.Second); err != nil {
		_ = sub.Unsubscribe()
		return fmt.Errorf("webchat %s: subscribe: %w", a.cfg.Account, err)
	}
	a.ready.Store(true)
	a.log.Info("web chat ready")

	tick := time.NewTicker(announceEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			a.pushAnnouncements()
			now := a.now()
			a.visitors.prune(now)
			a.addresses.prune(now)
			a.uploadVisitors.prune(now)
			a.uploadAddresses.prune(now)
		case <-ctx.Done():
			a.ready.Store(false)
			if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) &&
				!errors.Is(err, nats.ErrConnectionDraining) && !errors.Is(err, nats.ErrBadSubscription) {
				a.log.Warn("unsubscribing notifications", "err", err)
			}
			n := a.hub.shutdown(websocket.StatusGoingAway, "server shutting down")
			a.log.Info("web chat stopped", "sockets_closed", n)
			return nil
		}
	}
}

// onNotify hands an entry another instance stored to this instance's
// sockets of the visitor.
func (a *Adapter) onNotify(msg *nats.Msg) {
	if msg.Header.Get(headerOrigin) == a.instance {
		return
	}
	visitor := msg.Subject[strings.LastIndexByte(msg.Subject, '.')+1:]
	e, err := decodeEntry(msg.Data)
	if err != nil {
		a.log.Warn("malformed notification", "subject", msg.Subject, "err", err)
		return
	}
	a.hub.broadcast(visitor, messageFrame(e))
}

// Send appends r to its visitor's transcript (so it is durable before
// Send returns) and pushes it to the visitor's open sockets, here and on
// other instances. A reply already in the transcript is not added twice.
func (a *Adapter) Send(ctx context.Context, r envelope.Reply) (envelope.Receipt, error) {
	visitor := r.To.ID
	if !validVisitorID(visitor) {
		return envelope.Receipt{}, outbound.PermanentError("bad_recipient",
			fmt.Errorf("webchat: recipient %q is not a visitor id", visitor))
	}
	if r.Account != "" && r.Account != a.cfg.Account {
		return envelope.Receipt{}, outbound.PermanentError("wrong_account",
			fmt.Errorf("webchat: reply %s is for account %q, this adapter serves %q", r.ID, r.Account, a.cfg.Account))
	}
	if r.ID == "" {
		return envelope.Receipt{}, outbound.PermanentError("bad_reply", errors.New("webchat: reply without an id"))
	}
	text := replyText(r)
	if strings.TrimSpace(text) == "" {
		return envelope.Receipt{}, outbound.PermanentError("empty_reply", fmt.Errorf("webchat: reply %s has nothing to show", r.ID))
	}
	now := a.now().UTC()
	role := roleBot
	if r.Source == envelope.SourceAgent || r.Agent != "" {
		role = roleAgent
	}
	dir := ""
	if r.Dir == "rtl" {
		dir = "rtl"
	}
	e := entry{ID: r.ID, Role: role, Text: text, Lang: r.Lang, Dir: dir, Buttons: r.Buttons, At: now}
	if _, err := a.appendEntry(ctx, visitor, e); err != nil {
		return envelope.Receipt{}, fmt.Errorf("webchat: storing reply %s: %w", r.ID, err)
	}
	return envelope.Receipt{PlatformMsgID: r.ID, SentAt: now}, nil
}

// replyText is what the page shows of a reply: its text, and a line per
// attachment the page cannot render (its caption and link).
func replyText(r envelope.Reply) string {
	lines := []string{}
	if r.Text != "" {
		lines = append(lines, r.Text)
	}
	for _, m := range r.Media {
		l := strings.TrimSpace(strings.Join(nonEmpty(m.Caption, m.URL), " "))
		if l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// cookieKeyName is the hotline_tokens key of an account's cookie key.
func cookieKeyName(account string) string { return "webchat." + account + ".cookie-key" }

// CookieKey returns the account's visitor cookie key, creating a random
// 32-byte one in the hotline_tokens bucket the first time, so every
// instance and every restart sign and check cookies with the same key.
func CookieKey(ctx context.Context, b *bus.Bus, account string) ([]byte, error) {
	if err := envelope.ValidToken(account); err != nil {
		return nil, fmt.Errorf("webchat: cookie key: account: %w", err)
	}
	kv := b.KV(bus.BucketTokens)
	if kv == nil {
		return nil, fmt.Errorf("webchat: cookie key: bucket %s is missing", bus.BucketTokens)
	}
	key, err := bus.SharedSecret(ctx, kv, cookieKeyName(account), MinCookieKeyLen)
	if err != nil {
		return nil, fmt.Errorf("webchat: cookie key: %w", err)
	}
	return key, nil
}
