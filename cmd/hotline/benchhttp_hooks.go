package main

// The platforms of `hotline bench --http`: the accounts configured for the
// run, and for each platform a signed webhook request and the check that
// its response carries the reply.

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"hotline/adapters/sms/twilio"
	"hotline/adapters/telegram"
	"hotline/adapters/wechat"
	"hotline/adapters/weibo"
	"hotline/config"
	"hotline/envelope"
)

// benchIDs make a run's messages and users unique, also against a running
// gateway that saw earlier runs: platforms' message ids are its dedup ids
// (remembered for two days in hotline_seen), and fresh users keep
// sessions from earlier runs out of the measurement.
type benchIDs struct {
	users    int
	userBase int64
	msgBase  int64
	start    time.Time
}

func newBenchIDs(users int) benchIDs {
	return benchIDs{users: users, userBase: mrand.Int64N(1_000_000_000), msgBase: mrand.Int64N(1<<36) << 24, start: time.Now()}
}

// benchMsg is one message of a run: from user i mod users of message i,
// that user's seq-th.
type benchMsg struct {
	user, seq int
	id        int64     // unique message number
	userID    int64     // unique user number
	start     time.Time // of the run
}

func (b benchIDs) msg(i int) benchMsg {
	u := i % b.users
	return benchMsg{user: u, seq: i / b.users, id: b.msgBase + int64(i), userID: b.userID(u), start: b.start}
}

func (b benchIDs) userID(user int) int64 { return b.userBase + int64(user) }

// webhookHook is one platform as the bench plays it: it builds signed
// webhook requests as the platform does and reads the answers as the
// platform would.
type webhookHook interface {
	// request is message m signed for a gateway at base whose
	// signatures cover signBase.
	request(ctx context.Context, base, signBase string, m benchMsg) (*http.Request, error)
	// replies counts the replies an answer carries and whether they are
	// well formed and addressed to m's sender.
	replies(status int, body []byte, m benchMsg) (int, bool)
	// apiPlatform and recipient name the sender of a user number as the
	// fake API records a reply sent to them, to match replies that went
	// that way.
	apiPlatform() string
	recipient(userID int64) string
}

// benchAccounts are one account per platform the bench can drive.
type benchAccounts struct {
	telegram   *telegram.Config
	wechat     *wechat.Config
	wechatSafe *wechat.Config
	weibo      *weibo.Config
	twilio     *twilio.Config
}

// newBenchAccounts makes accounts with fresh secrets whose platform APIs
// are at apiBase.
func newBenchAccounts(apiBase string) (benchAccounts, error) {
	aes := make([]byte, 32)
	if _, err := rand.Read(aes); err != nil {
		return benchAccounts{}, fmt.Errorf("bench: %w", err)
	}
	// An EncodingAESKey is 43 characters: base64 of 32 bytes without "=".
	aesKey := strings.TrimRight(base64.StdEncoding.EncodeToString(aes), "=")
	secret := func() envelope.Secret { return envelope.Secret(rand.Text()) }
	return benchAccounts{
		telegram: &telegram.Config{Account: "bench-tg", APIBase: apiBase, Token: envelope.Secret("7000000001:" + rand.Text()),
			Mode: telegram.ModeWebhook, WebhookSecret: secret(), ReplyWindow: telegram.DefaultReplyWindow},
		wechat: &wechat.Config{Account: "bench-oa", APIBase: apiBase, AppID: "wxbench00000000001", AppSecret: secret(), Token: secret(),
			ReplyWindow: wechat.DefaultReplyWindow, ReplayWindow: wechat.DefaultReplayWindow},
		wechatSafe: &wechat.Config{Account: "bench-oa-safe", APIBase: apiBase, AppID: "wxbench00000000002", AppSecret: secret(), Token: secret(),
			EncodingAESKey: envelope.Secret(aesKey), ReplyWindow: wechat.DefaultReplyWindow, ReplayWindow: wechat.DefaultReplayWindow},
		weibo: &weibo.Config{Account: "bench-weibo", APIBase: apiBase, AppKey: "100000", AppSecret: secret(), AccessToken: secret(),
			ReplyWindow: weibo.DefaultReplyWindow, ReplayWindow: weibo.DefaultReplayWindow},
		// Each number may text 10 messages, then one every 2 s; past that
		// a message is stored and not answered. A run sends far more per
		// number than a person can, so the limit is lifted here.
		twilio: &twilio.Config{Account: "bench-sms", Provider: twilio.Provider, APIBase: apiBase, AccountSID: "AC" + strings.Repeat("0", 32),
			AuthToken: secret(), From: "+14155550100", ReplyWindow: 4 * time.Second, InboundEvery: time.Nanosecond, InboundBurst: math.MaxInt32},
	}, nil
}

