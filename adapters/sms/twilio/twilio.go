// Package twilio is the Twilio-compatible SMS provider: signed inbound
// webhooks, TwiML replies inside the window, the Messages REST API for
// everything else, and signed delivery status callbacks. Compatible
// providers work through api_base.
package twilio

import (
	"cmp"
	"context"
	"encoding/base64"
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

	"github.com/prometheus/client_golang/prometheus"

	"hotline/adapters/sms"
	"hotline/adapters/sms/gsm"
	"hotline/adapters/webhook"
	"hotline/bus"
	"hotline/envelope"
	"hotline/outbound"
	"hotline/passive"
	"hotline/platform"
	"hotline/textsplit"
)

// DefaultAPIBase is Twilio's REST API.
const DefaultAPIBase = "https://api.twilio.com"

// Config is one Twilio account as hotline uses it: an entry of
// accounts.sms with provider: twilio, whose keys are the mapstructure tags.
type Config struct {
	Account    string          `mapstructure:"name"` // hotline's account name, e.g. sms-main
	Provider   string          `mapstructure:"provider"`
	AccountSID string          `mapstructure:"account_sid"`
	AuthToken  envelope.Secret `mapstructure:"auth_token"`
	From       string          `mapstructure:"from"` // E.164 sender
	// WhatsAppFrom is the sender for WhatsApp users ("whatsapp:+E164");
	// empty means From on WhatsApp.
	WhatsAppFrom string `mapstructure:"whatsapp_from"`
	APIBase      string `mapstructure:"api_base"`
	// PublicURL is how Twilio reaches hotline (http.public_url:
	// https://hooks.example.com); signatures are checked against it, and
	// status callbacks point to it.
	PublicURL string `mapstructure:"-"`
	// DefaultRegion (ISO 3166, "CN") reads numbers written without a
	// country code, and is where verification codes may go by default.
	DefaultRegion string `mapstructure:"default_region"`
	// ReplyWindow is how long an inbound webhook waits for the router to
	// answer in TwiML. Twilio waits 15 s; a few seconds is plenty.
	ReplyWindow time.Duration `mapstructure:"reply_window"`
	// SendRate caps sends per second; 0 takes the platform's limit.
	SendRate float64 `mapstructure:"send_rate"`
	// InboundEvery and InboundBurst bound how fast one number may text.
	InboundEvery time.Duration `mapstructure:"-"`
	InboundBurst int           `mapstructure:"-"`
}

// twilioTimeout is how long Twilio waits for a webhook's answer.
const twilioTimeout = 15 * time.Second

// Validate reports every setting that is wrong, each starting with its key.
func (c *Config) Validate() error {
	var p platform.Problems
	p.Name(c.Account)
	if c.Provider != "" && c.Provider != Provider {
		p.Add("provider", "%q is not %s", c.Provider, Provider)
	}
	p.Required("account_sid", c.AccountSID != "")
	p.Required("auth_token", !c.AuthToken.IsZero())
	if _, err := sms.Normalize(c.From, ""); err != nil {
		p.Add("from", "%q is not an E.164 number such as +15550100", c.From)
	}
	if c.WhatsAppFrom != "" {
		if wa := parseAddress(c.WhatsAppFrom, ""); !wa.WhatsApp || wa.Phone == "" {
			p.Add("whatsapp_from", "%q is not whatsapp: and an E.164 number such as whatsapp:+15550100", c.WhatsAppFrom)
		}
	}
	p.Region(c.DefaultRegion)
	p.URL("api_base", c.APIBase)
	if c.ReplyWindow < 0 || c.ReplyWindow >= twilioTimeout {
		p.Add("reply_window", "%s must be under 15s (Twilio stops waiting at 15s)", c.ReplyWindow)
	}
	p.SendRate(c.SendRate)
	return p.Err()
}

// Deps are the adapter's collaborators.
type Deps struct {
	Bus        *bus.Bus
	Logger     *slog.Logger
	HTTPClient *http.Client
	Now        func() time.Time
	// Registry exports hotline_sms_segments_total; nil keeps it private.
	Registry prometheus.Registerer
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
	// segments counts the SMS segments of the messages Twilio accepted.
	segments prometheus.Counter
}

