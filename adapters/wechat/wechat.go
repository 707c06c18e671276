// Package wechat is the WeChat Official Account (公众号) adapter: signed
// XML pushes in plain, compatible or safe (AES) mode, passive XML replies
// inside WeChat's 5 s window, and the customer-service API for every
// reply that misses it. The facts it relies on are in docs/protocols.md
// section A.
//
// The crypto is done here with the standard library rather than through
// github.com/silenceper/wechat/v2: the algorithm is short, pinned by the
// Tencent known-answer vectors, and the library's HTTP client and caches
// are process-wide globals that would keep tests from running in
// parallel. The tests check this code against the library's
// util.DecryptMsg, EncryptMsg and Signature.
//
// Every push is one of three things, decided by classifyPush alone:
//
//   - a message (stored, the router answers): text, image (PicUrl and
//     MediaId), voice (its Recognition as text), video and shortvideo,
//     location (Label kept), link (Message.Link), file (FileKey, the
//     file's name and size); any other MsgType is kept as KindRaw, since
//     nothing a user sent is dropped.
//   - a user event (stored as KindEvent): subscribe (with qrscene_),
//     unsubscribe, SCAN, LOCATION, CLICK, VIEW, view_miniprogram, and the
//     custom-menu picks scancode_push, scancode_waitmsg, pic_sysphoto,
//     pic_photo_or_album, pic_weixin and location_select as menu events
//     with their key.
//   - a platform event (answered "success", logged at debug, counted in
//     hotline_platform_events_total, not stored): TEMPLATESENDJOBFINISH,
//     MASSSENDJOBFINISH, customer-service sessions (kf_*), card events,
//     qualification and naming verification, annual_renew,
//     verify_expired, user_info_modified, user_authorization_revoke, the
//     subscribe_msg_* events, and any event this gateway does not know.
//
// A CreateTime more than a day from the push's arrival (milliseconds, a
// wrong clock) is not believed: Meta created_at is the arrival time and
// Meta create_time keeps what WeChat sent.
package wechat

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"hotline/adapters/replay"
	"hotline/adapters/webhook"
	"hotline/bus"
	"hotline/envelope"
	"hotline/passive"
	"hotline/platform"
)

// DefaultAPIBase is WeChat's API root.
const DefaultAPIBase = "https://api.weixin.qq.com"

// DefaultReplyWindow is how long a push waits for the router's answer.
// WeChat hangs up after 5 s and retries (three attempts in all).
const DefaultReplyWindow = 4 * time.Second

// DefaultReplayWindow is how far a push's timestamp may be from now.
const DefaultReplayWindow = 5 * time.Minute

// TextLimit is how many runes one text hotline sends holds, passively or
// through the customer-service API. WeChat documents its limit in bytes
// (2048 for a customer-service text) and not at all for passive replies;
// 600 runes of Chinese is 1800 bytes of UTF-8, under that limit.
const TextLimit = 600

// maxBody caps a push. A safe-mode text push is about 1 KB.
const maxBody = 64 << 10

// Config is one official account as hotline uses it: an entry of
// accounts.wechat in the config, whose keys are the mapstructure tags.
type Config struct {
	Account   string          `mapstructure:"name"` // hotline's account name, e.g. oa-main
	AppID     string          `mapstructure:"app_id"`
	AppSecret envelope.Secret `mapstructure:"app_secret"` // fetches access tokens
	Token     envelope.Secret `mapstructure:"token"`      // signs pushes
	// EncodingAESKey (43 characters) turns on safe mode: every push
	// must then be encrypted (safe or compatible mode); plaintext pushes
	// are refused, because their signature does not cover the body.
	// Empty: plaintext mode.
	EncodingAESKey envelope.Secret `mapstructure:"encoding_aes_key"`
	// PreviousEncodingAESKey is the key before a rotation: WeChat's FAQ
	// advises keeping it, trying it when the current key fails, and
	// answering with whichever key worked (docs/protocols.md A.6 step 7).
	PreviousEncodingAESKey envelope.Secret `mapstructure:"previous_encoding_aes_key"`
	APIBase                string          `mapstructure:"api_base"` // default DefaultAPIBase
	// ReplyWindow is how long a push waits for a passive reply; it must
	// stay under WeChat's 5 s. Default DefaultReplyWindow.
	ReplyWindow time.Duration `mapstructure:"reply_window"`
	// ReplayWindow is how far a signed timestamp may be from now; 0
	// turns the check off (an account entry that does not set it gets
	// DefaultReplayWindow).
	ReplayWindow time.Duration `mapstructure:"replay_window"`
	// SendRate caps sends per second; 0 takes the platform's limit.
	SendRate float64 `mapstructure:"send_rate"`
}