// configured are the config entries of the accounts the platforms need.
func (a benchAccounts) configured(platforms []string) []config.Account {
	var out []config.Account
	for _, p := range platforms {
		switch p {
		case "telegram":
			out = append(out, config.AccountOf(telegram.Platform(), a.telegram))
		case "wechat":
			out = append(out, config.AccountOf(wechat.Platform(), a.wechat))
		case "wechat-safe":
			out = append(out, config.AccountOf(wechat.Platform(), a.wechatSafe))
		case "weibo":
			out = append(out, config.AccountOf(weibo.Platform(), a.weibo))
		case "twilio":
			out = append(out, config.AccountOf(twilio.Platform(), a.twilio))
		}
	}
	return out
}

// accountsFromConfig takes the first enabled account of each kind.
func accountsFromConfig(cfg config.Config) benchAccounts {
	var a benchAccounts
	for _, acct := range cfg.Accounts {
		if !acct.Enabled() {
			continue
		}
		switch s := acct.Settings.(type) {
		case *telegram.Config:
			if a.telegram == nil && s.Mode == telegram.ModeWebhook {
				a.telegram = s
			}
		case *wechat.Config:
			if s.EncodingAESKey.IsZero() && a.wechat == nil {
				a.wechat = s
			} else if !s.EncodingAESKey.IsZero() && a.wechatSafe == nil {
				a.wechatSafe = s
			}
		case *weibo.Config:
			if a.weibo == nil {
				a.weibo = s
			}
		case *twilio.Config:
			if a.twilio == nil {
				a.twilio = s
			}
		}
	}
	return a
}

// hook is the webhook player of the named platform's account.
func (a benchAccounts) hook(name string) (webhookHook, error) {
	missing := func(what string) error { return fmt.Errorf("no %s account", what) }
	switch name {
	case "telegram":
		if a.telegram == nil {
			return nil, missing("Telegram webhook")
		}
		return telegramHook{cfg: a.telegram}, nil
	case "wechat", "wechat-safe":
		cfg := a.wechat
		if name == "wechat-safe" {
			cfg = a.wechatSafe
		}
		if cfg == nil && name == "wechat-safe" {
			return nil, missing("WeChat safe-mode (with encoding_aes_key)")
		}
		if cfg == nil {
			return nil, missing("WeChat plaintext (without encoding_aes_key)")
		}
		h := wechatHook{cfg: cfg, prefix: "oBench"}
		if !cfg.EncodingAESKey.IsZero() {
			key, err := wechat.AESKey(cfg.EncodingAESKey.Reveal())
			if err != nil {
				return nil, fmt.Errorf("bench: %w", err)
			}
			h.key, h.prefix = key, "oBenchSafe"
		}
		return h, nil
	case "weibo":
		if a.weibo == nil {
			return nil, missing("Weibo")
		}
		return weiboHook{cfg: a.weibo}, nil
	case "twilio":
		if a.twilio == nil {
			return nil, missing("Twilio SMS")
		}
		return twilioHook{cfg: a.twilio}, nil
	}
	return nil, fmt.Errorf("bench: no platform %q", name)
}

// telegramHook posts updates with the webhook's secret token; a reply
// in the window comes back as a sendMessage call in the response body.
type telegramHook struct{ cfg *telegram.Config }

func (h telegramHook) apiPlatform() string { return envelope.PlatformTelegram }

func (h telegramHook) chatID(userID int64) int64 { return 1_000_000_000_000 + userID }

