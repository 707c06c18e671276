package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/config"
	"hotline/envelope"
	"hotline/fallback"
	"hotline/fallback/fallbacktest"
	hotlinegw "hotline/gateway"
	"hotline/gateway/gatewaytest"
	"hotline/outbound"
	"hotline/outbound/outboundtest"
)

const (
	testToken  = "7000000001:AAE-secret-token-for-tests_xyz"
	testSecret = "webhook-secret_42"
	testUser   = int64(900069535)
)

// answer is one canned Bot API response.
type answer struct {
	status int
	body   string
}

var (
	ans429     = answer{429, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 2","parameters":{"retry_after":2}}`}
	ansBlocked = answer{403, `{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`}
	ansNoChat  = answer{400, `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`}
	ansTooLong = answer{400, `{"ok":false,"error_code":400,"description":"Bad Request: message is too long"}`}
	ans502     = answer{502, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"}
	ans500     = answer{500, `{"ok":false,"error_code":500,"description":"Internal Server Error"}`}
	ansUnauth  = answer{401, `{"ok":false,"error_code":401,"description":"Unauthorized"}`}
)

type failAt struct {
	sent   int
	answer answer
}

type sentMsg struct {
	chatID string
	text   string
	markup string
	at     time.Time
}

// fakeBotAPI answers getMe, setWebhook, getUpdates and sendMessage the way
// the Bot API does: form-encoded POSTs to /bot<token>/<method>, JSON
// answers, and its failures.
type fakeBotAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	getMeFails int
	webhook    map[string]string
	updates    []json.RawMessage // queued, in update_id order
	offsets    []string          // offset of every getUpdates call
	conflict   bool
	next       map[string][]answer // per chat_id: answers for the next sendMessage calls
	always     map[string]answer   // per chat_id: answer for every call
	sent       []sentMsg
	// failWhenSent answers a chat's sendMessage with a failure once a
	// number of its messages went through.
	failWhenSent map[string]failAt
	newUpdate    chan struct{}
	answered     []string // callback_query_id of answerCallbackQuery calls
}

func newFakeBotAPI(t *testing.T) *fakeBotAPI {
	t.Helper()
	f := &fakeBotAPI{t: t, next: map[string][]answer{}, always: map[string]answer{}, newUpdate: make(chan struct{}, 1)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func writeAnswer(w http.ResponseWriter, a answer) {
	if strings.HasPrefix(a.body, "<") {
		w.Header().Set("Content-Type", "text/html")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(a.status)
	fmt.Fprint(w, a.body)
}

func ok(w http.ResponseWriter, result string) {
	writeAnswer(w, answer{200, `{"ok":true,"result":` + result + `}`})
}

func (f *fakeBotAPI) serve(w http.ResponseWriter, r *http.Request) {
	rest, found := strings.CutPrefix(r.URL.Path, "/bot"+testToken+"/")
	if !found {
		writeAnswer(w, ansUnauth)
		return
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		writeAnswer(w, answer{400, `{"ok":false,"error_code":400,"description":"Bad Request: unexpected request"}`})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeAnswer(w, answer{400, `{"ok":false,"error_code":400,"description":"Bad Request: bad form"}`})
		return
	}
	switch strings.ToLower(rest) {
	case "getme":
		f.mu.Lock()
		fail := f.getMeFails > 0
		if fail {
			f.getMeFails--
		}
		f.mu.Unlock()
		if fail {
			writeAnswer(w, ans502)
			return
		}
		ok(w, `{"id":7000000001,"is_bot":true,"first_name":"Hotline","username":"hotline_bot","can_join_groups":true,"can_read_all_group_messages":false,"supports_inline_queries":false}`)
	case "setwebhook":
		f.mu.Lock()
		f.webhook = map[string]string{}
		for k := range r.PostForm {
			f.webhook[k] = r.PostForm.Get(k)
		}
		f.mu.Unlock()
		ok(w, `true`)
	case "getupdates":
		f.getUpdates(w, r)
	case "sendmessage":
		f.sendMessage(w, r)
	case "answercallbackquery":
		f.mu.Lock()
		f.answered = append(f.answered, r.PostForm.Get("callback_query_id"))
		f.mu.Unlock()
		ok(w, `true`)
	default:
		writeAnswer(w, answer{404, `{"ok":false,"error_code":404,"description":"Not Found"}`})
	}
}

func (f *fakeBotAPI) getUpdates(w http.ResponseWriter, r *http.Request) {
	offset, _ := strconv.ParseInt(r.PostForm.Get("offset"), 10, 64)
	timeout, _ := strconv.Atoi(r.PostForm.Get("timeout"))
	f.mu.Lock()
	f.offsets = append(f.offsets, r.PostForm.Get("offset"))
	if f.conflict {
		f.mu.Unlock()
		writeAnswer(w, answer{409, `{"ok":false,"error_code":409,"description":"Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}`})
		return
	}
	f.mu.Unlock()
	deadline := time.After(time.Duration(timeout) * time.Second)
	for {
		f.mu.Lock()
		// An offset confirms every update below it: Telegram forgets them.
		var keep, out []json.RawMessage
		for _, u := range f.updates {
			var h struct {
				ID int64 `json:"update_id"`
			}
			_ = json.Unmarshal(u, &h)
			if h.ID >= offset {
				keep = append(keep, u)
			}
		}
		f.updates = keep
		out = append(out, keep...)
		f.mu.Unlock()
		if len(out) > 0 {
			body, _ := json.Marshal(out)
			ok(w, string(body))
			return
		}
		select {
		case <-f.newUpdate:
		case <-deadline:
			ok(w, `[]`)
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (f *fakeBotAPI) queueUpdates(raws ...string) {
	f.mu.Lock()
	for _, r := range raws {
		f.updates = append(f.updates, json.RawMessage(r))
	}
	f.mu.Unlock()
	select {
	case f.newUpdate <- struct{}{}:
	default:
	}
}

func (f *fakeBotAPI) sendMessage(w http.ResponseWriter, r *http.Request) {
	chat, text := r.PostForm.Get("chat_id"), r.PostForm.Get("text")
	if chat == "" || text == "" {
		writeAnswer(w, answer{400, `{"ok":false,"error_code":400,"description":"Bad Request: message text is empty"}`})
		return
	}
	if UnitLen(text) > MaxTextUnits {
		writeAnswer(w, ansTooLong)
		return
	}
	f.mu.Lock()
	if a, found := f.always[chat]; found {
		f.mu.Unlock()
		writeAnswer(w, a)
		return
	}
	if fa, found := f.failWhenSent[chat]; found && fa.sent == f.countLocked(chat) {
		delete(f.failWhenSent, chat)
		f.mu.Unlock()
		writeAnswer(w, fa.answer)
		return
	}
	if q := f.next[chat]; len(q) > 0 {
		f.next[chat] = q[1:]
		f.mu.Unlock()
		writeAnswer(w, q[0])
		return
	}
	f.sent = append(f.sent, sentMsg{chatID: chat, text: text, markup: r.PostForm.Get("reply_markup"), at: time.Now()})
	id := len(f.sent)
	f.mu.Unlock()
	ok(w, fmt.Sprintf(`{"message_id":%d,"from":{"id":7000000001,"is_bot":true,"first_name":"Hotline","username":"hotline_bot"},"chat":{"id":%s,"type":"private"},"date":%d,"text":%q}`,
		id, chat, time.Now().Unix(), text))
}

func (f *fakeBotAPI) countLocked(chat string) int {
	n := 0
	for _, s := range f.sent {
		if s.chatID == chat {
			n++
		}
	}
	return n
}

func (f *fakeBotAPI) sentTo(chat int64) []sentMsg {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sentMsg
	for _, s := range f.sent {
		if s.chatID == strconv.FormatInt(chat, 10) {
			out = append(out, s)
		}
	}
	return out
}

func (f *fakeBotAPI) script(chat int64, answers ...answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next[strconv.FormatInt(chat, 10)] = append(f.next[strconv.FormatInt(chat, 10)], answers...)
}

// logBuffer collects slog output for the token check.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type gwOpts struct {
	mode string
	// alone runs the adapter by itself, with a mux of its own for its
	// webhook: no router and no delivery loop, so what it stores stays
	// on the bus unanswered. Otherwise the whole gateway runs, as serve
	// assembles it.
	alone bool
	// publicURL registers the webhook at the adapter's own mux (alone).
	publicURL bool
	bus       *bus.Bus
	api       *fakeBotAPI
	faqFile   string
	// modes adds the SMS account degraded modes reroute to (sms-main),
	// behind a fake provider.
	modes bool
}

// gateway is a hotline gateway with one Telegram bot against a fake Bot
// API, on an embedded NATS server, or the adapter alone.
type gateway struct {
	b    *bus.Bus
	a    *Adapter
	url  string // where the webhook is served
	api  *fakeBotAPI
	logs *logBuffer
	stop func() // ends everything the gateway (or the adapter) runs and waits for it
	// The gateway's mode store and phone bindings (nil when alone), and
	// with gwOpts.modes the fake SMS provider behind sms-main.
	modes    *fallback.Store
	bindings *fallback.Bindings
	sms      *outboundtest.Platform
}

func newGateway(t *testing.T, o gwOpts) *gateway {
	t.Helper()
	if o.bus == nil {
		o.bus = bustest.Open(t)
	}
	if o.api == nil {
		o.api = newFakeBotAPI(t)
	}
	if o.mode == "" {
		o.mode = ModeWebhook
	}
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	settings := Config{Account: "tg-main", Token: testToken, Mode: o.mode, WebhookSecret: testSecret,
		APIBase: o.api.srv.URL, ReplyWindow: 2 * time.Second}
	g := &gateway{b: o.bus, api: o.api, logs: logs}
	ctx, cancel := context.WithCancel(context.Background())
	var run func(context.Context) error
	if o.alone {
		mux := http.NewServeMux()
		hooks := httptest.NewServer(mux)
		t.Cleanup(hooks.Close)
		if o.publicURL {
			settings.PublicURL = hooks.URL
		}
		a, err := New(settings, Deps{Bus: o.bus, Logger: log})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		for pattern, h := range a.Routes() {
			mux.Handle(pattern, h)
		}
		g.a, g.url, run = a, hooks.URL, a.Run
	} else {
		cfg := gatewaytest.Config(config.AccountOf(Platform(), &settings))
		cfg.Router.Menu, cfg.Router.FAQFile = map[string]string{"1": "account_security"}, o.faqFile
		if o.modes {
			var sms config.Account
			sms, g.sms = fallbacktest.SMS(t)
			cfg.Accounts = append(cfg.Accounts, sms)
		}
		gw, err := hotlinegw.New(ctx, cfg, hotlinegw.Deps{Bus: o.bus, Logger: log,
			OutboundBackoff: func(int) time.Duration { return 50 * time.Millisecond }})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		s, _ := gw.Adapter("telegram", "tg-main")
		g.a, g.url, run = s.(*Adapter), "http://"+gw.PublicAddr().String(), gw.Run
		g.modes, g.bindings = gw.Modes(), gw.Bindings()
	}
	// Checked after the stop (cleanups run last first): what shutting
	// down logs counts too.
	t.Cleanup(func() {
		if strings.Contains(logs.String(), testToken) {
			t.Errorf("the bot token is in the logs:\n%s", logs.String())
		}
	})
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	var once sync.Once
	g.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("stop: %v", err)
			}
		})
	}
	t.Cleanup(g.stop)
	bustest.WaitFor(t, "getMe", func() bool { return g.a.Ready() == nil })
	return g
}

// metric reads a series of the gateway's /metrics.
func (g *gateway) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	return gatewaytest.Metric(t, g.url, name, labels...)
}

func (g *gateway) post(t *testing.T, secret string, update string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.url+"/webhooks/telegram/tg-main", strings.NewReader(update))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

var updateSeq struct {
	sync.Mutex
	n int
}

func nextUpdateID() int {
	updateSeq.Lock()
	defer updateSeq.Unlock()
	updateSeq.n++
	return 700000000 + updateSeq.n
}

func textUpdate(id int, chat int64, text string) string {
	return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"from":{"id":%d,"is_bot":false,"first_name":"Alice","language_code":"en"},`+
		`"chat":{"id":%d,"first_name":"Alice","type":"private"},"date":1764072000,"text":%q}}`, id, id%100000, chat, chat, text)
}

func inbound(t *testing.T, b *bus.Bus) []envelope.Message {
	t.Helper()
	var out []envelope.Message
	for _, data := range bustest.Messages(t, b, bus.StreamIn, "hotline.in.telegram.tg-main") {
		var m envelope.Message
		if err := envelope.Decode(data, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func reply(chat int64, text string) envelope.Reply {
	now := time.Now().UTC()
	return envelope.Reply{ID: envelope.NewID(now), Platform: "telegram", Account: "tg-main",
		Conversation: envelope.ConversationKey("telegram", "tg-main", strconv.FormatInt(chat, 10)),
		To:           envelope.Party{ID: strconv.FormatInt(chat, 10)}, Text: text, Source: envelope.SourceAgent, CreatedAt: now}
}

var markerSeq atomic.Int64

// marker publishes an agent's reply to chat with a text no other reply
// has, for a sequence barrier on the chat's delivery path: the delivery
// loop hands one conversation's replies to one worker in stream order
// (bus.ConsumerConfig.PartitionHeader), so once the marker has reached
// the API, every reply to the chat queued before it has been sent (or
// given up on) already.
func (g *gateway) marker(t *testing.T, chat int64) string {
	t.Helper()
	text := fmt.Sprintf("sequence marker %d", markerSeq.Add(1))
	r := reply(chat, text)
	if _, err := g.b.PublishReply(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	return text
}

// barrier waits until everything the gateway was going to send chat
// through the API for what came in so far has been sent: the router has
// handled every stored message (bustest.RouterCaughtUp), then a marker queued behind
// the replies it made reaches the API. It returns the marker's text, the
// last thing the chat got.
func (g *gateway) barrier(t *testing.T, chat int64) string {
	t.Helper()
	bustest.RouterCaughtUp(t, g.b)
	text := g.marker(t, chat)
	bustest.WaitFor(t, "the sequence marker at the API", func() bool {
		for _, s := range g.api.sentTo(chat) {
			if s.text == text {
				return true
			}
		}
		return false
	})
	return text
}

// texts are the texts of sends, in order.
func texts(sends []sentMsg) []string {
	out := make([]string, len(sends))
	for i, s := range sends {
		out[i] = s.text
	}
	return out
}

func TestWebhookSecret(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gwOpts{alone: true})
	for name, secret := range map[string]string{"missing": "", "wrong": "webhook-secret_43", "prefix": "webhook-secret"} {
		if code, _, _ := g.post(t, secret, textUpdate(nextUpdateID(), testUser, "hello")); code != http.StatusUnauthorized {
			t.Errorf("%s secret: got %d, want 401", name, code)
		}
	}
	if n := len(inbound(t, g.b)); n != 0 {
		t.Fatalf("%d messages stored from requests without the secret", n)
	}
	if code, _, _ := g.post(t, testSecret, textUpdate(nextUpdateID(), testUser, "hello")); code != http.StatusOK {
		t.Fatalf("right secret: got %d, want 200", code)
	}
	if n := len(inbound(t, g.b)); n != 1 {
		t.Fatalf("got %d stored messages, want 1", n)
	}
	if code, _, _ := g.post(t, testSecret, `{"update_id":`); code != http.StatusBadRequest {
		t.Fatalf("bad JSON: got %d, want 400", code)
	}
}

func TestWebhookRegisteredWithSecret(t *testing.T) {
	t.Parallel()
	api := newFakeBotAPI(t)
	api.getMeFails = 2 // Telegram unreachable at first: start-up goes on
	g := newGateway(t, gwOpts{alone: true, api: api, publicURL: true})
	bustest.WaitFor(t, "setWebhook", func() bool { api.mu.Lock(); defer api.mu.Unlock(); return api.webhook != nil })
	api.mu.Lock()
	defer api.mu.Unlock()
	want := map[string]string{"url": g.url + "/webhooks/telegram/tg-main", "secret_token": testSecret,
		"allowed_updates": `["message","edited_message","callback_query","my_chat_member"]`, "max_connections": "40"}
	for k, v := range want {
		if api.webhook[k] != v {
			t.Errorf("setWebhook %s: got %q, want %q", k, api.webhook[k], v)
		}
	}
}

func TestNotReadyUntilGetMe(t *testing.T) {
	t.Parallel()
	api := newFakeBotAPI(t)
	api.getMeFails = 1000
	a, err := New(Config{Account: "tg-main", Token: testToken, Mode: ModePoll, APIBase: api.srv.URL}, Deps{Bus: bustest.Open(t)})
	if err != nil {
		t.Fatalf("New with Telegram down: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	// A second getMe call means the adapter had the first one's failure
	// in hand and chose to retry: it must not be ready now.
	bustest.WaitFor(t, "getMe tried again after a failure", func() bool {
		api.mu.Lock()
		defer api.mu.Unlock()
		return api.getMeFails <= 1000-2
	})
	if err := a.Ready(); !errors.Is(err, ErrNotReady) {
		t.Fatalf("Ready: got %v, want ErrNotReady", err)
	}
	api.mu.Lock()
	api.getMeFails = 0
	api.mu.Unlock()
	bustest.WaitFor(t, "ready", func() bool { return a.Ready() == nil })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not end with its context")
	}
}

func TestSameUpdateTwiceOneReply(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gwOpts{})
	up := textUpdate(nextUpdateID(), testUser, "menu")
	_, _, first := g.post(t, testSecret, up)
	_, _, second := g.post(t, testSecret, up)
	if !strings.Contains(first, `"method":"sendMessage"`) {
		t.Fatalf("first delivery: got %q, want the menu in the response", first)
	}
	if second != "" {
		t.Fatalf("redelivery answered again: %q", second)
	}
	// Anything either delivery made the router send through the API is
	// ahead of the marker on the chat's delivery path.
	mark := g.barrier(t, testUser)
	if got := texts(g.api.sentTo(testUser)); len(got) != 1 || got[0] != mark {
		t.Fatalf("also sent through the API: %q, want only the sequence marker", got)
	}
	if n := len(inbound(t, g.b)); n != 1 {
		t.Fatalf("got %d stored messages for one update_id, want 1", n)
	}
}

func TestPassiveHelpInWebhookResponse(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gwOpts{})
	code, hdr, body := g.post(t, testSecret, textUpdate(nextUpdateID(), testUser, "help"))
	if code != 200 || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %q %s", code, hdr.Get("Content-Type"), body)
	}
	var call struct {
		Method string `json:"method"`
		ChatID int64  `json:"chat_id"`
		Text   string `json:"text"`
	}
	if err := json.Unmarshal([]byte(body), &call); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if call.Method != "sendMessage" || call.ChatID != testUser || !strings.Contains(call.Text, "Here's what I can do") {
		t.Fatalf("got %+v, want the help text for %d", call, testUser)
	}
	// The menu carries its buttons as an inline keyboard.
	_, _, body = g.post(t, testSecret, textUpdate(nextUpdateID(), testUser, "menu"))
	if !strings.Contains(body, `"reply_markup":{"inline_keyboard":[[{"text":"1 Account security","callback_data":"1"}]]}`) {
		t.Fatalf("menu without its keyboard: %s", body)
	}
}

func TestGroupChatterNotStored(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gwOpts{alone: true})
	up := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":5,"from":{"id":1,"is_bot":false,"first_name":"A"},"chat":{"id":-100200,"title":"G","type":"supergroup"},"date":1764072000,"text":"lunch?"}}`, nextUpdateID())
	if code, _, body := g.post(t, testSecret, up); code != 200 || body != "" {
		t.Fatalf("got %d %q, want an empty 200", code, body)
	}
	if n := len(inbound(t, g.b)); n != 0 {
		t.Fatalf("stored %d unaddressed group messages", n)
	}
}