// New checks cfg and builds the adapter.
func New(cfg Config, deps Deps) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, platform.Prefixed("twilio "+cfg.Account+": ", err)
	}
	if deps.Bus == nil {
		return nil, fmt.Errorf("twilio %s: a bus is required", cfg.Account)
	}
	from, err := sms.Normalize(cfg.From, "")
	if err != nil {
		return nil, fmt.Errorf("twilio %s: from: %w", cfg.Account, err)
	}
	cfg.From = from
	if cfg.WhatsAppFrom == "" {
		cfg.WhatsAppFrom = whatsappPrefix + from
	}
	cfg.WhatsAppFrom = parseAddress(cfg.WhatsAppFrom, "").ID
	cfg.APIBase = platform.APIBase(cfg.APIBase, DefaultAPIBase)
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.ReplyWindow <= 0 {
		cfg.ReplyWindow = 4 * time.Second
	}
	if cfg.InboundEvery <= 0 {
		cfg.InboundEvery, cfg.InboundBurst = 2*time.Second, 10
	}
	a := &Adapter{cfg: cfg, bus: deps.Bus,
		optouts: sms.NewOptOuts(deps.Bus), limiter: sms.NewInboundLimiter(cfg.InboundEvery, cfg.InboundBurst)}
	rt := platform.NewRuntime(deps.Logger, deps.HTTPClient, deps.Now, envelope.PlatformSMS, cfg.Account)
	a.log, a.http, a.now = rt.Log, rt.HTTP, rt.Now
	c, err := segmentCounter(deps.Registry)
	if err != nil {
		return nil, fmt.Errorf("twilio %s: metrics: %w", cfg.Account, err)
	}
	a.segments = c.WithLabelValues(cfg.Account)
	return a, nil
}

