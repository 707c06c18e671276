// Package weibo is the Weibo fan-service (粉丝服务平台) adapter, also fit
// for look-alike platforms with the same contract: signed JSON pushes,
// passive JSON replies inside the 5 s window, and the messages/reply API
// for everything else. The facts it relies on, and how sure they are,
// are in docs/protocols.md section B; the official pages date from about 2014.
//
// Every push is one of three things, decided by classifyPush alone:
//
//   - a message (stored, the router answers): text, position (the place's
//     name as Location.Label), voice and image (data.vfid); a type this
//     gateway does not know is kept as KindRaw, since it may be something
//     a user sent.
//   - a user event (stored as KindEvent): the event subtypes follow,
//     subscribe, scan_follow, unfollow, unsubscribe, scan, click, view and
//     mention.
//   - a platform event (an empty 200, logged at debug, counted in
//     hotline_platform_events_total, not stored): any other event
//     subtype.
//
// A created_at more than a day from the push's arrival is not believed:
// Meta created_at is the arrival time and Meta create_time keeps what
// Weibo sent.
package weibo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotline/adapters/replay"
	"hotline/adapters/webhook"
	"hotline/bus"
	"hotline/envelope"
	"hotline/passive"
	"hotline/platform"
)

// DefaultAPIBase is the fan-service API root.
const DefaultAPIBase = "https://m.api.weibo.com"

// DefaultReplyWindow is how long a push waits for the router's answer.
// Weibo gives up after 5 s and tries again (three attempts in all).
const DefaultReplyWindow = 4 * time.Second

// DefaultReplayWindow is what config uses when replay_window is not set.
// The adapter itself takes a zero ReplayWindow to mean "no check", as the
// configuration documents.
const DefaultReplayWindow = 5 * time.Minute

// maxBody caps a push. A text push is a few hundred bytes.
const maxBody = 64 << 10

// Config is one fan-service account as hotline uses it: an entry of
// accounts.weibo in the config, whose keys are the mapstructure tags.
type Config struct {
	Account     string          `mapstructure:"name"`         // hotline's account name, e.g. weibo-main
	AppKey      string          `mapstructure:"app_key"`      // the app whose secret signs; no request carries it
	AppSecret   envelope.Secret `mapstructure:"app_secret"`   // signs pushes; there is no separate token
	AccessToken envelope.Secret `mapstructure:"access_token"` // issued by hand on the developer page
	APIBase     string          `mapstructure:"api_base"`     // default DefaultAPIBase
	// ReplyWindow is how long a push waits for a passive reply; it must
	// stay under Weibo's 5 s. Default DefaultReplyWindow.
	ReplyWindow time.Duration `mapstructure:"reply_window"`
	// ReplayWindow is how far a signed timestamp may be from now; 0 turns
	// the check off.
	ReplayWindow time.Duration `mapstructure:"replay_window"`
	// SendRate caps sends per second; 0 takes the platform's limit.
	SendRate float64 `mapstructure:"send_rate"`
}

// Validate reports every setting that is wrong, each starting with its key.
func (c Config) Validate() error {
	var p platform.Problems
	p.Name(c.Account)
	p.Required("app_secret", !c.AppSecret.IsZero())
	p.Required("access_token", !c.AccessToken.IsZero())
	p.URL("api_base", c.APIBase)
	p.ReplyWindow(c.ReplyWindow)
	p.ReplayWindow(c.ReplayWindow)
	p.SendRate(c.SendRate)
	return p.Err()
}

// Deps are the adapter's collaborators.
type Deps struct {
	Bus        *bus.Bus
	Logger     *slog.Logger
	HTTPClient *http.Client
	Now        func() time.Time
	// Registry exports the adapter's metrics; nil keeps them private.
	Registry prometheus.Registerer
}