func TestPollingAcrossRestart(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	api := newFakeBotAPI(t)
	first := nextUpdateID()
	for range 5 {
		nextUpdateID() // reserve first+1 .. first+5
	}
	for i := range 3 {
		api.queueUpdates(textUpdate(first+i, testUser, "poll "+strconv.Itoa(i)))
	}
	g1 := newGateway(t, gwOpts{alone: true, mode: ModePoll, bus: b, api: api})
	bustest.WaitFor(t, "three polled updates", func() bool { return len(inbound(t, b)) == 3 })
	bustest.WaitFor(t, "the offset saved", func() bool {
		e, err := b.KV(bus.BucketTokens).Get(context.Background(), OffsetKey("tg-main"))
		return err == nil && string(e.Value()) == strconv.Itoa(first+3)
	})
	g1.stop() // ends in the middle of a long poll

	// Updates that arrive while hotline is down, then a new instance.
	for i := 3; i < 5; i++ {
		api.queueUpdates(textUpdate(first+i, testUser, "poll "+strconv.Itoa(i)))
	}
	api.mu.Lock()
	calls := len(api.offsets)
	api.mu.Unlock()
	newGateway(t, gwOpts{alone: true, mode: ModePoll, bus: b, api: api})
	bustest.WaitFor(t, "five polled updates", func() bool { return len(inbound(t, b)) == 5 })
	// A marker update, after the five: the poll loop stores what it gets
	// one update at a time, in order, on the one stream, so once the
	// marker is stored, anything the new instance was going to store
	// from its earlier polls is stored too.
	api.queueUpdates(textUpdate(first+5, testUser, "marker"))
	bustest.WaitFor(t, "the marker update", func() bool {
		msgs := inbound(t, b)
		return len(msgs) > 0 && msgs[len(msgs)-1].Text == "marker"
	})
	msgs := inbound(t, b)
	if len(msgs) != 6 {
		t.Fatalf("got %d messages, want the 5 polled and the marker", len(msgs))
	}
	for i, m := range msgs[:5] {
		if m.Text != "poll "+strconv.Itoa(i) {
			t.Fatalf("message %d: got %q, want %q", i, m.Text, "poll "+strconv.Itoa(i))
		}
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if got := api.offsets[calls]; got != strconv.Itoa(first+3) {
		t.Fatalf("the new instance started at offset %q, want %d", got, first+3)
	}
}

func TestPollConflictLogged(t *testing.T) {
	t.Parallel()
	api := newFakeBotAPI(t)
	api.conflict = true
	g := newGateway(t, gwOpts{alone: true, mode: ModePoll, api: api})
	bustest.WaitFor(t, "the 409 log line", func() bool { return strings.Contains(g.logs.String(), "409 Conflict") })
}

func TestThrottledSendWaitsRetryAfter(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gwOpts{})
	const chat = int64(111)
	g.api.script(chat, ans429)
	start := time.Now()
	r := reply(chat, "after the flood limit")
	if _, err := g.b.PublishReply(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	bustest.WaitFor(t, "the send after 429", func() bool { return len(g.api.sentTo(chat)) == 1 })
	if d := g.api.sentTo(chat)[0].at.Sub(start); d < 2*time.Second {
		t.Fatalf("sent %v after a 429 with retry_after 2, want at least 2s", d)
	}
}

func TestLongReplyInTwoMessagesInOrder(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gwOpts{})
	const chat = int64(222)
	var sb strings.Builder
	for i := 0; sb.Len() < 5000; i++ {
		fmt.Fprintf(&sb, "line %04d of a long answer\n", i)
	}
	text := strings.TrimSpace(sb.String()[:5000])
	r := reply(chat, text)
	r.Buttons = []envelope.Button{{Label: "1 Account security", Data: "1"}}
	if _, err := g.b.PublishReply(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	bustest.WaitFor(t, "two messages", func() bool { return len(g.api.sentTo(chat)) == 2 })
	got := g.api.sentTo(chat)
	if got[0].text+"\n"+got[1].text != text {
		t.Fatalf("parts do not rebuild the text in order: %d + %d characters", len(got[0].text), len(got[1].text))
	}
	if got[0].markup != "" || !strings.Contains(got[1].markup, `"callback_data":"1"`) {
		t.Fatalf("keyboard: got %q and %q, want it on the last part only", got[0].markup, got[1].markup)
	}
}

func TestPartialSendResumes(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gwOpts{alone: true})
	const chat = int64(333)
	r := reply(chat, strings.Repeat("a", 4096)+"\n"+strings.Repeat("b", 100))
	// The first part goes, the second meets an HTML 502.
	g.api.mu.Lock()
	g.api.failWhenSent = map[string]failAt{"333": {sent: 1, answer: ans502}}
	g.api.mu.Unlock()
	_, err := g.a.Send(context.Background(), r)
	var se *outbound.SendError
	if !errors.As(err, &se) || se.Kind != outbound.Retryable || se.Reason != "http_502" {
		t.Fatalf("got %v, want a retryable http_502", err)
	}
	receipt, err := g.a.Send(context.Background(), r)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	got := g.api.sentTo(chat)
	if len(got) != 2 || !strings.HasPrefix(got[0].text, "aaa") || !strings.HasPrefix(got[1].text, "bbb") {
		t.Fatalf("got %d sends, want the first part once and then the second", len(got))
	}
	if receipt.PlatformMsgID == "" || receipt.Segments != 2 || !strings.Contains(receipt.PlatformMsgID, ",") {
		t.Fatalf("receipt %+v, want both message ids", receipt)
	}
	// The sent mark was lost, say: a third attempt sends nothing.
	again, err := g.a.Send(context.Background(), r)
	if err != nil || again.PlatformMsgID != receipt.PlatformMsgID || len(g.api.sentTo(chat)) != 2 {
		t.Fatalf("a send after completion: got %+v %v and %d messages, want the same receipt and no new message", again, err, len(g.api.sentTo(chat)))
	}
}