// segmentCounter registers hotline_sms_segments_total, or finds the one
// another account's adapter registered on the same registry.
func segmentCounter(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	return webhook.RegisterCounterVec(reg, prometheus.CounterOpts{
		Name: "hotline_sms_segments_total",
		Help: "SMS segments of the messages the provider accepted through its API, as hotline counts them " +
			"(GSM-7 or UCS-2, 153 septets or 67 units a part when concatenated), by account. " +
			"WhatsApp and MMS messages are not counted.",
	}, "account")
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
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "body larger than 64 KiB", http.StatusRequestEntityTooLarge)
			return nil, false
		}
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
		writeTwiML(w, sms.KeywordReply(m.Text, kw))
		return
	}

	// Stored before we answer: if this fails Twilio hears an error, and
	// nothing was acknowledged that we do not have.
	res, err := passive.Exchange(ctx, a.bus, m, now.Add(a.cfg.ReplyWindow), 5, "twilio-api")
	if !passive.Settle(w, a.log, m, res, err) {
		return
	}
	// Twilio posts a message again only to the fallback URL, and only
	// when the primary failed: the first answer never reached it, so the
	// replies that request's window took (an instance that died before
	// writing them) are given here rather than lost.
	replies := res.Replies
	if res.Duplicate {
		replies = passive.Earlier(ctx, a.bus, res.Original, 5)
	}
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
	from, to := parseAddress(rawFrom, region), parseAddress(form.Get("To"), region)
	if !from.Valid {
		return nil, fmt.Errorf("twilio: From %q is neither a phone number, a short code, a sender id nor a whatsapp: address", truncate(rawFrom, 40))
	}
	m := &envelope.Message{
		ID:            id,
		Platform:      envelope.PlatformSMS,
		Account:       account,
		PlatformMsgID: sid,
		Conversation:  envelope.ConversationKey(envelope.PlatformSMS, account, from.ID),
		From:          envelope.Party{ID: from.ID, Phone: from.Phone, Name: form.Get("ProfileName")},
		To:            envelope.Party{ID: to.ID, Phone: to.Phone},
		Kind:          envelope.KindText,
		ReceivedAt:    now,
		Meta:          map[string]string{},
	}
	if from.WhatsApp {
		m.Meta["channel"] = "whatsapp"
	}
	if err := setBody(m, form); err != nil {
		return nil, err
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
	if loc := location(form); loc != nil {
		m.Kind, m.Location = envelope.KindLocation, loc
	}
	// A quick-reply button: its payload is what the user "said" (a menu
	// code, as with Telegram's buttons), else the label they tapped.
	if label, payload := form.Get("ButtonText"), form.Get("ButtonPayload"); label != "" || payload != "" {
		m.Kind, m.Text = envelope.KindText, cmp.Or(payload, label)
		if label != "" {
			m.Meta["button_text"] = label
		}
		if payload != "" {
			m.Meta["button_payload"] = payload
		}
	}
	kw := sms.ParseKeyword(m.Text)
	if kw == sms.KeywordNone {
		kw = sms.ParseKeyword(form.Get("ButtonText"))
	}
	if kw == sms.KeywordNone {
		// Twilio's Advanced Opt-Out matched one of the account's own
		// keywords (any language); Twilio already acts on it, so must we.
		kw = optOutTypes[strings.ToUpper(form.Get("OptOutType"))]
	}
	if kw != sms.KeywordNone {
		m.Meta["carrier_keyword"] = string(kw)
	}
	for param, key := range map[string]string{"NumSegments": "num_segments", "FromCountry": "from_country", "OptOutType": "opt_out_type",
		"MessageType": "message_type", "WaId": "wa_id"} {
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

var optOutTypes = map[string]sms.Keyword{"STOP": sms.KeywordStop, "START": sms.KeywordStart, "HELP": sms.KeywordHelp}

// ErrBadBody is wrapped by ToMessage's error for a Body that says it is
// base64 and is not.
var ErrBadBody = errors.New("twilio: Body is not valid base64")

// setBody puts the message text in m. Twilio itself always sends Body as
// UTF-8 text. Some Twilio-compatible providers send it base64-encoded
// and say so with Encoding=base64, or with MessageType=base64 or binary
// (a binary SMS); a body that then does not decode is refused, since
// storing it as text would hand the router garbage. Decoded bytes that
// are not UTF-8 text (binary SMS payloads) are kept, still encoded, in
// Meta with the message marked raw.
func setBody(m *envelope.Message, form url.Values) error {
	body := form.Get("Body")
	encoded := strings.EqualFold(form.Get("Encoding"), "base64")
	switch strings.ToLower(form.Get("MessageType")) {
	case "base64", "binary":
		encoded = true
	}
	if !encoded {
		m.Text = body
		return nil
	}
	compact := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1 // line-wrapped base64
		}
		return r
	}, body)
	raw, err := base64.StdEncoding.DecodeString(compact)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(compact)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadBody, err)
	}
	m.Meta["body_encoding"] = "base64"
	if !utf8.Valid(raw) {
		m.Kind = envelope.KindRaw
		m.Meta["body_base64"] = compact
		return nil
	}
	m.Text = string(raw)
	return nil
}

// location reads a WhatsApp location message; nil when the form holds
// no usable point (missing, unparsable or out of range).
func location(form url.Values) *envelope.Location {
	latS, lonS := form.Get("Latitude"), form.Get("Longitude")
	if latS == "" || lonS == "" {
		return nil
	}
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(latS), 64)
	lon, err2 := strconv.ParseFloat(strings.TrimSpace(lonS), 64)
	// NaN fails both comparisons, so it is refused too.
	if err1 != nil || err2 != nil || !(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180) {
		return nil
	}
	return &envelope.Location{Lat: lat, Lon: lon, Label: form.Get("Label"), Address: form.Get("Address")}
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
// sends only the rest. The receipt's Segments adds up the SMS segments of
// the parts sent: Twilio's num_segments for each, or where an answer does
// not say, hotline's own count (gsm.Analyze), which also feeds
// hotline_sms_segments_total.
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