func (h telegramHook) recipient(userID int64) string { return strconv.FormatInt(h.chatID(userID), 10) }

func (h telegramHook) request(ctx context.Context, base, _ string, m benchMsg) (*http.Request, error) {
	chat := h.chatID(m.userID)
	body := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":%d,"chat":{"id":%d,"type":"private"},`+
		`"from":{"id":%d,"is_bot":false,"first_name":"Bench"},"text":%q}}`, m.id, m.seq+1, time.Now().Unix(), chat, chat, benchText)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/webhooks/telegram/"+h.cfg.Account, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("bench: telegram request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", h.cfg.WebhookSecret.Reveal())
	return req, nil
}

func (h telegramHook) replies(status int, body []byte, m benchMsg) (int, bool) {
	if status != http.StatusOK || len(bytes.TrimSpace(body)) == 0 {
		return 0, false
	}
	var call struct {
		Method string `json:"method"`
		ChatID int64  `json:"chat_id"`
		Text   string `json:"text"`
	}
	if json.Unmarshal(body, &call) != nil || call.Method != "sendMessage" {
		// answerCallbackQuery, or something unreadable: no reply.
		return 0, false
	}
	return 1, call.ChatID == h.chatID(m.userID) && call.Text != ""
}

// wechatHook pushes text messages signed with the account's token, in
// plaintext or, with key, in safe mode; a reply comes back as the passive
// XML, sealed and signed in safe mode.
type wechatHook struct {
	cfg    *wechat.Config
	key    []byte // safe mode
	prefix string // of openids, apart per account
}

func (h wechatHook) apiPlatform() string { return envelope.PlatformWeChat }

func (h wechatHook) openID(userID int64) string { return fmt.Sprintf("%s%012d", h.prefix, userID) }

func (h wechatHook) recipient(userID int64) string { return h.openID(userID) }

func (h wechatHook) request(ctx context.Context, base, _ string, m benchMsg) (*http.Request, error) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	// A nonce per request: a plaintext signature does not cover the body,
	// so the same signed query with another body is refused as a replay.
	nonce := strconv.FormatInt(m.id, 10)
	token := h.cfg.Token.Reveal()
	body := fmt.Sprintf(`<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>`+
		`<CreateTime>%s</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content><MsgId>%d</MsgId></xml>`,
		h.openID(m.userID), ts, benchText, m.id)
	q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {wechat.Signature(token, ts, nonce)}, "openid": {h.openID(m.userID)}}
	if h.key != nil {
		enc, err := wechat.Encrypt(h.key, h.cfg.AppID, nil, []byte(body))
		if err != nil {
			return nil, fmt.Errorf("bench: wechat encrypt: %w", err)
		}
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", wechat.Signature(token, ts, nonce, enc))
		body = fmt.Sprintf(`<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt></xml>`, enc)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/webhooks/wechat/"+h.cfg.Account+"?"+q.Encode(), strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("bench: wechat request: %w", err)
	}
	req.Header.Set("Content-Type", "text/xml")
	return req, nil
}

func (h wechatHook) replies(status int, body []byte, m benchMsg) (int, bool) {
	if status != http.StatusOK || len(body) == 0 || string(body) == "success" {
		return 0, false
	}
	if h.key != nil {
		var sealed struct {
			Encrypt      string `xml:"Encrypt"`
			MsgSignature string `xml:"MsgSignature"`
			TimeStamp    string `xml:"TimeStamp"`
			Nonce        string `xml:"Nonce"`
		}
		if xml.Unmarshal(body, &sealed) != nil {
			return 1, false
		}
		if wechat.Signature(h.cfg.Token.Reveal(), sealed.TimeStamp, sealed.Nonce, sealed.Encrypt) != strings.ToLower(sealed.MsgSignature) {
			return 1, false
		}
		plain, err := wechat.Decrypt(h.key, h.cfg.AppID, sealed.Encrypt)
		if err != nil {
			return 1, false
		}
		body = plain
	}
	var rep struct {
		ToUserName string `xml:"ToUserName"`
		MsgType    string `xml:"MsgType"`
		Content    string `xml:"Content"`
	}
	if xml.Unmarshal(body, &rep) != nil {
		return 1, false
	}
	return 1, rep.ToUserName == h.openID(m.userID) && rep.MsgType == "text" && rep.Content != ""
}