// Adapter receives pushes and sends replies for one account.
type Adapter struct {
	cfg         Config
	bus         *bus.Bus
	log         *slog.Logger
	http        *http.Client
	now         func() time.Time
	tokenErrors prometheus.Counter
	// platformEvents counts pushes acknowledged and not stored.
	platformEvents *prometheus.CounterVec
	// replays refuses a signed query (the signature does not cover the
	// body) seen before with another body.
	replays *replay.Guard
}

// New checks cfg and builds the adapter.
func New(cfg Config, deps Deps) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, platform.Prefixed("weibo "+cfg.Account+": ", err)
	}
	if deps.Bus == nil {
		return nil, fmt.Errorf("weibo %s: a bus is required", cfg.Account)
	}
	cfg.APIBase = platform.APIBase(cfg.APIBase, DefaultAPIBase)
	if cfg.ReplyWindow == 0 {
		cfg.ReplyWindow = DefaultReplyWindow
	}
	a := &Adapter{cfg: cfg, bus: deps.Bus,
		replays: replay.New(deps.Bus.KV(bus.BucketSignatures), cfg.ReplayWindow)}
	rt := platform.NewRuntime(deps.Logger, deps.HTTPClient, deps.Now, envelope.PlatformWeibo, cfg.Account)
	a.log, a.http, a.now = rt.Log, rt.HTTP, rt.Now
	c, err := tokenErrorCounter(deps.Registry)
	if err != nil {
		return nil, fmt.Errorf("weibo %s: metrics: %w", cfg.Account, err)
	}
	a.tokenErrors = c.WithLabelValues(cfg.Account)
	if a.platformEvents, err = webhook.PlatformEventCounter(deps.Registry); err != nil {
		return nil, fmt.Errorf("weibo %s: metrics: %w", cfg.Account, err)
	}
	if cfg.ReplayWindow == 0 {
		// Said once at start-up: an operator who turned the check off
		// should see what it costs.
		a.log.Warn(replay.NoWindowWarning)
	}
	return a, nil
}

// tokenErrorCounter registers hotline_weibo_token_errors_total, or finds
// the one another account's adapter registered on the same registry.
func tokenErrorCounter(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	return webhook.RegisterCounterVec(reg, prometheus.CounterOpts{
		Name: "hotline_weibo_token_errors_total",
		Help: "Sends refused because the account's access token expired or is invalid; an operator must issue a new one.",
	}, "account")
}

// Routes are the adapter's webhooks on the public listener: GET verifies
// the callback URL, POST carries pushes.
func (a *Adapter) Routes() map[string]http.Handler {
	base := "/webhooks/weibo/" + a.cfg.Account
	return map[string]http.Handler{
		"GET " + base:  http.HandlerFunc(a.verify),
		"POST " + base: http.HandlerFunc(a.receive),
	}
}

// signed checks the query's signature and timestamp, answering 401 when
// either is wrong.
func (a *Adapter) signed(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	ts, nonce := q.Get("timestamp"), q.Get("nonce")
	if !ValidSignature(a.cfg.AppSecret.Reveal(), ts, nonce, q.Get("signature")) {
		a.log.Warn("push signature refused", "method", r.Method, "remote", r.RemoteAddr)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return false
	}
	if err := checkFresh(ts, a.now(), a.cfg.ReplayWindow); err != nil {
		a.log.Warn("push timestamp refused", "method", r.Method, "timestamp", ts, "err", err, "remote", r.RemoteAddr)
		http.Error(w, "stale timestamp", http.StatusUnauthorized)
		return false
	}
	return true
}

// verify answers the URL check Weibo makes when a developer saves the
// callback URL: the signed request's echostr, unchanged.
func (a *Adapter) verify(w http.ResponseWriter, r *http.Request) {
	if !a.signed(w, r) {
		return
	}
	webhook.Echo(w, r.URL.Query().Get("echostr"))
}

