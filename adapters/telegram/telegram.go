// Package telegram is the Telegram Bot API adapter: a webhook checked
// with its secret token or the adapter's own getUpdates loop, updates
// normalized into envelopes, passive replies inside the webhook response,
// and sendMessage within Telegram's limits for everything else.
//
// It uses github.com/go-telegram-bot-api/telegram-bot-api/v5 v5.5.1 for
// the types and requests, around its known gaps: its constructors call
// getMe (so start-up would fail while Telegram is unreachable), it has no
// secret_token, its polling loop ignores retry_after and cannot be
// stopped, it takes no context, and its transport errors carry the token.
// What v5.5.1 cannot decode (newer update kinds, web_app_data) is read
// from the raw update.
//
// Every update is one of four things, decided by classify alone:
//
//   - a message (stored, the router answers): message and edited_message
//     (Meta edited=true) in a private chat, or in a group when addressed
//     to the bot, carrying text, a caption, a photo (the largest size), voice,
//     audio, video, a video note, a document, a sticker (Meta sticker=its
//     emoji), an animation, a location, a venue (title and address), a
//     contact (Message.Contact), web_app_data (the data as text, Meta
//     web_app_button), a dice ("[dice 🎲 4]") or a poll; anything else a
//     user sent is kept as KindRaw. An inline keyboard press
//     (callback_query) is a message too: its data is what the user chose.
//   - a user event (stored as KindEvent): /start, and my_chat_member in a
//     private chat, the user blocking (unsubscribe) or unblocking
//     (subscribe) the bot.
//   - a platform event (200, counted in hotline_platform_events_total,
//     logged at debug, not stored): my_chat_member in groups, chat_member,
//     poll, message_reaction_count, chat_boost, removed_chat_boost,
//     business_connection, deleted_business_messages.
//   - ignored (the same): channel_post and edited_channel_post (the bot
//     never answers into channels), business messages, inline queries,
//     payments, poll_answer, message_reaction, chat_join_request, service
//     messages (members joining, pins, ...), games, group chatter not
//     addressed to the bot, anything from a bot, any update without a
//     chat and a user to answer, and an update with no payload or one
//     this gateway does not know.
package telegram

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"hotline/adapters/webhook"
	"hotline/bus"
	"hotline/envelope"
	"hotline/outbound"
	"hotline/passive"
	"hotline/platform"
)

// DefaultAPIBase is the Bot API server.
const DefaultAPIBase = "https://api.telegram.org"

// DefaultReplyWindow is how long a webhook waits for the router's answer
// to send it as the webhook's response.
const DefaultReplyWindow = 3 * time.Second

// Modes of receiving updates.
const (
	ModeWebhook = "webhook"
	ModePoll    = "poll"
)

// allowedUpdates is the JSON list of update kinds hotline asks for.
const allowedUpdates = `["message","edited_message","callback_query","my_chat_member"]`

// PollTimeout is getUpdates' long-poll timeout.
const PollTimeout = 25 * time.Second

// MaxWebhookBody bounds a webhook request body.
const MaxWebhookBody = 1 << 20

// ErrNotReady is what Ready returns until getMe has succeeded.
var ErrNotReady = errors.New("telegram: not ready: getMe has not succeeded yet")

// Config is one Telegram bot as hotline uses it: an entry of
// accounts.telegram in the config, whose keys are the mapstructure tags.
type Config struct {
	Account string          `mapstructure:"name"` // hotline's account name, e.g. tg-main
	Token   envelope.Secret `mapstructure:"token"`
	Mode    string          `mapstructure:"mode"` // ModeWebhook or ModePoll
	// WebhookSecret is the secret_token given to setWebhook; Telegram
	// sends it in X-Telegram-Bot-Api-Secret-Token. Required for webhooks.
	WebhookSecret envelope.Secret `mapstructure:"webhook_secret"`
	// APIBase is the Bot API server (a fake in tests); requests go to
	// APIBase+"/bot<token>/<method>".
	APIBase string `mapstructure:"api_base"`
	// PublicURL is how Telegram reaches hotline (http.public_url); when
	// set, Run registers the webhook at PublicURL+"/webhooks/telegram/<account>".
	PublicURL string `mapstructure:"-"`
	// ReplyWindow is how long a webhook waits for the router's answer to
	// send it inside the response.
	ReplyWindow time.Duration `mapstructure:"reply_window"`
	// SendRate caps sends per second; 0 takes Telegram's 30/s.
	SendRate float64 `mapstructure:"send_rate"`
}