// weiboHook pushes text messages signed with the app secret; a reply
// comes back as the passive JSON.
type weiboHook struct{ cfg *weibo.Config }

// weiboReceiver is the account's own uid, which the configuration does
// not hold; any will do.
const weiboReceiver = 5_000_000_001

func (h weiboHook) apiPlatform() string { return envelope.PlatformWeibo }

func (h weiboHook) sender(userID int64) int64 { return 1_000_000_000_000 + userID }

func (h weiboHook) recipient(userID int64) string { return strconv.FormatInt(h.sender(userID), 10) }

func (h weiboHook) request(ctx context.Context, base, _ string, m benchMsg) (*http.Request, error) {
	now := time.Now()
	// Weibo sends no message id: the dedup id is the sender, created_at
	// to the second, the type and the content. Each user's messages are
	// dated a second apart, as a person could send them, or the same
	// "help" twice in a second would be taken for a retry.
	created := m.start.Add(time.Duration(m.seq) * time.Second)
	body := fmt.Sprintf(`{"type":"text","receiver_id":%d,"sender_id":%d,"created_at":%q,"text":%q,"data":{}}`,
		weiboReceiver, h.sender(m.userID), created.Format(weibo.CreatedAtLayout), benchText)
	ts, nonce := strconv.FormatInt(now.UnixMilli(), 10), strconv.FormatInt(m.id, 10)
	q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {weibo.Signature(h.cfg.AppSecret.Reveal(), ts, nonce)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/webhooks/weibo/"+h.cfg.Account+"?"+q.Encode(), strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("bench: weibo request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

func (h weiboHook) replies(status int, body []byte, m benchMsg) (int, bool) {
	if status != http.StatusOK || len(bytes.TrimSpace(body)) == 0 {
		return 0, false
	}
	var rep struct {
		Result     bool   `json:"result"`
		ReceiverID string `json:"receiver_id"`
		Type       string `json:"type"`
		Data       string `json:"data"`
	}
	if json.Unmarshal(body, &rep) != nil {
		return 1, false
	}
	return 1, rep.Result && rep.ReceiverID == strconv.FormatInt(h.sender(m.userID), 10) && rep.Data != ""
}

// twilioHook posts inbound SMS forms signed with X-Twilio-Signature; a
// reply comes back as TwiML <Message> elements.
type twilioHook struct{ cfg *twilio.Config }

func (h twilioHook) apiPlatform() string { return envelope.PlatformSMS }

// phone is a valid Chinese mobile number per user (the gateway refuses
// numbers libphonenumber does not accept).
func (h twilioHook) phone(userID int64) string { return fmt.Sprintf("+86138%08d", userID%100_000_000) }

func (h twilioHook) recipient(userID int64) string { return h.phone(userID) }

func (h twilioHook) request(ctx context.Context, base, signBase string, m benchMsg) (*http.Request, error) {
	path := "/webhooks/sms/" + h.cfg.Account
	form := url.Values{"MessageSid": {fmt.Sprintf("SM%032x", m.id)}, "AccountSid": {h.cfg.AccountSID}, "From": {h.phone(m.userID)},
		"To": {h.cfg.From}, "Body": {benchText}, "NumMedia": {"0"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("bench: twilio request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Signature(h.cfg.AuthToken.Reveal(), signBase+path, form))
	return req, nil
}

func (h twilioHook) replies(status int, body []byte, _ benchMsg) (int, bool) {
	if status != http.StatusOK {
		return 0, false
	}
	var doc struct {
		XMLName  xml.Name `xml:"Response"`
		Messages []string `xml:"Message"`
	}
	if xml.Unmarshal(body, &doc) != nil {
		return 0, false
	}
	n := 0
	for _, m := range doc.Messages {
		if strings.TrimSpace(m) != "" {
			n++
		}
	}
	return n, true
}

// fakeAPIs answer every platform API the in-process gateway calls as the
// real one answers a success, and count the replies sent to each user.
type fakeAPIs struct {
	srv *httptest.Server
	mu  sync.Mutex
	n   map[string]int // platform + " " + recipient
}

func newFakeAPIs() *fakeAPIs {
	f := &fakeAPIs{n: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

func (f *fakeAPIs) count(platformName, recipient string) {
	f.mu.Lock()
	f.n[platformName+" "+recipient]++
	f.mu.Unlock()
}

// sends are the replies each recipient of a platform got so far.
func (f *fakeAPIs) sends(platformName string) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.n {
		if p, recipient, _ := strings.Cut(k, " "); p == platformName {
			out[recipient] = v
		}
	}
	return out
}

func (f *fakeAPIs) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/bot"):
		f.telegram(w, r, p[strings.LastIndex(p, "/")+1:])
	case p == "/cgi-bin/token":
		writeJSON(w, http.StatusOK, `{"access_token":"bench-access-token","expires_in":7200}`)
	case p == "/cgi-bin/message/custom/send":
		var body struct {
			ToUser string `json:"touser"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.count(envelope.PlatformWeChat, body.ToUser)
		writeJSON(w, http.StatusOK, `{"errcode":0,"errmsg":"ok"}`)
	case p == "/2/messages/reply.json":
		_ = r.ParseForm()
		f.count(envelope.PlatformWeibo, r.PostForm.Get("receiver_id"))
		writeJSON(w, http.StatusOK, `{"id":4000000000000001,"idstr":"4000000000000001"}`)
	case strings.HasPrefix(p, "/2010-04-01/Accounts/") && strings.HasSuffix(p, "/Messages.json"):
		_ = r.ParseForm()
		f.count(envelope.PlatformSMS, r.PostForm.Get("To"))
		writeJSON(w, http.StatusCreated, `{"sid":"SM00000000000000000000000000000001","status":"queued","num_segments":"1"}`)
	default:
		http.NotFound(w, r)
	}
}

// telegram answers Bot API method calls: getMe (the adapter calls it
// before it reports ready) and sendMessage, counted; anything else is ok.
func (f *fakeAPIs) telegram(w http.ResponseWriter, r *http.Request, method string) {
	switch method {
	case "getMe":
		writeJSON(w, http.StatusOK, `{"ok":true,"result":{"id":7000000001,"is_bot":true,"first_name":"Bench","username":"hotline_bench_bot"}}`)
	case "sendMessage":
		chat := r.FormValue("chat_id")
		f.count(envelope.PlatformTelegram, chat)
		writeJSON(w, http.StatusOK, `{"ok":true,"result":{"message_id":1,"date":1764072000,"chat":{"id":`+chat+`,"type":"private"}}}`)
	default:
		writeJSON(w, http.StatusOK, `{"ok":true,"result":true}`)
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// printHTTPBench writes the report as a table.
func printHTTPBench(w io.Writer, rep httpBenchReport) {
	load := "as fast as possible (closed loop)"
	if rep.Rate > 0 {
		load = fmt.Sprintf("offered at %.0f/s (open loop)", rep.Rate)
	}
	size := fmt.Sprintf("%d messages", rep.Messages)
	if rep.Duration != "" {
		size = rep.Duration
	}
	where := fmt.Sprintf("gateway in process (router.workers %d); gateway, load and fake platform APIs share the process", rep.RouterWorkers)
	if rep.Target != "" {
		where = "gateway at " + rep.Target + "; replies sent through the platform APIs are not seen"
	}
	fmt.Fprintf(w, "hotline bench --http: %s per platform %s, %d connections, %d users, text %q\n", size, load, rep.Connections, rep.Users, benchText)
	fmt.Fprintf(w, "%s\n", where)
	m := rep.Machine
	fmt.Fprintf(w, "machine: %d CPUs (GOMAXPROCS %d), %s/%s, %s\n\n", m.CPUs, m.GOMAXPROCS, m.OS, m.Arch, m.Go)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "platform\trun\treq/s\tvs bare\tok\tin resp\tvia API\tlost\tdup\tinvalid\tfailed\tp50 ms\tp95 ms\tp99 ms\tmax ms\tCPU µs/msg\tJS writes/msg\tJS API/msg\t")
	for _, run := range rep.Runs {
		if run.Bare != nil {
			fmt.Fprintln(tw, phaseRow(run.Platform, "bare", *run.Bare, 0, true))
		}
		fmt.Fprintln(tw, phaseRow(run.Platform, "hotline", run.Hotline, run.Ratio, false))
	}
	_ = tw.Flush()
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	fmt.Fprintf(w, "\nRSS: %.0f MiB idle before, %.0f MiB at the end, %.0f MiB peak\n", mib(rep.RSS.IdleBytes), mib(rep.RSS.EndBytes), mib(rep.RSS.PeakBytes))
	for _, run := range rep.Runs {
		if js := run.Hotline.JetStream; js != nil {
			fmt.Fprintf(w, "%s: JetStream writes per message by stream: %s\n", run.Platform, streamBreakdown(js.PerMsgByStream))
		}
	}
	for _, run := range rep.Runs {
		if h := run.Hotline; h.APIObserved && !h.Settled {
			fmt.Fprintf(w, "%s: the gateway still had messages or replies pending at the end of --drain; lost may include late replies\n", run.Platform)
		}
		for _, ph := range []struct {
			name string
			s    *phaseStats
		}{{"bare", run.Bare}, {"hotline", &run.Hotline}} {
			if ph.s != nil && ph.s.Unsent > 0 {
				fmt.Fprintf(w, "%s %s: %d of %d offered requests not sent in time: all %d connections were busy\n",
					run.Platform, ph.name, ph.s.Unsent, ph.s.Unsent+ph.s.Requests, rep.Connections)
			}
		}
		if h := run.Hotline; len(h.Status) > 1 || h.Status["200"] != h.Requests {
			fmt.Fprintf(w, "%s: status codes %v\n", run.Platform, h.Status)
		}
	}
	cpu := "the whole process (gateway included), per request"
	if rep.Target != "" {
		cpu = "this process only (load and bare handler), per request"
	}
	fmt.Fprintf(w, "latency: request sent (open loop: when due) to the response with the reply read; CPU: %s\n", cpu)
}

// streamBreakdown lists streams by how much they were written, most first.
func streamBreakdown(perMsg map[string]float64) string {
	names := slices.Collect(maps.Keys(perMsg))
	slices.SortFunc(names, func(a, b string) int {
		if c := cmp.Compare(perMsg[b], perMsg[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %.2f", n, perMsg[n])
	}
	return strings.Join(parts, ", ")
}

func phaseRow(platformName, run string, s phaseStats, ratio float64, bare bool) string {
	dash := func(v string) string {
		if bare {
			return "-"
		}
		return v
	}
	vs, js, api := "-", "-", "-"
	if ratio > 0 {
		vs = fmt.Sprintf("%.2f", ratio)
	}
	if s.JetStream != nil {
		js, api = fmt.Sprintf("%.2f", s.JetStream.WritesPerMsg), fmt.Sprintf("%.2f", s.JetStream.APIPerMsg)
	}
	viaAPI := strconv.Itoa(s.ViaAPI)
	if !s.APIObserved {
		viaAPI = "?"
	}
	lat := []string{"-", "-", "-", "-"}
	if s.Latency.Count > 0 {
		for i, v := range []float64{s.Latency.P50, s.Latency.P95, s.Latency.P99, s.Latency.Max} {
			lat[i] = fmt.Sprintf("%.2f", v)
		}
	}
	cols := []string{platformName, run, fmt.Sprintf("%.0f", s.ReqPerSec), vs, strconv.Itoa(s.Status["200"]),
		dash(strconv.Itoa(s.InResponse)), dash(viaAPI), dash(strconv.Itoa(s.Lost)), dash(strconv.Itoa(s.Duplicated)),
		dash(strconv.Itoa(s.Invalid)), strconv.Itoa(s.Failed)}
	cols = append(cols, lat...)
	return strings.Join(append(cols, fmt.Sprintf("%.0f", s.CPUPerMsg), js, api, ""), "\t")
}