func (a *Adapter) receive(w http.ResponseWriter, r *http.Request) {
	if !a.signed(w, r) {
		return
	}
	body, ok := webhook.ReadBody(w, r, maxBody)
	if !ok {
		return
	}
	if err := a.replays.Check(r.Context(), "weibo."+a.cfg.Account, strings.ToLower(r.URL.Query().Get("signature")), body); errors.Is(err, replay.ErrReplayed) {
		a.log.Warn("push refused: signed query reused with another body", "remote", r.RemoteAddr)
		http.Error(w, "signed query reused with another body", http.StatusUnauthorized)
		return
	} else if err != nil {
		a.log.Error("replay check", "err", err)
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	now := a.now().UTC()
	m, d, err := toMessage(body, a.cfg.Account, envelope.NewID(now), now)
	if err != nil {
		a.log.Warn("push refused", "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if m == nil {
		// An empty 200 is Weibo's "received, no reply"; there is nobody
		// to answer.
		a.log.Debug("platform event acknowledged, not stored", "kind", d.kind)
		a.platformEvents.WithLabelValues(envelope.PlatformWeibo, a.cfg.Account, d.kind).Inc()
		w.WriteHeader(http.StatusOK)
		return
	}
	ctx := r.Context()
	// Stored before we answer: if this fails Weibo hears an error and
	// tries again, and nothing was acknowledged that we do not have.
	res, err := passive.Exchange(ctx, a.bus, m, now.Add(a.cfg.ReplyWindow), 1, "weibo-api")
	if !passive.Settle(w, a.log, m, res, err) {
		return
	}
	// A retry of a stored push gets no replies: the router answers the
	// first copy through the API if its window is gone.
	replies := res.Replies
	if len(replies) == 0 {
		// An empty body is Weibo's "no reply, do not retry".
		w.WriteHeader(http.StatusOK)
		return
	}
	a.answer(ctx, w, m, replies[0])
}

// passiveReply is the response body that answers a push
// (https://open.weibo.com/wiki/Send_Passive_Response_Message). The ids
// are swapped relative to the push: sender_id is the account.
type passiveReply struct {
	Result     bool   `json:"result"`
	SenderID   string `json:"sender_id"`
	ReceiverID string `json:"receiver_id"`
	Type       string `json:"type"`
	Data       string `json:"data"`
}

// answer writes rep as the passive reply to m. A text longer than Weibo's
// passive limit is cut: the first part goes in the response, the rest is
// published as a new reply that the outbound loop sends through the API.
// Media, which a passive text cannot carry, go the same way. The response
// is written and flushed before that publish, so the API part cannot
// overtake the passive one on our side.
func (a *Adapter) answer(ctx context.Context, w http.ResponseWriter, m *envelope.Message, rep envelope.Reply) {
	first, rest := splitFirst(rep.Text, PassiveTextLimit)
	var api *envelope.Reply // what goes out through the API instead
	switch {
	case first == "":
		// Nothing a passive text can carry: all of it goes by the API.
		if len(rep.Media) > 0 {
			more := rep
			more.Text = ""
			api = &more
		}
	case rest != "" || len(rep.Media) > 0:
		more := rep
		more.Text = rest
		more.Buttons = nil
		api = &more
	}
	var body []byte
	if first != "" {
		body, _ = json.Marshal(passiveReply{Result: true, SenderID: m.To.ID, ReceiverID: m.From.ID, Type: "text", Data: textData(first)})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	// An empty body, when nothing fits, is Weibo's "no reply".
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	_ = http.NewResponseController(w).Flush()
	if api == nil {
		return
	}
	api.ID = envelope.DeriveID(rep.ID, "weibo-rest")
	api.CreatedAt = a.now().UTC()
	// Weibo hanging up must not lose the part already taken from the
	// router.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := a.bus.PublishReply(pctx, api); err != nil {
		// The router recorded the reply as answered, so nothing else
		// will send this part; say so loudly.
		a.log.Error("part of a passive reply not stored for the API; the user does not get it",
			"msg_id", m.ID, "reply", rep.ID, "err", err)
	}
}