func TestBlockedUserDeadLetteredAndOptedOut(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gwOpts{})
	const chat = int64(444)
	g.api.mu.Lock()
	g.api.always["444"] = ansBlocked
	g.api.mu.Unlock()
	r := reply(chat, "are you still there?")
	if _, err := g.b.PublishReply(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	bustest.WaitFor(t, "the dead letter", func() bool { return len(bustest.Messages(t, g.b, bus.StreamDead, "hotline.dead")) == 1 })
	var dl envelope.DeadLetter
	if err := json.Unmarshal(bustest.Messages(t, g.b, bus.StreamDead, "hotline.dead")[0], &dl); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dl.Reason, "blocked") {
		t.Fatalf("dead letter reason %q, want it to say blocked", dl.Reason)
	}
	opted, err := g.b.OptedOut(context.Background(), r.Conversation)
	if err != nil || !opted {
		t.Fatalf("opted out: got %v (%v), want true", opted, err)
	}
}

func TestSendMapsBotAPIAnswers(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gwOpts{alone: true})
	ctx := context.Background()
	receipt, err := g.a.Send(ctx, reply(555, "hello"))
	if err != nil || receipt.PlatformMsgID == "" || receipt.Segments != 1 {
		t.Fatalf("accepted send: got %+v %v", receipt, err)
	}
	tests := []struct {
		name   string
		answer answer
		kind   outbound.Kind
		reason string
		after  time.Duration
	}{
		{"flood limit", ans429, outbound.Throttled, "throttled", 2 * time.Second},
		{"blocked", ansBlocked, outbound.Permanent, "blocked", 0},
		{"chat not found", ansNoChat, outbound.Permanent, "chat_not_found", 0},
		{"other bad request", answer{400, `{"ok":false,"error_code":400,"description":"Bad Request: can't parse entities"}`}, outbound.Permanent, "bad_request", 0},
		{"migrated group", answer{400, `{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1001234}}`}, outbound.Permanent, "chat_migrated", 0},
		{"html bad gateway", ans502, outbound.Retryable, "http_502", 0},
		{"server error", ans500, outbound.Retryable, "http_500", 0},
		{"revoked token", ansUnauth, outbound.Retryable, "auth_failed", 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chat := int64(600 + i)
			g.api.script(chat, tc.answer)
			_, err := g.a.Send(ctx, reply(chat, "hello"))
			var se *outbound.SendError
			if !errors.As(err, &se) || se.Kind != tc.kind || se.Reason != tc.reason || se.RetryAfter != tc.after {
				t.Fatalf("got %v, want %s %s after %v", err, tc.kind, tc.reason, tc.after)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Fatal("the token is in the error")
			}
		})
	}
	if _, err := g.a.Send(ctx, envelope.Reply{To: envelope.Party{ID: "@someone"}, Text: "x"}); err == nil {
		t.Fatal("a non-numeric chat id was accepted")
	}
}