// Validate reports every setting that is wrong, each starting with its key.
func (c Config) Validate() error {
	var p platform.Problems
	p.Name(c.Account)
	if err := envelope.ValidToken(c.AppID); err != nil {
		p.Add("app_id", "%v", err)
	}
	p.Required("token", !c.Token.IsZero())
	p.Required("app_secret", !c.AppSecret.IsZero())
	checkKey := func(key string, k envelope.Secret) {
		if n := len(k.Reveal()); n != 43 {
			p.Add(key, "must be 43 characters, got %d", n)
		} else if _, err := AESKey(k.Reveal()); err != nil {
			p.Add(key, "not base64 of 32 bytes")
		}
	}
	if !c.EncodingAESKey.IsZero() {
		checkKey("encoding_aes_key", c.EncodingAESKey)
	}
	if !c.PreviousEncodingAESKey.IsZero() {
		if c.EncodingAESKey.IsZero() {
			p.Add("previous_encoding_aes_key", "must be 43 characters and come with encoding_aes_key")
		} else {
			checkKey("previous_encoding_aes_key", c.PreviousEncodingAESKey)
		}
	}
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
	// Registry exports hotline_platform_events_total; nil keeps it
	// private.
	Registry prometheus.Registerer
}

// Adapter receives pushes and sends replies for one account.
type Adapter struct {
	cfg  Config
	key  []byte // AES key; nil in plain mode
	prev []byte // the key before the last rotation, if any
	bus  *bus.Bus
	log  *slog.Logger
	http *http.Client
	now  func() time.Time
	// replays refuses a plain-mode query (whose signature does not cover
	// the body) seen before with another body.
	replays *replay.Guard
	// platformEvents counts pushes acknowledged and not stored.
	platformEvents *prometheus.CounterVec
}

// New checks cfg and builds the adapter.
func New(cfg Config, deps Deps) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, platform.Prefixed("wechat "+cfg.Account+": ", err)
	}
	if deps.Bus == nil {
		return nil, fmt.Errorf("wechat %s: a bus is required", cfg.Account)
	}
	cfg.APIBase = platform.APIBase(cfg.APIBase, DefaultAPIBase)
	if cfg.ReplyWindow == 0 {
		cfg.ReplyWindow = DefaultReplyWindow
	}
	a := &Adapter{cfg: cfg, bus: deps.Bus,
		replays: replay.New(deps.Bus.KV(bus.BucketSignatures), cfg.ReplayWindow)}
	if !cfg.EncodingAESKey.IsZero() {
		a.key, _ = AESKey(cfg.EncodingAESKey.Reveal())
	}
	if !cfg.PreviousEncodingAESKey.IsZero() {
		a.prev, _ = AESKey(cfg.PreviousEncodingAESKey.Reveal())
	}
	rt := platform.NewRuntime(deps.Logger, deps.HTTPClient, deps.Now, envelope.PlatformWeChat, cfg.Account)
	a.log, a.http, a.now = rt.Log, rt.HTTP, rt.Now
	c, err := webhook.PlatformEventCounter(deps.Registry)
	if err != nil {
		return nil, fmt.Errorf("wechat %s: metrics: %w", cfg.Account, err)
	}
	a.platformEvents = c
	if cfg.ReplayWindow == 0 {
		// Said once at start-up: an operator who turned the check off
		// should see what it costs.
		a.log.Warn(replay.NoWindowWarning)
	}
	return a, nil
}

// Routes are the adapter's webhooks: GET verifies the callback URL, POST
// carries pushes.
func (a *Adapter) Routes() map[string]http.Handler {
	base := "/webhooks/wechat/" + a.cfg.Account
	return map[string]http.Handler{
		"GET " + base:  http.HandlerFunc(a.verify),
		"POST " + base: http.HandlerFunc(a.receive),
	}
}

