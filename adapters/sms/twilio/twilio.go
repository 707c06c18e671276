// Package twilio is the Twilio-compatible SMS provider: signed inbound
// webhooks, TwiML replies inside the window, the Messages REST API for
// everything else, and signed delivery status callbacks. Compatible
// providers work through api_base.
package twilio

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"hotline/adapters/passive"
	"hotline/adapters/sms"
	"hotline/bus"
	"hotline/envelope"
	"hotline/outbound"
)

// DefaultAPIBase is Twilio's REST API.
const DefaultAPIBase = "https://api.twilio.com"

// Config is one Twilio account as hotline uses it.
type Config struct {
	Account    string // hotline's account name, e.g. sms-main
	AccountSID string
	AuthToken  envelope.Secret
	From       string // E.164 sender
	APIBase    string
	// PublicURL is how Twilio reaches hotline (https://hooks.example.com);
	// signatures are checked against it, and status callbacks point to it.
	PublicURL     string
	DefaultRegion string
	// ReplyWindow is how long an inbound webhook waits for the router to
	// answer in TwiML. Twilio waits 15 s; a few seconds is plenty.
	ReplyWindow time.Duration
	// InboundEvery and InboundBurst bound how fast one number may text.
	InboundEvery time.Duration
	InboundBurst int
}

// Deps are the adapter's collaborators.
type Deps struct {
	Bus        *bus.Bus
	Logger     *slog.Logger
	HTTPClient *http.Client
	Now        func() time.Time
}

// Adapter receives and sends SMS for one Twilio account.
type Adapter struct {
	cfg     Config
	bus     *bus.Bus
	log     *slog.Logger
	http    *http.Client
	now     func() time.Time
	optouts sms.OptOuts
	limiter *sms.InboundLimiter
}

// New checks cfg and builds the adapter.
func New(cfg Config, deps Deps) (*Adapter, error) {
	if err := envelope.ValidToken(cfg.Account); err != nil {
		return nil, fmt.Errorf("twilio: account: %w", err)
	}
	if cfg.AccountSID == "" || cfg.AuthToken.IsZero() {
		return nil, fmt.Errorf("twilio %s: account_sid and auth_token are required", cfg.Account)
	}
	from, err := sms.Normalize(cfg.From, "")
	if err != nil {
		return nil, fmt.Errorf("twilio %s: from: %w", cfg.Account, err)
	}
	cfg.From = from
	if cfg.APIBase == "" {
		cfg.APIBase = DefaultAPIBase
	}
	cfg.APIBase = strings.TrimRight(cfg.APIBase, "/")
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.ReplyWindow <= 0 {
		cfg.ReplyWindow = 4 * time.Second
	}
	if cfg.InboundEvery <= 0 {
		cfg.InboundEvery, cfg.InboundBurst = 2*time.Second, 10
	}
	a := &Adapter{cfg: cfg, bus: deps.Bus, log: deps.Logger, http: deps.HTTPClient, now: deps.Now,
		optouts: sms.NewOptOuts(deps.Bus), limiter: sms.NewInboundLimiter(cfg.InboundEvery, cfg.InboundBurst)}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.log = a.log.With("platform", envelope.PlatformSMS, "account", cfg.Account)
	if a.http == nil {
		a.http = &http.Client{Timeout: 15 * time.Second}
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a, nil
}

// Routes are the adapter's webhooks on the public listener.
func (a *Adapter) Routes() map[string]http.Handler {
	base := "/webhooks/sms/" + a.cfg.Account
	return map[string]http.Handler{
		"POST " + base:             http.HandlerFunc(a.inbound),
		"POST " + base + "/status": http.HandlerFunc(a.status),
	}
}

// verifiedForm parses a webhook's form and checks its signature against
// the URL Twilio called: public_url plus the path and query when hotline
// is behind a proxy, else the request's own host.
func (a *Adapter) verifiedForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed form body", http.StatusBadRequest)
		return nil, false
	}
	full := a.cfg.PublicURL + r.URL.RequestURI()
	if a.cfg.PublicURL == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		full = scheme + "://" + r.Host + r.URL.RequestURI()
	}
	if !ValidSignature(a.cfg.AuthToken.Reveal(), full, r.PostForm, r.Header.Get("X-Twilio-Signature")) {
		a.log.Warn("webhook signature refused", "path", r.URL.Path, "remote", r.RemoteAddr)
		http.Error(w, "bad signature", http.StatusForbidden)
		return nil, false
	}
	return r.PostForm, true
}

