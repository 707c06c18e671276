package webchat

import (
	"context"
	"crypto/rand"
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

// Config is one web chat account.
type Config struct {
	Account       string // subject-safe account name (envelope.ValidToken); default "demo"
	CookieKey     []byte // HMAC-SHA256 key for the visitor cookie; required, at least 32 bytes
	SecureCookie  bool   // mark the visitor cookie Secure (public URL is https)
	MaxTextRunes  int    // default 2000: longer texts get an error frame "too_long"
	MaxFrameBytes int64  // default 16 KiB: conn.SetReadLimit; a bigger frame closes the socket with 1009
	RatePerMinute int    // default 30 messages per visitor per minute ...
	Burst         int    // ... with this burst, default 10
	HistoryLimit  int    // default 50 entries kept per visitor transcript
	// MaxSockets caps the sockets one instance holds; past it new ones
	// are refused with 1013 (try again later). Default 10,000.
	MaxSockets int
	// SocketsPerAddress caps the open sockets of one client address
	// (1013 past it; default 20), NewSocketsPerMinute how many it may
	// open a minute (1008; default 30, with that many at once).
	SocketsPerAddress   int
	NewSocketsPerMinute int
	// ClientIPHeader names the header a proxy in front sets to the
	// client's address (X-Forwarded-For, X-Real-IP); empty: the remote
	// address. Each address may send addressShare visitors' worth.
	ClientIPHeader string
	// Labels are the page's own words (input placeholder, buttons,
	// notices) by language code, each a map of webchat_* keys to texts,
	// plus LabelDir "rtl" for a language written right to left. They come
	// from the same catalog as the bot's answers; the languages listed
	// are the ones a browser's preferences are matched against. nil: the
	// page's built-in English.
	Labels map[string]map[string]string
	// UploadsPerMinute and UploadBurst are each visitor's budget of
	// attachments (an address gets addressShare visitors' worth).
	// Defaults DefaultUploadsPerMinute and DefaultUploadBurst.
	UploadsPerMinute int
	UploadBurst      int
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

// Validate reports the first setting that is wrong. New calls it after
// filling defaults, so zero values are fine there.
func (c *Config) Validate() error {
	if err := envelope.ValidToken(c.Account); err != nil {
		return fmt.Errorf("webchat: account: %w", err)
	}
	if len(c.CookieKey) < MinCookieKeyLen {
		return fmt.Errorf("webchat %s: cookie_key: %d bytes, at least %d required", c.Account, len(c.CookieKey), MinCookieKeyLen)
	}
	switch {
	case c.MaxTextRunes < 1:
		return fmt.Errorf("webchat %s: max_text_runes must be positive, got %d", c.Account, c.MaxTextRunes)
	case c.MaxFrameBytes < 256:
		return fmt.Errorf("webchat %s: max_frame_bytes must be at least 256, got %d", c.Account, c.MaxFrameBytes)
	case c.RatePerMinute < 1:
		return fmt.Errorf("webchat %s: rate_per_minute must be positive, got %d", c.Account, c.RatePerMinute)
	case c.Burst < 1:
		return fmt.Errorf("webchat %s: burst must be positive, got %d", c.Account, c.Burst)
	case c.HistoryLimit < 1:
		return fmt.Errorf("webchat %s: history_limit must be positive, got %d", c.Account, c.HistoryLimit)
	case c.MaxSockets < 1:
		return fmt.Errorf("webchat %s: max_sockets must be positive, got %d", c.Account, c.MaxSockets)
	case c.SocketsPerAddress < 1 || c.NewSocketsPerMinute < 1:
		return fmt.Errorf("webchat %s: sockets per address and new sockets per minute must be positive, got %d and %d",
			c.Account, c.SocketsPerAddress, c.NewSocketsPerMinute)
	case c.UploadsPerMinute < 1 || c.UploadBurst < 1:
		return fmt.Errorf("webchat %s: uploads per minute and upload burst must be positive, got %d and %d",
			c.Account, c.UploadsPerMinute, c.UploadBurst)
	}
	return nil
}

// Announcer is where the banner text comes from.
type Announcer interface {
	// Announcement returns the active announcement for the web chat account in lang (BCP 47, may be ""), and its direction ("rtl" or ""), or "" when none.
	Announcement(account, lang string) (text, dir string)
}

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
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Bus == nil {
		return nil, fmt.Errorf("webchat %s: a bus is required", cfg.Account)
	}
	kv := deps.Bus.KV(bus.BucketWebChat)
	if kv == nil {
		return nil, fmt.Errorf("webchat %s: bucket %s is missing", cfg.Account, bus.BucketWebChat)
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
	name := cookieKeyName(account)
	for attempt := 0; attempt < 3; attempt++ {
		key := make([]byte, MinCookieKeyLen)
		_, _ = rand.Read(key) // never fails (it panics instead)
		if _, err := kv.Create(ctx, name, key); err == nil {
			return key, nil
		} else if !errors.Is(err, jetstream.ErrKeyExists) {
			return nil, fmt.Errorf("webchat: cookie key: create: %w", err)
		}
		e, err := kv.Get(ctx, name)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted between our Create and Get
		}
		if err != nil {
			return nil, fmt.Errorf("webchat: cookie key: get: %w", err)
		}
		if len(e.Value()) < MinCookieKeyLen {
			return nil, fmt.Errorf("webchat: cookie key: stored key is %d bytes, want at least %d", len(e.Value()), MinCookieKeyLen)
		}
		return e.Value(), nil
	}
	return nil, errors.New("webchat: cookie key: key keeps disappearing")
}