// fresh checks a push's timestamp (Unix seconds) against the replay window.
func (a *Adapter) fresh(ts string) bool {
	if a.cfg.ReplayWindow == 0 {
		return true
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || n <= 0 {
		return false
	}
	d := a.now().Sub(time.Unix(n, 0))
	return d <= a.cfg.ReplayWindow && d >= -a.cfg.ReplayWindow
}

// verify answers the URL check: the signed request's echostr, unchanged.
// The handshake is plaintext even in safe mode (docs/protocols.md A.2).
func (a *Adapter) verify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ts, nonce := q.Get("timestamp"), q.Get("nonce")
	if !validSignature(q.Get("signature"), a.cfg.Token.Reveal(), ts, nonce) || !a.fresh(ts) {
		a.log.Warn("url verification refused", "remote", r.RemoteAddr)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	webhook.Echo(w, q.Get("echostr"))
}

// errStatus is a refused push: the status to answer and why.
type errStatus struct {
	code int
	msg  string
}

// open verifies and, in safe mode, decrypts a push body. It returns the
// plaintext push and the key that opened it, with which the reply must be
// encrypted (nil in plain mode).
func (a *Adapter) open(ctx context.Context, q map[string][]string, body []byte) (*push, []byte, *errStatus) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	ts, nonce := get("timestamp"), get("nonce")
	token := a.cfg.Token.Reveal()
	if get("encrypt_type") != "aes" {
		// The plain signature does not cover the body: with a key
		// configured, a plaintext push would let anyone holding one
		// captured query post any body inside the replay window.
		if a.key != nil {
			return nil, nil, &errStatus{http.StatusUnauthorized, "encrypted push required"}
		}
		if !validSignature(get("signature"), token, ts, nonce) {
			return nil, nil, &errStatus{http.StatusUnauthorized, "bad signature"}
		}
		if !a.fresh(ts) {
			return nil, nil, &errStatus{http.StatusUnauthorized, "stale timestamp"}
		}
		if err := a.replays.Check(ctx, "wechat."+a.cfg.Account, get("signature"), body); errors.Is(err, replay.ErrReplayed) {
			return nil, nil, &errStatus{http.StatusUnauthorized, "signed query reused with another body"}
		} else if err != nil {
			a.log.Error("replay check", "err", err)
			return nil, nil, &errStatus{http.StatusServiceUnavailable, "temporarily unavailable"}
		}
		p, err := parsePush(body)
		if err != nil {
			return nil, nil, &errStatus{http.StatusBadRequest, "malformed push"}
		}
		return p, nil, nil
	}
	// Safe and compatible mode: msg_signature covers the ciphertext,
	// so the body must be parsed (not trusted) before it is checked.
	if get("msg_signature") == "" {
		return nil, nil, &errStatus{http.StatusUnauthorized, "bad signature"}
	}
	outer, err := parsePush(body)
	if err != nil {
		return nil, nil, &errStatus{http.StatusBadRequest, "malformed push"}
	}
	if !validSignature(get("msg_signature"), token, ts, nonce, outer.Encrypt) {
		return nil, nil, &errStatus{http.StatusUnauthorized, "bad signature"}
	}
	if !a.fresh(ts) {
		return nil, nil, &errStatus{http.StatusUnauthorized, "stale timestamp"}
	}
	if a.key == nil {
		return nil, nil, &errStatus{http.StatusBadRequest, "encrypted push but no encoding_aes_key configured"}
	}
	key := a.key
	plain, err := Decrypt(key, a.cfg.AppID, outer.Encrypt)
	if err != nil && a.prev != nil {
		key = a.prev
		plain, err = Decrypt(key, a.cfg.AppID, outer.Encrypt)
	}
	if err != nil {
		return nil, nil, &errStatus{http.StatusBadRequest, "push does not decrypt"}
	}
	p, err := parsePush(plain)
	if err != nil {
		return nil, nil, &errStatus{http.StatusBadRequest, "malformed push"}
	}
	return p, key, nil
}

func (a *Adapter) receive(w http.ResponseWriter, r *http.Request) {
	body, ok := webhook.ReadBody(w, r, maxBody)
	if !ok {
		return
	}
	q := r.URL.Query()
	p, key, bad := a.open(r.Context(), q, body)
	if bad != nil {
		a.log.Warn("push refused", "status", bad.code, "reason", bad.msg, "remote", r.RemoteAddr)
		http.Error(w, bad.msg, bad.code)
		return
	}
	now := a.now().UTC()
	m, d, err := p.toMessage(a.cfg.Account, envelope.NewID(now), now)
	if err != nil {
		a.log.Warn("push refused", "status", http.StatusBadRequest, "err", err)
		http.Error(w, "malformed push", http.StatusBadRequest)
		return
	}
	if m == nil {
		// WeChat reporting on its own work: "success" stops its retries,
		// and there is nobody to answer.
		a.log.Debug("platform event acknowledged, not stored", "event", fmt.Sprintf("%.64s", p.Event), "kind", d.kind)
		a.platformEvents.WithLabelValues(envelope.PlatformWeChat, a.cfg.Account, d.kind).Inc()
		success(w)
		return
	}
	ctx := r.Context()
	// Stored before we answer: if this fails WeChat hears an error and
	// tries again, and nothing was acknowledged that we do not have.
	res, err := passive.Exchange(ctx, a.bus, m, now.Add(a.cfg.ReplyWindow), 1, "wechat-api")
	if !passive.Settle(w, a.log, m, res, err) {
		return
	}
	// A retry of a stored push gets no replies: the first copy's go
	// passively or through the API, never here as well.
	replies := res.Replies
	if len(replies) == 0 {
		success(w)
		return
	}
	a.answer(ctx, w, m, replies[0], q.Get("nonce"), key)
}