// Validate reports every setting that is wrong, each starting with its key.
func (c *Config) Validate() error {
	var p platform.Problems
	p.Name(c.Account)
	t := c.Token.Reveal()
	p.Required("token", t != "")
	if t != "" && strings.ContainsAny(t, "/%?# \t\r\n") {
		p.Add("token", "malformed (a bot token has no /, %%, ?, # or spaces)")
	}
	p.URL("api_base", c.APIBase)
	if c.ReplyWindow < 0 {
		p.Add("reply_window", "must not be negative")
	}
	p.SendRate(c.SendRate)
	switch c.Mode {
	case ModeWebhook:
		// https://core.telegram.org/bots/api#setwebhook: 1-256 of A-Z a-z 0-9 _ -.
		s := c.WebhookSecret.Reveal()
		if s == "" {
			p.Add("webhook_secret", "required when mode is webhook")
		} else if len(s) > 256 || strings.IndexFunc(s, func(r rune) bool {
			return !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		}) >= 0 {
			p.Add("webhook_secret", "Telegram allows 1-256 characters of A-Z, a-z, 0-9, _ and -")
		}
	case ModePoll:
	default:
		p.Add("mode", "%q is not webhook or poll", c.Mode)
	}
	return p.Err()
}

// Deps are the adapter's collaborators.
type Deps struct {
	Bus        *bus.Bus
	Logger     *slog.Logger
	HTTPClient *http.Client
	Now        func() time.Time
	// Registry exports hotline_platform_events_total; nil keeps it
	// private.
	Registry prometheus.Registerer
}

// Adapter receives and sends for one bot.
type Adapter struct {
	cfg      Config
	endpoint string // the library's format: base+"/bot%s/%s"
	bus      *bus.Bus
	log      *slog.Logger
	http     *http.Client // sends: bounded by its timeout
	poll     *http.Client // long polls: bounded by a per-request context
	now      func() time.Time
	// skipped counts updates acknowledged and not stored, by kind.
	skipped *prometheus.CounterVec

	mu   sync.RWMutex
	self *tgbotapi.User // set once getMe succeeded
}

// New checks cfg and builds the adapter. It makes no request: getMe runs
// in Run, so a Telegram outage does not stop hotline from starting.
func New(cfg Config, deps Deps) (*Adapter, error) {
	if cfg.Mode == "" {
		cfg.Mode = ModeWebhook
	}
	if err := cfg.Validate(); err != nil {
		return nil, platform.Prefixed("telegram "+cfg.Account+": ", err)
	}
	if deps.Bus == nil {
		return nil, fmt.Errorf("telegram %s: a bus is required", cfg.Account)
	}
	cfg.APIBase = platform.APIBase(cfg.APIBase, DefaultAPIBase)
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.ReplyWindow <= 0 {
		cfg.ReplyWindow = DefaultReplyWindow
	}
	a := &Adapter{cfg: cfg, endpoint: strings.ReplaceAll(cfg.APIBase, "%", "%%") + "/bot%s/%s",
		bus: deps.Bus}
	rt := platform.NewRuntime(deps.Logger, deps.HTTPClient, deps.Now, envelope.PlatformTelegram, cfg.Account)
	a.log, a.http, a.now = rt.Log, rt.HTTP, rt.Now
	a.poll = &http.Client{Transport: a.http.Transport, CheckRedirect: a.http.CheckRedirect, Jar: a.http.Jar}
	c, err := webhook.PlatformEventCounter(deps.Registry)
	if err != nil {
		return nil, fmt.Errorf("telegram %s: metrics: %w", cfg.Account, err)
	}
	a.skipped = c
	return a, nil
}

// skip records an update acknowledged and not stored. The counter's
// label is the update's kind, from classify's fixed set, never a string
// from the request.
func (a *Adapter) skip(updateID int, d decision) {
	a.log.Debug("update acknowledged, not stored", "update_id", updateID, "handling", d.handling.String(),
		"event", d.kind, "reason", d.why)
	a.skipped.WithLabelValues(envelope.PlatformTelegram, a.cfg.Account, d.kind).Inc()
}

// Ready reports ErrNotReady until getMe has succeeded.
func (a *Adapter) Ready() error {
	if a.username() == "" {
		return ErrNotReady
	}
	return nil
}