// maxTwiMLText is the longest body Twilio accepts in one message.
const maxTwiMLText = 1600

// keywordReplies answer carrier keywords without waiting for anyone: an
// opt-out must be confirmed even when the router is down.
var keywordReplies = map[string]map[sms.Keyword]string{
	"en": {
		sms.KeywordStop:  "You're unsubscribed and will get no more messages from us. Reply START to subscribe again.",
		sms.KeywordStart: "You're subscribed again. Reply HELP for help, STOP to unsubscribe.",
	},
	"zh": {
		sms.KeywordStop:  "您已退订，将不再收到我们的短信。回复 START 可重新订阅。",
		sms.KeywordStart: "您已重新订阅。回复 HELP 获取帮助，回复 STOP 退订。",
	},
}

func (a *Adapter) inbound(w http.ResponseWriter, r *http.Request) {
	form, ok := a.verifiedForm(w, r)
	if !ok {
		return
	}
	now := a.now().UTC()
	m, err := ToMessage(form, a.cfg.Account, a.cfg.DefaultRegion, envelope.NewID(now), now)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	kw := sms.Keyword(m.Meta["carrier_keyword"])
	if !a.limiter.Allow(m.From.ID, now) {
		if m.Meta == nil {
			m.Meta = map[string]string{}
		}
		m.Meta["rate_limited"] = "true"
	}
	ctx := r.Context()
	switch kw {
	case sms.KeywordStop, sms.KeywordStart:
		// Stored first; the choice is applied only for a new message, so
		// a replayed old START cannot undo a later STOP. The router
		// applies it too (the keyword travels in Meta), so a failure
		// here is repaired moments later.
		ack, err := a.bus.PublishInbound(ctx, m, nil)
		if err != nil {
			a.log.Error("inbound not stored", "err", err)
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
		if !ack.Duplicate {
			if err := a.optouts.Set(ctx, m.Conversation, kw == sms.KeywordStop, now); err != nil {
				a.log.Error("opt-out not stored here; the router records it", "err", err)
			}
		}
		lang := "en"
		if t := strings.TrimSpace(m.Text); t == "退订" || strings.EqualFold(t, "td") {
			lang = "zh"
		}
		writeTwiML(w, keywordReplies[lang][kw])
		return
	}

	// Stored before we answer: if this fails Twilio hears an error, and
	// nothing was acknowledged that we do not have.
	res, err := passive.Exchange(ctx, a.bus, m, now.Add(a.cfg.ReplyWindow), 5, "twilio-api")
	if !passive.Settle(w, a.log, m, res, err) {
		return
	}
	// A retry of a message we hold gets no replies: they went the other way.
	replies := res.Replies
	var texts []string
	var viaAPI []envelope.Reply
	for _, rep := range replies {
		// TwiML carries plain text up to Twilio's 1,600 characters;
		// media and longer texts go through the API.
		if len(rep.Media) == 0 && rep.Text != "" && utf8.RuneCountInString(rep.Text) <= maxTwiMLText {
			texts = append(texts, rep.Text)
		} else {
			viaAPI = append(viaAPI, rep)
		}
	}
	if len(viaAPI) > 0 {
		if err := passive.Forward(ctx, a.bus, "twilio-api", viaAPI...); err != nil {
			a.log.Error("replies TwiML cannot carry were not queued", "err", err)
		}
	}
	writeTwiML(w, texts...)
}

// ToMessage turns a Twilio inbound webhook's form into an envelope. It is
// pure so that testdata/ golden files pin its behaviour.
func ToMessage(form url.Values, account, region, id string, now time.Time) (*envelope.Message, error) {
	sid := form.Get("MessageSid")
	if sid == "" {
		sid = form.Get("SmsMessageSid")
	}
	if sid == "" {
		return nil, errors.New("twilio: MessageSid is missing")
	}
	rawFrom := form.Get("From")
	if rawFrom == "" {
		return nil, errors.New("twilio: From is missing")
	}
	from, err := sms.Normalize(rawFrom, region)
	if err != nil {
		// Short codes and alphanumeric senders are not E.164; keep them
		// as they came so the conversation still has a stable key.
		from = rawFrom
	}
	m := &envelope.Message{
		ID:            id,
		Platform:      envelope.PlatformSMS,
		Account:       account,
		PlatformMsgID: sid,
		Conversation:  envelope.ConversationKey(envelope.PlatformSMS, account, from),
		From:          envelope.Party{ID: from, Phone: from},
		To:            envelope.Party{ID: form.Get("To"), Phone: form.Get("To")},
		Kind:          envelope.KindText,
		Text:          form.Get("Body"),
		ReceivedAt:    now,
		Meta:          map[string]string{},
	}
	if n, _ := strconv.Atoi(form.Get("NumMedia")); n > 0 {
		for i := range min(n, 10) {
			u := form.Get("MediaUrl" + strconv.Itoa(i))
			if u == "" {
				continue
			}
			mime := form.Get("MediaContentType" + strconv.Itoa(i))
			m.Media = append(m.Media, envelope.Media{Kind: mediaKind(mime), URL: u, MIME: mime})
		}
		if m.Text == "" && len(m.Media) > 0 {
			m.Kind = m.Media[0].Kind
		}
	}
	if kw := sms.ParseKeyword(m.Text); kw != sms.KeywordNone {
		m.Meta["carrier_keyword"] = string(kw)
	}
	for param, key := range map[string]string{"NumSegments": "num_segments", "FromCountry": "from_country", "OptOutType": "opt_out_type"} {
		if v := form.Get(param); v != "" {
			m.Meta[key] = v
		}
	}
	if len(m.Meta) == 0 {
		m.Meta = nil
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("twilio: %w", err)
	}
	return m, nil
}

func mediaKind(mime string) envelope.Kind {
	switch {
	case strings.HasPrefix(mime, "image/"):
		return envelope.KindImage
	case strings.HasPrefix(mime, "audio/"):
		return envelope.KindVoice
	case strings.HasPrefix(mime, "video/"):
		return envelope.KindVideo
	}
	return envelope.KindFile
}

type twiml struct {
	XMLName  xml.Name `xml:"Response"`
	Messages []string `xml:"Message"`
}

// writeTwiML answers with the given messages; none is <Response/>, which
// tells Twilio to send nothing.
func writeTwiML(w http.ResponseWriter, texts ...string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	out, _ := xml.Marshal(twiml{Messages: texts})
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}

// Send delivers a reply through the Messages API. Twilio takes at most
// 1,600 characters per message (error 21617 beyond), and replies rerouted
// from chat platforms can be longer, so a long text goes as several
// messages in order. Which parts left is kept in hotline_sent, so a retry
// sends only the rest.
func (a *Adapter) Send(ctx context.Context, r envelope.Reply) (envelope.Receipt, error) {
	parts := splitText(r.Text, maxTwiMLText)
	done := outbound.LoadParts(ctx, a.bus.KV(bus.BucketSent), envelope.PlatformSMS, r.ID, len(parts))
	sent := done.Sent()
	var receipt envelope.Receipt
	for i := sent; i < len(parts); i++ {
		part := r
		part.Text = parts[i]
		if i < len(parts)-1 {
			part.Media = nil // media ride on the last part
		}
		rc, err := a.sendOne(ctx, part)
		if err != nil {
			return envelope.Receipt{}, err
		}
		if i == sent {
			receipt = rc
		} else {
			receipt.Segments += rc.Segments
		}
		if err := done.Record(ctx, rc.PlatformMsgID); err != nil {
			a.log.Warn("recording SMS parts sent; a retry may repeat some", "reply", r.ID, "err", err)
		}
	}
	return receipt, nil
}

// splitText cuts text into parts of at most limit characters, at a
// newline or space in the last fifth of a part when there is one.
func splitText(text string, limit int) []string {
	runes := []rune(text)
	var parts []string
	for len(runes) > limit {
		cut := limit
		for i := limit; i > limit*4/5; i-- {
			if runes[i-1] == '\n' || runes[i-1] == ' ' {
				cut = i
				break
			}
		}
		parts = append(parts, string(runes[:cut]))
		runes = runes[cut:]
	}
	return append(parts, string(runes))
}

func (a *Adapter) sendOne(ctx context.Context, r envelope.Reply) (envelope.Receipt, error) {
	to := r.To.Phone
	if to == "" {
		to = r.To.ID
	}
	form := url.Values{"To": {to}, "From": {a.cfg.From}, "Body": {r.Text}}
	for _, m := range r.Media {
		if m.URL != "" {
			form.Add("MediaUrl", m.URL)
		}
	}
	if a.cfg.PublicURL != "" {
		form.Set("StatusCallback", a.cfg.PublicURL+"/webhooks/sms/"+a.cfg.Account+"/status?reply="+url.QueryEscape(r.ID))
	}
	endpoint := a.cfg.APIBase + "/2010-04-01/Accounts/" + url.PathEscape(a.cfg.AccountSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return envelope.Receipt{}, outbound.PermanentError("bad_request", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(a.cfg.AccountSID, a.cfg.AuthToken.Reveal())
	resp, err := a.http.Do(req)
	if err != nil {
		return envelope.Receipt{}, outbound.RetryableError("transport", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated {
		var ok struct {
			SID         string `json:"sid"`
			NumSegments string `json:"num_segments"`
		}
		if err := json.Unmarshal(body, &ok); err != nil || ok.SID == "" {
			return envelope.Receipt{}, outbound.RetryableError("bad_response", fmt.Errorf("twilio: %d with no sid", resp.StatusCode))
		}
		segs, _ := strconv.Atoi(ok.NumSegments)
		return envelope.Receipt{PlatformMsgID: ok.SID, SentAt: a.now().UTC(), Segments: segs}, nil
	}
	return envelope.Receipt{}, a.classify(ctx, r, resp, body)
}

// classify maps Twilio's answer to what the delivery loop should do.
// Codes: https://www.twilio.com/docs/api/errors.
func (a *Adapter) classify(ctx context.Context, r envelope.Reply, resp *http.Response, body []byte) error {
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &e)
	cause := fmt.Errorf("twilio: HTTP %d, code %d: %s", resp.StatusCode, e.Code, e.Message)
	switch {
	case e.Code == 21610:
		// The user texted STOP to the carrier or Twilio: record it, so
		// nothing else is even tried.
		if err := a.optouts.Set(ctx, r.Conversation, true, a.now()); err != nil {
			a.log.Error("recording a carrier opt-out", "err", err)
		}
		return outbound.PermanentError("opted_out", cause)
	case e.Code == 21211 || e.Code == 21612 || e.Code == 21614 || e.Code == 21635:
		return outbound.PermanentError("invalid_number", cause)
	case resp.StatusCode == http.StatusTooManyRequests || e.Code == 20429 || e.Code == 21611:
		// 21611: the sender's queue of pending messages is full.
		after, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return outbound.ThrottledError("throttled", time.Duration(after)*time.Second, cause)
	case e.Code == 20003 || resp.StatusCode == http.StatusUnauthorized:
		// Credentials are an operator's fix; keep retrying with backoff
		// rather than dropping replies.
		return outbound.RetryableError("auth_failed", cause)
	case resp.StatusCode >= 500:
		return outbound.RetryableError("http_"+strconv.Itoa(resp.StatusCode), cause)
	}
	return outbound.PermanentError("twilio_"+strconv.Itoa(e.Code), cause)
}

// statusStates maps Twilio's message status to hotline's; the ones left
// out (queued, accepted, scheduled, sending) say nothing new.
var statusStates = map[string]envelope.DeliveryState{
	"sent":        envelope.StateSent,
	"delivered":   envelope.StateDelivered,
	"read":        envelope.StateDelivered,
	"undelivered": envelope.StateFailed,
	"failed":      envelope.StateFailed,
	"canceled":    envelope.StateFailed,
}

func (a *Adapter) status(w http.ResponseWriter, r *http.Request) {
	form, ok := a.verifiedForm(w, r)
	if !ok {
		return
	}
	sid, st := form.Get("MessageSid"), form.Get("MessageStatus")
	if sid == "" || st == "" {
		http.Error(w, "MessageSid and MessageStatus are required", http.StatusBadRequest)
		return
	}
	state, known := statusStates[st]
	if !known {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	replyID := r.URL.Query().Get("reply")
	if replyID == "" {
		replyID = "twilio:" + sid
	}
	ev := envelope.Status{ReplyID: replyID, Platform: envelope.PlatformSMS, Account: a.cfg.Account, State: state,
		PlatformMsgID: sid, At: a.now().UTC()}
	if code := form.Get("ErrorCode"); code != "" && state == envelope.StateFailed {
		ev.Error = "twilio " + st + ", error " + code
	} else if state == envelope.StateFailed {
		ev.Error = "twilio " + st
	}
	subject, _ := envelope.StatusSubject(envelope.PlatformSMS, a.cfg.Account)
	if _, err := a.bus.PublishJSON(r.Context(), subject, &ev, "status:"+sid+":"+st, nil); err != nil {
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