// splitText cuts text into the fewest messages of at most limit runes,
// with textsplit's SMS rules (textsplit.Splitter with Exact): joining them
// gives the text back byte for byte, white space at a cut staying at the
// end of the earlier message; each ends after a line break, else a
// sentence end, else a space in its second half when that costs no extra
// message, else not inside a grapheme cluster when that costs none
// either. The empty text is one empty message, which media ride on.
func splitText(text string, limit int) []string {
	return textsplit.Splitter{Limit: limit, Exact: true}.Split(text)
}

// smsSegments is how many SMS a message of text to the address to is sent
// as (gsm.Analyze), or 0 when it is no SMS: a WhatsApp message, or an MMS
// (with media), which is not cut into SMS segments.
func smsSegments(to, text string, media bool) int {
	if media || strings.HasPrefix(to, whatsappPrefix) {
		return 0
	}
	return gsm.Analyze(text).Segments
}

// route says where a reply goes and from which sender. A WhatsApp user
// (the reply's To or, for a reply built from the conversation alone, the
// conversation's user) gets it on WhatsApp from the WhatsApp sender:
// without the prefix Twilio would text the number instead.
func (a *Adapter) route(r envelope.Reply) (to, from string) {
	for _, id := range []string{r.To.ID, conversationUser(r.Conversation)} {
		if ad := parseAddress(id, a.cfg.DefaultRegion); ad.WhatsApp {
			return ad.ID, a.cfg.WhatsAppFrom
		}
	}
	return cmp.Or(r.To.Phone, r.To.ID), a.cfg.From
}

func (a *Adapter) sendOne(ctx context.Context, r envelope.Reply) (envelope.Receipt, error) {
	to, from := a.route(r)
	form := url.Values{"To": {to}, "From": {from}, "Body": {r.Text}}
	for _, m := range r.Media {
		if m.URL != "" {
			form.Add("MediaUrl", m.URL)
		}
	}
	segments := smsSegments(to, r.Text, form.Has("MediaUrl"))
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
		// Twilio sends num_segments as a string ("2"); a compatible
		// provider may send a number, null, or nothing.
		var ok struct {
			SID         string          `json:"sid"`
			NumSegments json.RawMessage `json:"num_segments"`
		}
		if err := json.Unmarshal(body, &ok); err != nil || ok.SID == "" {
			return envelope.Receipt{}, outbound.RetryableError("bad_response", fmt.Errorf("twilio: %d with no sid", resp.StatusCode))
		}
		a.segments.Add(float64(segments))
		// Twilio's count is what it bills, so it wins; an answer that
		// does not give one gets hotline's.
		segs, _ := strconv.Atoi(strings.Trim(string(ok.NumSegments), `"`))
		if segs <= 0 {
			segs = segments
		}
		return envelope.Receipt{PlatformMsgID: ok.SID, SentAt: a.now().UTC(), Segments: segs}, nil
	}
	return envelope.Receipt{}, a.classify(ctx, r, resp, body)
}

// optOutCodes are the errors that mean the recipient unsubscribed:
// 21610, Twilio's "Attempt to send to unsubscribed recipient" after a
// STOP (or an Advanced Opt-Out keyword) to the sender or its Messaging
// Service. Only a START undoes it, so hotline records it like a STOP.
// 63014 (WhatsApp: blocked by user action) is not one: a user who
// unblocks and writes again expects answers, not silence until START.
var optOutCodes = map[int]bool{21610: true}