func (a *Adapter) username() string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.self == nil {
		return ""
	}
	return a.self.UserName
}

// Routes are the adapter's webhooks on the public listener: none in poll
// mode.
func (a *Adapter) Routes() map[string]http.Handler {
	if a.cfg.Mode != ModeWebhook {
		return map[string]http.Handler{}
	}
	return map[string]http.Handler{"POST " + a.webhookPath(): http.HandlerFunc(a.webhook)}
}

func (a *Adapter) webhookPath() string { return "/webhooks/telegram/" + a.cfg.Account }

// secretOK compares the header with the secret in constant time; hashing
// first keeps the length of the secret from leaking too.
func (a *Adapter) secretOK(got string) bool {
	g := sha256.Sum256([]byte(got))
	w := sha256.Sum256([]byte(a.cfg.WebhookSecret.Reveal()))
	return got != "" && subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

func (a *Adapter) webhook(w http.ResponseWriter, r *http.Request) {
	if !a.secretOK(r.Header.Get("X-Telegram-Bot-Api-Secret-Token")) {
		a.log.Warn("webhook secret refused", "remote", r.RemoteAddr)
		http.Error(w, "bad secret token", http.StatusUnauthorized)
		return
	}
	raw, ok := webhook.ReadBody(w, r, MaxWebhookBody)
	if !ok {
		return
	}
	u, err := decodeUpdate(raw)
	if err != nil {
		http.Error(w, "malformed update", http.StatusBadRequest)
		return
	}
	bot := a.username()
	if bot == "" && groupUpdate(u) {
		// Whether a group message is addressed to the bot depends on
		// its username; Telegram retries until getMe has succeeded.
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	now := a.now().UTC()
	m, d, err := toMessage(u, raw, a.cfg.Account, bot, envelope.NewID(now), now)
	if err != nil {
		a.log.Warn("update refused", "update_id", u.UpdateID, "err", err)
		http.Error(w, "malformed update", http.StatusBadRequest)
		return
	}
	if m == nil {
		// Acknowledged so Telegram does not retry it; nothing to store.
		a.skip(u.UpdateID, d)
		w.WriteHeader(http.StatusOK)
		return
	}
	ctx := r.Context()
	cqID := ""
	if u.CallbackQuery != nil {
		cqID = u.CallbackQuery.ID
	}
	// Stored before we answer: if this fails Telegram hears an error
	// and sends the update again.
	res, err := passive.Exchange(ctx, a.bus, m, now.Add(a.cfg.ReplyWindow), 1, "telegram-api")
	if !passive.Settle(w, a.log, m, res, a.redact(err)) {
		return
	}
	// A retry of an update we hold gets no replies: they went (or go)
	// the other way already.
	replies := res.Replies
	if len(replies) != 1 {
		writeMethod(w, answerCallbackBody(cqID))
		return
	}
	rep := replies[0]
	body, ok := methodBody(rep)
	if !ok {
		// Accepted but too long for one message: the router counts it
		// as sent, so it goes to the API under an id derived from its
		// own (stable if Telegram retries this request).
		a.forward(ctx, rep)
		writeMethod(w, answerCallbackBody(cqID))
		return
	}
	if cqID != "" {
		// The response carries the reply, so the button press is
		// acknowledged through the API.
		a.answerCallback(ctx, cqID)
	}
	writeMethod(w, body)
}

// writeMethod answers a webhook with a method call, or with an empty 200
// when body is nil.
func writeMethod(w http.ResponseWriter, body []byte) {
	if body == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// answerCallbackBody acknowledges an inline keyboard press inside the
// webhook response, which stops the button's progress indicator
// (https://core.telegram.org/bots/api#answercallbackquery). nil when
// there is nothing to acknowledge.
func answerCallbackBody(id string) []byte {
	if id == "" {
		return nil
	}
	body, _ := json.Marshal(map[string]string{"method": "answerCallbackQuery", "callback_query_id": id})
	return body
}

// answerCallback acknowledges a button press through the API, briefly and
// best effort: an unanswered press only shows a spinner for a while.
func (a *Adapter) answerCallback(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if _, err := a.call(ctx, a.http, "answerCallbackQuery", tgbotapi.Params{"callback_query_id": id}); err != nil {
		a.log.Warn("answerCallbackQuery failed", "err", err)
	}
}

// methodBody is a webhook answer that is itself a sendMessage call
// (https://core.telegram.org/bots/api#making-requests-when-getting-updates).
// Only a reply that fits one message qualifies.
func methodBody(rep envelope.Reply) ([]byte, bool) {
	chatID, err := strconv.ParseInt(rep.To.ID, 10, 64)
	if err != nil || len(rep.Media) > 0 {
		return nil, false
	}
	parts := Split(rep.Text, MaxTextUnits)
	if len(parts) != 1 || parts[0] != rep.Text {
		return nil, false
	}
	call := struct {
		Method      string                         `json:"method"`
		ChatID      int64                          `json:"chat_id"`
		Text        string                         `json:"text"`
		ReplyMarkup *tgbotapi.InlineKeyboardMarkup `json:"reply_markup,omitempty"`
	}{Method: "sendMessage", ChatID: chatID, Text: rep.Text}
	if len(rep.Buttons) > 0 {
		kb := keyboard(rep.Buttons)
		call.ReplyMarkup = &kb
	}
	body, err := json.Marshal(call)
	return body, err == nil
}

func (a *Adapter) forward(ctx context.Context, rep envelope.Reply) {
	if err := passive.Forward(ctx, a.bus, "telegram-api", rep); err != nil {
		a.log.Error("a passive reply the response cannot carry was not queued", "reply", rep.ID, "err", err)
	}
}

func groupUpdate(u tgbotapi.Update) bool {
	switch {
	case u.Message != nil:
		return isGroup(u.Message.Chat)
	case u.EditedMessage != nil:
		return isGroup(u.EditedMessage.Chat)
	}
	return false
}

// Run calls getMe until it succeeds (retrying with backoff; Ready reports
// not-ready meanwhile), then in webhook mode registers the webhook when
// PublicURL is set and waits, or in poll mode runs the getUpdates loop. It
// returns nil when ctx ends.
func (a *Adapter) Run(ctx context.Context) error {
	if err := a.retry(ctx, "getMe", a.getMe); err != nil {
		return nil // ctx ended
	}
	if a.cfg.Mode == ModePoll {
		return a.pollLoop(ctx)
	}
	if a.cfg.PublicURL != "" {
		if err := a.retry(ctx, "setWebhook", a.setWebhook); err != nil {
			return nil
		}
	}
	<-ctx.Done()
	return nil
}

func (a *Adapter) getMe(ctx context.Context) error {
	b, c := a.bot(ctx, a.http)
	me, err := b.GetMe()
	if err != nil {
		return a.classify("getMe", c.lastStatus(), err)
	}
	if me.UserName == "" {
		return errors.New("telegram: getMe: no username in the answer")
	}
	a.mu.Lock()
	a.self = &me
	a.mu.Unlock()
	a.log.Info("bot ready", "bot", "@"+me.UserName)
	return nil
}

func (a *Adapter) setWebhook(ctx context.Context) error {
	// v5.5.1's WebhookConfig has no secret_token (Bot API 6.1), so the
	// request is built by hand.
	_, err := a.call(ctx, a.http, "setWebhook", tgbotapi.Params{
		"url":             a.cfg.PublicURL + a.webhookPath(),
		"secret_token":    a.cfg.WebhookSecret.Reveal(),
		"allowed_updates": allowedUpdates,
		"max_connections": "40",
	})
	if err == nil {
		a.log.Info("webhook registered", "url", a.cfg.PublicURL+a.webhookPath())
	}
	return err
}

// retry calls f until it succeeds or ctx ends, backing off from 1 s to a
// minute, or as long as a 429 asks.
func (a *Adapter) retry(ctx context.Context, what string, f func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := f(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		delay := backoff(attempt, err)
		a.log.Warn(what+" failed; retrying", "attempt", attempt, "delay", delay, "err", a.redact(err))
		if !sleep(ctx, delay) {
			return ctx.Err()
		}
	}
}

// backoff doubles from 1 s to a minute with ±20% jitter, unless the Bot
// API said how long to wait.
func backoff(attempt int, err error) time.Duration {
	var se *outbound.SendError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		return se.RetryAfter
	}
	return bus.Backoff(attempt, time.Second, time.Minute)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// OffsetKey is the hotline_tokens key holding the next getUpdates offset.
func OffsetKey(account string) string { return "telegram.offset." + account }

// pollLoop is hotline's own getUpdates loop
// (https://core.telegram.org/bots/api#getupdates). The offset lives in
// KV and moves past an update only after it was published (or judged not
// worth keeping), so a restart neither loses nor re-reads updates; a
// crash between publishing and saving the offset re-reads a few, which
// the stream's dedup on update_id absorbs.
func (a *Adapter) pollLoop(ctx context.Context) error {
	kv := a.bus.KV(bus.BucketTokens)
	if kv == nil {
		return errors.New("telegram: bucket hotline_tokens is missing")
	}
	offset, err := a.loadOffset(ctx, kv)
	for err != nil {
		a.log.Error("reading the getUpdates offset", "err", err)
		if !sleep(ctx, 2*time.Second) {
			return nil
		}
		offset, err = a.loadOffset(ctx, kv)
	}
	failures := 0
	fail := func(err error) bool {
		failures++
		delay := backoff(failures, err)
		var se *outbound.SendError
		var ae *apiError
		if errors.As(err, &se) && errors.As(err, &ae) && ae.Status == http.StatusConflict {
			a.log.Error("getUpdates refused with 409 Conflict: a webhook is set for this bot or another poller runs; "+
				"use mode webhook, or call deleteWebhook", "delay", delay, "err", err)
		} else {
			a.log.Warn("getUpdates failed; backing off", "attempt", failures, "delay", delay, "err", err)
		}
		return sleep(ctx, delay)
	}
	for ctx.Err() == nil {
		params := tgbotapi.Params{"timeout": strconv.Itoa(int(PollTimeout / time.Second)), "limit": "100",
			"allowed_updates": allowedUpdates}
		if offset > 0 {
			params["offset"] = strconv.FormatInt(offset, 10)
		}
		pctx, cancel := context.WithTimeout(ctx, PollTimeout+15*time.Second)
		res, err := a.call(pctx, a.poll, "getUpdates", params)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if !fail(err) {
				return nil
			}
			continue
		}
		var raws []json.RawMessage
		if err := json.Unmarshal(res, &raws); err != nil {
			if !fail(outbound.RetryableError("bad_response", fmt.Errorf("telegram: getUpdates: %w", err))) {
				return nil
			}
			continue
		}
		next, err := a.intake(ctx, raws, offset)
		if next != offset {
			if perr := a.saveOffset(ctx, kv, next); perr != nil && ctx.Err() == nil {
				// Not saved: a restart re-reads these, and dedup drops
				// them. Keep going from memory.
				a.log.Warn("saving the getUpdates offset", "offset", next, "err", perr)
			}
			offset = next
		}
		if err != nil {
			if ctx.Err() != nil || !fail(err) {
				return nil
			}
			continue
		}
		failures = 0
	}
	return nil
}

// intake publishes polled updates in order and returns the offset past
// the last one it no longer needs; it stops at the first that could not
// be stored.
func (a *Adapter) intake(ctx context.Context, raws []json.RawMessage, offset int64) (int64, error) {
	bot := a.username()
	for _, raw := range raws {
		u, err := decodeUpdate(raw)
		if err != nil {
			a.log.Warn("skipping a malformed update", "err", err)
			continue // without an id it cannot move the offset
		}
		id := int64(u.UpdateID)
		if id < offset {
			continue // already handled: Telegram confirmed it late
		}
		now := a.now().UTC()
		m, d, err := toMessage(u, raw, a.cfg.Account, bot, envelope.NewID(now), now)
		switch {
		case err != nil:
			a.log.Warn("skipping an update that is not a valid message", "update_id", id, "err", err)
		case m == nil:
			a.skip(u.UpdateID, d)
		default:
			if _, err := a.bus.PublishInbound(ctx, m, nil); err != nil {
				return offset, fmt.Errorf("telegram: storing update %d: %w", id, err)
			}
			if u.CallbackQuery != nil {
				a.answerCallback(ctx, u.CallbackQuery.ID)
			}
		}
		offset = id + 1
	}
	return offset, nil
}

func (a *Adapter) loadOffset(ctx context.Context, kv jetstream.KeyValue) (int64, error) {
	e, err := kv.Get(ctx, OffsetKey(a.cfg.Account))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(e.Value()), 10, 64)
}

func (a *Adapter) saveOffset(ctx context.Context, kv jetstream.KeyValue, offset int64) error {
	_, err := kv.Put(ctx, OffsetKey(a.cfg.Account), []byte(strconv.FormatInt(offset, 10)))
	return err
}