// TestTokenNeverLeaks points the adapter at a Bot API that does not
// answer and checks every error and log line for the token.
func TestTokenNeverLeaks(t *testing.T) {
	t.Parallel()
	dead := httptest.NewServer(http.NotFoundHandler())
	base := dead.URL
	dead.Close() // connection refused from now on
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := New(Config{Account: "tg-main", Token: testToken, Mode: ModePoll, APIBase: base},
		Deps{Bus: bustest.Open(t), Logger: log, HTTPClient: &http.Client{Timeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Send(context.Background(), reply(777, "hello"))
	var se *outbound.SendError
	if !errors.As(err, &se) || se.Kind != outbound.Retryable || se.Reason != "transport" {
		t.Fatalf("got %v, want a retryable transport error", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	_ = a.Run(ctx) // getMe fails and is logged
	a.log.Error("send failed", "err", err)
	out := logs.String()
	if !strings.Contains(out, "getMe failed") || !strings.Contains(out, "[redacted]") {
		t.Fatalf("expected a redacted getMe failure in the logs:\n%s", out)
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), out} {
		if strings.Contains(s, testToken) || strings.Contains(s, "AAE-secret") {
			t.Fatalf("the token leaked: %s", s)
		}
	}
	if !errors.Is(err, context.Canceled) && errors.Unwrap(errors.Unwrap(err)) == nil {
		t.Fatal("the redacted error lost its cause")
	}
}

// TestLongPassiveReplyGoesThroughAPI: the router offers the webhook an
// answer too long for one message (a FAQ answer): the webhook takes it
// (the router then counts it as sent), answers empty, and queues it for
// the API, which delivers it in two parts.
func TestLongPassiveReplyGoesThroughAPI(t *testing.T) {
	t.Parallel()
	answer := strings.Repeat("x", 4000) + " " + strings.Repeat("y", 1000)
	faq := filepath.Join(t.TempDir(), "faq.yaml")
	entry := fmt.Sprintf("- id: everything\n  keywords:\n    en: [tell me everything]\n  answer:\n    en: %q\n", answer)
	if err := os.WriteFile(faq, []byte(entry), 0o644); err != nil {
		t.Fatal(err)
	}
	g := newGateway(t, gwOpts{faqFile: faq})
	code, _, body := g.post(t, testSecret, textUpdate(nextUpdateID(), testUser, "tell me everything"))
	if code != 200 || body != "" {
		t.Fatalf("got %d %q, want an empty 200", code, body)
	}
	bustest.WaitFor(t, "two messages through the API", func() bool { return len(g.api.sentTo(testUser)) == 2 })
	if got := g.api.sentTo(testUser); got[0].text+" "+got[1].text != answer {
		t.Fatalf("parts of %d and %d characters do not rebuild the answer", len(got[0].text), len(got[1].text))
	}
	// The router's offer was accepted: it recorded the answer as passive
	// and queued nothing itself; the webhook queued it once.
	passive := func() int {
		n := 0
		for _, data := range bustest.Messages(t, g.b, bus.StreamStatus, "hotline.status.telegram.tg-main") {
			var st envelope.Status
			if envelope.Decode(data, &st) == nil && st.State == envelope.StatePassive {
				n++
			}
		}
		return n
	}
	bustest.WaitFor(t, "the passive status event", func() bool { return passive() > 0 })
	if n, out := passive(), len(bustest.Messages(t, g.b, bus.StreamOut, "hotline.out.telegram.tg-main")); n != 1 || out != 1 {
		t.Fatalf("%d passive status events, %d replies queued; want the offer accepted and the answer queued once", n, out)
	}
	// A second copy of either part would be ahead of the marker.
	mark := g.barrier(t, testUser)
	if got := texts(g.api.sentTo(testUser)); len(got) != 3 || got[2] != mark {
		t.Fatalf("the API sent %d messages, want the 2 parts once and then the sequence marker", len(got))
	}
}

func callbackUpdate(id int, chat int64, cqID, data string) string {
	return fmt.Sprintf(`{"update_id":%d,"callback_query":{"id":%q,"from":{"id":%d,"is_bot":false,"first_name":"Alice","language_code":"en"},`+
		`"message":{"message_id":12,"from":{"id":7000000001,"is_bot":true,"first_name":"Hotline","username":"hotline_bot"},"chat":{"id":%d,"type":"private"},"date":1764072000,"text":"Menu"},`+
		`"chat_instance":"-784538992","data":%q}}`, id, cqID, chat, chat, data)
}

func TestCallbackQueryAnswered(t *testing.T) {
	t.Parallel()
	t.Run("webhook, in the response", func(t *testing.T) {
		t.Parallel()
		g := newGateway(t, gwOpts{alone: true}) // no router: no reply to carry
		_, hdr, body := g.post(t, testSecret, callbackUpdate(nextUpdateID(), testUser, "cq-1", "1"))
		if body != `{"callback_query_id":"cq-1","method":"answerCallbackQuery"}` || hdr.Get("Content-Type") != "application/json" {
			t.Fatalf("got %q, want answerCallbackQuery in the response", body)
		}
		if msgs := inbound(t, g.b); len(msgs) != 1 || msgs[0].Text != "1" || msgs[0].Meta["callback_query_id"] != "cq-1" {
			t.Fatalf("stored %+v, want the button's data", msgs)
		}
	})
	t.Run("webhook, through the API when the response carries the reply", func(t *testing.T) {
		t.Parallel()
		g := newGateway(t, gwOpts{})
		_, _, body := g.post(t, testSecret, callbackUpdate(nextUpdateID(), testUser, "cq-2", "menu"))
		if !strings.Contains(body, `"method":"sendMessage"`) {
			t.Fatalf("got %q, want the menu in the response", body)
		}
		g.api.mu.Lock()
		defer g.api.mu.Unlock()
		if len(g.api.answered) != 1 || g.api.answered[0] != "cq-2" {
			t.Fatalf("answered %q, want cq-2", g.api.answered)
		}
	})
	t.Run("poll", func(t *testing.T) {
		t.Parallel()
		api := newFakeBotAPI(t)
		api.queueUpdates(callbackUpdate(nextUpdateID(), testUser, "cq-3", "1"))
		newGateway(t, gwOpts{alone: true, mode: ModePoll, api: api})
		bustest.WaitFor(t, "answerCallbackQuery", func() bool {
			api.mu.Lock()
			defer api.mu.Unlock()
			return len(api.answered) == 1 && api.answered[0] == "cq-3"
		})
	})
}

// TestGroupUpdateWaitsForGetMe: before getMe succeeded the bot's username
// is unknown, so whether a group message is addressed to it cannot be
// told; Telegram is asked to retry, and private chats go on.
func TestGroupUpdateWaitsForGetMe(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	a, err := New(Config{Account: "tg-main", Token: testToken, WebhookSecret: testSecret, APIBase: "http://127.0.0.1:1",
		ReplyWindow: 10 * time.Millisecond}, Deps{Bus: b})
	if err != nil {
		t.Fatal(err)
	}
	h := a.Routes()["POST /webhooks/telegram/tg-main"]
	post := func(update string) int {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/telegram/tg-main", strings.NewReader(update))
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", testSecret)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	group := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":5,"from":{"id":1,"is_bot":false,"first_name":"A"},"chat":{"id":-100200,"title":"G","type":"supergroup"},"date":1764072000,"text":"@hotline_bot hi","entities":[{"offset":0,"length":12,"type":"mention"}]}}`, nextUpdateID())
	if code := post(group); code != http.StatusServiceUnavailable {
		t.Fatalf("group update before getMe: got %d, want 503", code)
	}
	if code := post(textUpdate(nextUpdateID(), testUser, "hi")); code != http.StatusOK {
		t.Fatalf("private update before getMe: got %d, want 200", code)
	}
	if n := len(inbound(t, b)); n != 1 {
		t.Fatalf("got %d stored messages, want 1", n)
	}
}