// success is WeChat's "no reply, do not retry". It is never encrypted,
// even in safe mode (docs/protocols.md A.4, A.5).
func success(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "success")
}

// cdata is an XML element whose text is written as CDATA, as WeChat's
// own samples do.
type cdata struct {
	Text string `xml:",cdata"`
}

// textReply is the passive text reply (docs/protocols.md A.5).
type textReply struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   cdata    `xml:"ToUserName"`
	FromUserName cdata    `xml:"FromUserName"`
	CreateTime   int64    `xml:"CreateTime"`
	MsgType      cdata    `xml:"MsgType"`
	Content      cdata    `xml:"Content"`
}

// sealedReply is the safe-mode envelope around a reply.
type sealedReply struct {
	XMLName      xml.Name `xml:"xml"`
	Encrypt      cdata    `xml:"Encrypt"`
	MsgSignature cdata    `xml:"MsgSignature"`
	TimeStamp    string   `xml:"TimeStamp"`
	Nonce        cdata    `xml:"Nonce"`
}

// answer writes rep as the passive reply to m. A reply a passive text
// cannot carry whole (longer than TextLimit, or with media) is not
// answered passively at all: the response is "success" and the whole
// reply is published for the customer-service API under a derived id, so
// it goes out one way only, in order.
func (a *Adapter) answer(ctx context.Context, w http.ResponseWriter, m *envelope.Message, rep envelope.Reply, nonce string, key []byte) {
	text := strings.TrimSpace(rep.Text)
	if text == "" && len(rep.Media) == 0 {
		success(w) // nothing to say
		return
	}
	if text == "" || utf8.RuneCountInString(text) > TextLimit || len(rep.Media) > 0 {
		success(w)
		a.viaAPI(ctx, m, rep)
		return
	}
	now := a.now()
	body, err := xml.Marshal(textReply{ToUserName: cdata{m.From.ID}, FromUserName: cdata{m.To.ID}, CreateTime: now.Unix(),
		MsgType: cdata{"text"}, Content: cdata{text}})
	if err == nil && key != nil {
		body, err = a.seal(key, body, nonce, now)
	}
	if err != nil {
		// Only crypto/rand can fail here; the user still gets the reply.
		a.log.Error("passive reply not built; sending it through the API", "err", err)
		success(w)
		a.viaAPI(ctx, m, rep)
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// viaAPI publishes a reply the webhook took from the router but cannot
// carry, so the outbound loop sends it through the customer-service API.
// Its id is derived from the router's, so a second publish is a duplicate.
func (a *Adapter) viaAPI(ctx context.Context, m *envelope.Message, rep envelope.Reply) {
	api := rep
	api.ID = envelope.DeriveID(rep.ID, "wechat-rest")
	api.CreatedAt = a.now().UTC()
	// WeChat hanging up must not lose a reply already taken from the
	// router.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := a.bus.PublishReply(pctx, &api); err != nil {
		a.log.Error("reply taken from the router not stored for the API; the user does not get it",
			"msg_id", m.PlatformMsgID, "reply", rep.ID, "err", err)
	}
}

// seal encrypts a reply for safe mode and signs it with our own timestamp
// and the request's nonce, as the documentation suggests.
func (a *Adapter) seal(key, reply []byte, nonce string, now time.Time) ([]byte, error) {
	enc, err := Encrypt(key, a.cfg.AppID, nil, reply)
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	var buf bytes.Buffer
	err = xml.NewEncoder(&buf).Encode(sealedReply{Encrypt: cdata{enc}, MsgSignature: cdata{Signature(a.cfg.Token.Reveal(), ts, nonce, enc)},
		TimeStamp: ts, Nonce: cdata{nonce}})
	return buf.Bytes(), err
}