// classify maps Twilio's answer to what the delivery loop should do.
// Codes: https://www.twilio.com/docs/api/errors; WhatsApp's own map onto
// 630xx (https://www.twilio.com/docs/whatsapp/api/error-code-mapping).
func (a *Adapter) classify(ctx context.Context, r envelope.Reply, resp *http.Response, body []byte) error {
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &e)
	cause := fmt.Errorf("twilio: HTTP %d, code %d: %s", resp.StatusCode, e.Code, e.Message)
	switch {
	case optOutCodes[e.Code]:
		// Record it, so nothing else is even tried.
		if err := a.optouts.Set(ctx, r.Conversation, true, a.now()); err != nil {
			a.log.Error("recording a carrier opt-out", "err", err)
		}
		return outbound.PermanentError("opted_out", cause)
	case e.Code == 63016:
		// WhatsApp's 24-hour customer service window has closed: only an
		// approved template may go now. The loop reroutes by SMS when it
		// can, else dead-letters with this reason.
		return outbound.PermanentError(outbound.ReasonWindowClosed, cause)
	case e.Code == 21211 || e.Code == 21612 || e.Code == 21614 || e.Code == 21635 ||
		e.Code == 63003 || e.Code == 63024:
		// 63003: the channel could not find To (not on WhatsApp);
		// 63024: invalid message recipient.
		return outbound.PermanentError("invalid_number", cause)
	case e.Code == 63014:
		return outbound.PermanentError("blocked", cause)
	case resp.StatusCode == http.StatusTooManyRequests || e.Code == 20429 || e.Code == 21611 || e.Code == 63018:
		// 21611: the sender's queue of pending messages is full;
		// 63018: the channel's (WhatsApp's) rate limit.
		after, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return outbound.ThrottledError("throttled", time.Duration(after)*time.Second, cause)
	case e.Code == 20003 || e.Code == 63001 || resp.StatusCode == http.StatusUnauthorized:
		// Credentials are an operator's fix (63001: the channel could not
		// authenticate); keep retrying with backoff rather than dropping
		// replies.
		return outbound.RetryableError("auth_failed", cause)
	case e.Code == 63010 || e.Code == 63012:
		// Twilio's or the channel provider's internal error.
		return outbound.RetryableError("channel_error", cause)
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

// statusReasons name the codes a status callback's reader most needs
// to tell apart.
var statusReasons = map[string]string{"21610": "opted_out", "63016": outbound.ReasonWindowClosed}

// status takes a delivery status callback. A malformed one is answered
// 204 with a debug line: Twilio does not retry a callback usefully, and a
// 4xx only fills its debugger. A bad signature is still 403.
func (a *Adapter) status(w http.ResponseWriter, r *http.Request) {
	form, ok := a.verifiedForm(w, r)
	if !ok {
		return
	}
	sid, st := form.Get("MessageSid"), form.Get("MessageStatus")
	if sid == "" || st == "" {
		a.log.Debug("status callback without MessageSid or MessageStatus ignored", "params", len(form))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	state, known := statusStates[st]
	if !known {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	ctx := r.Context()
	code := form.Get("ErrorCode")
	if n, err := strconv.Atoi(code); err == nil && optOutCodes[n] && state == envelope.StateFailed {
		// The opt-out Twilio holds for this recipient becomes ours, so the
		// next reply is refused here instead of billed and refused there.
		if to := parseAddress(form.Get("To"), a.cfg.DefaultRegion); to.ID != "" {
			conv := envelope.ConversationKey(envelope.PlatformSMS, a.cfg.Account, to.ID)
			if err := a.optouts.Set(ctx, conv, true, a.now()); err != nil {
				a.log.Error("opt-out from a status callback not stored", "err", err)
				http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
				return
			}
			a.log.Info("recipient opted out (delivery callback)", "error_code", code)
		} else {
			a.log.Debug("opt-out status callback without To; nothing recorded", "sid", sid)
		}
	}
	replyID := r.URL.Query().Get("reply")
	if replyID == "" {
		replyID = "twilio:" + sid
	}
	ev := envelope.Status{ReplyID: replyID, Platform: envelope.PlatformSMS, Account: a.cfg.Account, State: state,
		PlatformMsgID: sid, At: a.now().UTC()}
	if code != "" && state == envelope.StateFailed {
		ev.Error = "twilio " + st + ", error " + code
		if reason, ok := statusReasons[code]; ok {
			ev.Error += " (" + reason + ")"
		}
	} else if state == envelope.StateFailed {
		ev.Error = "twilio " + st
	}
	subject, _ := envelope.StatusSubject(envelope.PlatformSMS, a.cfg.Account)
	if _, err := a.bus.PublishJSON(ctx, subject, &ev, "status:"+sid+":"+st, nil); err != nil {
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
