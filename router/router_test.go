package router

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
	"hotline/fallback"
)

func testConfig() Config {
	return Config{
		DefaultLang: "zh",
		Menu:        map[string]string{"1": "account_security", "2": "payments", "3": "live_stream"},
		SMSAccount:  "sms-main",
		Workers:     4,
	}
}

func newRouter(t testing.TB, b *bus.Bus, cfg Config, deps Deps) *Router {
	t.Helper()
	deps.Bus = b
	r, err := New(context.Background(), cfg, deps)
	if err != nil {
		t.Fatalf("router.New: %v", err)
	}
	return r
}

// inbound builds a text message from user on telegram/tg-main.
func inbound(user, text string) envelope.Message {
	now := time.Now().UTC()
	return envelope.Message{
		ID:            envelope.NewID(now),
		Platform:      envelope.PlatformTelegram,
		Account:       "tg-main",
		PlatformMsgID: envelope.NewID(now),
		Conversation:  envelope.ConversationKey(envelope.PlatformTelegram, "tg-main", user),
		From:          envelope.Party{ID: user},
		Kind:          envelope.KindText,
		Text:          text,
		ReceivedAt:    now,
	}
}

func replies(t testing.TB, b *bus.Bus, prefix string) []envelope.Reply {
	t.Helper()
	var out []envelope.Reply
	for _, data := range bustest.Messages(t, b, bus.StreamOut, prefix) {
		var r envelope.Reply
		if err := envelope.Decode(data, &r); err != nil {
			t.Fatalf("reply on %s does not decode: %v", prefix, err)
		}
		out = append(out, r)
	}
	return out
}

func handoffs(t testing.TB, b *bus.Bus) []envelope.Handoff {
	t.Helper()
	var out []envelope.Handoff
	for _, data := range bustest.Messages(t, b, bus.StreamHandoff, "hotline.handoff.") {
		var h envelope.Handoff
		if err := envelope.Decode(data, &h); err != nil {
			t.Fatalf("handoff does not decode: %v", err)
		}
		out = append(out, h)
	}
	return out
}

func process(t *testing.T, r *Router, m envelope.Message) {
	t.Helper()
	if err := r.Process(context.Background(), &m); err != nil {
		t.Fatalf("Process(%q): %v", m.Text, err)
	}
}

func lastReply(t *testing.T, b *bus.Bus) envelope.Reply {
	t.Helper()
	all := replies(t, b, "hotline.out.")
	if len(all) == 0 {
		t.Fatal("no reply")
	}
	return all[len(all)-1]
}

func TestHelpArabicEndToEnd(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = r.Run(ctx) }()

	m := inbound("42", "help+ar")
	if _, err := b.PublishInbound(ctx, &m, nil); err != nil {
		t.Fatal(err)
	}
	bustest.WaitFor(t, "the Arabic help", func() bool { return len(replies(t, b, "hotline.out.telegram.tg-main")) == 1 })
	rep := replies(t, b, "hotline.out.telegram.tg-main")[0]
	if rep.Lang != "ar" || rep.Dir != "rtl" || rep.Text != r.catalog.Text("ar", "help") {
		t.Fatalf("got lang %q dir %q text %q, want the Arabic help, rtl", rep.Lang, rep.Dir, rep.Text)
	}
	if rep.InReplyTo != m.ID || rep.To.ID != "42" {
		t.Fatalf("reply %+v is not addressed to the sender of %s", rep, m.ID)
	}
	// The choice is remembered: plain "status" now answers in Arabic.
	m2 := inbound("42", "status")
	if _, err := b.PublishInbound(ctx, &m2, nil); err != nil {
		t.Fatal(err)
	}
	bustest.WaitFor(t, "the status reply", func() bool { return len(replies(t, b, "hotline.out.telegram.tg-main")) == 2 })
	if got := lastReply(t, b); got.Text != r.catalog.Text("ar", "status") {
		t.Fatalf("status after help+ar: got %q, want the Arabic status", got.Text)
	}
}

func TestRedeliveredInboundRepliesOnce(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	m := inbound("7", "menu")
	process(t, r, m)
	process(t, r, m) // as after a crash between publish and ack
	// And through the stream: the same envelope stored twice under
	// different dedup ids (a redelivery after the duplicate window).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = r.Run(ctx) }()
	for i := range 2 {
		data, _ := envelope.Encode(&m)
		if _, err := b.Publish(ctx, "hotline.in.telegram.tg-main", data, fmt.Sprint("again-", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	bustest.WaitFor(t, "the router to drain", func() bool {
		info, err := b.JetStream().Consumer(ctx, bus.StreamIn, "router")
		if err != nil {
			return false
		}
		ci, err := info.Info(ctx)
		return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0
	})
	if got := len(replies(t, b, "hotline.out.")); got != 1 {
		t.Fatalf("%d replies for one inbound delivered four times, want 1", got)
	}
	if rep := lastReply(t, b); len(rep.Buttons) != 3 || rep.Buttons[0].Data != "1" {
		t.Fatalf("menu buttons %+v, want the three menu codes", rep.Buttons)
	}
}

func TestP1HandoffCarriesHistoryAndAcknowledges(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	for _, text := range []string{"help+en", "1", "status"} {
		process(t, r, inbound("99", text))
	}
	m := inbound("99", "Someone hacked my account and changed the password")
	process(t, r, m)

	hs := handoffs(t, b)
	if len(hs) != 1 {
		t.Fatalf("%d handoffs, want 1", len(hs))
	}
	h := hs[0]
	if h.Priority != envelope.P1 || h.InboundID != m.ID || h.Lang != "en" {
		t.Fatalf("handoff %+v, want p1 for %s in en", h, m.ID)
	}
	if got := h.SLADeadline.Sub(h.CreatedAt); got != 30*time.Second {
		t.Errorf("SLA %v, want 30s for p1", got)
	}
	if len(h.History) != MaxTurns {
		t.Fatalf("history has %d turns, want %d: %+v", len(h.History), MaxTurns, h.History)
	}
	if last := h.History[len(h.History)-2]; last.Role != "user" || !strings.Contains(last.Text, "hacked") {
		t.Errorf("history does not end with the user's message and the ack: %+v", h.History)
	}
	if !strings.Contains(strings.Join(h.Reasons, ";"), `"hacked"`) {
		t.Errorf("reasons %v do not explain the priority", h.Reasons)
	}
	ack := lastReply(t, b)
	want := r.catalog.Text("en", "handoff_ack_urgent", "ticket", Ticket(h.ID), "sla", "30 seconds")
	if ack.Text != want {
		t.Fatalf("ack %q, want %q", ack.Text, want)
	}
	st, _, err := r.GetHandoff(context.Background(), h.ID)
	if err != nil || st.State != StateOpen {
		t.Fatalf("handoff state %+v (%v), want open", st, err)
	}
}

func TestPriorities(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	tests := []struct {
		text   string
		want   envelope.Priority
		senior bool
	}{
		{"my order arrived late", envelope.P3, false},
		{"I was charged twice for one order", envelope.P2, false},
		{"我的账号被盗了", envelope.P1, false},
		{"直播打不开", envelope.P2, false},
		{"Me cobraron dos veces", envelope.P2, false},
		{"my payment failed!!!", envelope.P1, true},
		{"WHY IS NOTHING WORKING TODAY", envelope.P2, true},
		{"the app is useless and my order is late", envelope.P2, true},
		{"hacked, need to reset password", envelope.P1, false}, // p1 wins over the FAQ
	}
	for i, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			process(t, r, inbound(fmt.Sprint("prio-", i), tc.text))
			hs := handoffs(t, b)
			h := hs[len(hs)-1]
			if h.Conversation != envelope.ConversationKey("telegram", "tg-main", fmt.Sprint("prio-", i)) {
				t.Fatalf("no handoff for %q", tc.text)
			}
			if h.Priority != tc.want || h.Senior != tc.senior {
				t.Fatalf("got %s senior=%v (%v), want %s senior=%v", h.Priority, h.Senior, h.Reasons, tc.want, tc.senior)
			}
		})
	}
}

func TestFAQAnswersInUserLanguage(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	m := inbound("faq", "I forgot my password, what now?")
	m.LangHint = "en-US"
	process(t, r, m)
	if got := lastReply(t, b).Text; got != r.knowledge.Answer("reset_password", "en") {
		t.Fatalf("got %q, want the reset_password answer", got)
	}
	if len(handoffs(t, b)) != 0 {
		t.Fatal("a FAQ question was handed off")
	}
	m = inbound("faq-pt", "esqueci minha senha")
	m.LangHint = "pt-BR"
	process(t, r, m)
	if got := lastReply(t, b).Text; got != r.knowledge.Answer("reset_password", "pt") {
		t.Fatalf("got %q, want the Portuguese answer", got)
	}
}

func TestLanguageOrder(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	m := inbound("l1", "help")
	process(t, r, m)
	if got := lastReply(t, b).Lang; got != "zh" {
		t.Fatalf("no hint, no choice: %q, want the default zh", got)
	}
	m = inbound("l2", "help")
	m.LangHint = "ru"
	process(t, r, m)
	if got := lastReply(t, b).Lang; got != "ru" {
		t.Fatalf("hint ru: got %q", got)
	}
	process(t, r, inbound("l2", "lang es"))
	m = inbound("l2", "help")
	m.LangHint = "ru"
	process(t, r, m)
	if got := lastReply(t, b).Lang; got != "es" {
		t.Fatalf("explicit es beats hint ru: got %q", got)
	}
	process(t, r, inbound("l3", "ajuda"))
	if got := lastReply(t, b).Lang; got != "pt" {
		t.Fatalf("ajuda answers in Portuguese: got %q", got)
	}
	process(t, r, inbound("l3", "status"))
	if got := lastReply(t, b).Lang; got != "pt" {
		t.Fatalf("after ajuda, status answers in Portuguese: got %q", got)
	}
}

func TestUnsupportedHelpLanguage(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	var calls atomic.Int32
	var fail atomic.Bool
	lt := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		calls.Add(1)
		if fail.Load() {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		var body map[string]string
		if err := json.NewDecoder(req.Body).Decode(&body); err != nil || req.URL.Path != "/translate" || body["source"] != "en" || body["target"] != "fr" || body["q"] == "" {
			t.Errorf("bad translate request %s %v (%v)", req.URL.Path, body, err)
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"translatedText": "Voici ce que je peux faire"})
	}))
	t.Cleanup(lt.Close)

	cfg := testConfig()
	cfg.TranslatorURL = lt.URL
	r := newRouter(t, b, cfg, Deps{})
	process(t, r, inbound("fr1", "help+fr"))
	if got := lastReply(t, b); got.Text != "Voici ce que je peux faire" || got.Lang != "fr" {
		t.Fatalf("translated help: got %+v", got)
	}
	process(t, r, inbound("fr2", "help+fr"))
	if calls.Load() != 1 {
		t.Fatalf("translator called %d times, want 1 (cached)", calls.Load())
	}

	fail.Store(true)
	process(t, r, inbound("de1", "help+de"))
	got := lastReply(t, b).Text
	for _, part := range []string{r.catalog.Text("zh", "help"), r.catalog.Text("en", "help"), "zh-Hant"} {
		if !strings.Contains(got, part) {
			t.Fatalf("fallback help %q lacks %q", got, part)
		}
	}

	r2 := newRouter(t, bustest.Open(t), testConfig(), Deps{}) // no translator at all
	process(t, r2, inbound("x", "help+fr"))
	if got := lastReply(t, r2.bus).Text; !strings.Contains(got, "fr") || !strings.Contains(got, r.catalog.Text("en", "help")) {
		t.Fatalf("without a translator: %q", got)
	}
}

func TestStopStart(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	process(t, r, inbound("s", "help+en"))
	process(t, r, inbound("s", "STOP"))
	if got := lastReply(t, b); got.Text != r.catalog.Text("en", "stopped") || got.Source != envelope.SourceSystem {
		t.Fatalf("stop: %+v", got)
	}
	before := len(replies(t, b, "hotline.out."))
	process(t, r, inbound("s", "my order is late"))
	process(t, r, inbound("s", "help"))
	if after := len(replies(t, b, "hotline.out.")); after != before {
		t.Fatalf("%d replies sent to an opted-out user", after-before)
	}
	if len(handoffs(t, b)) != 0 {
		t.Fatal("handoff for an opted-out user's message")
	}
	process(t, r, inbound("s", "start"))
	if got := lastReply(t, b).Text; got != r.catalog.Text("en", "started") {
		t.Fatalf("start: %q", got)
	}
	// Messages sent while opted out are still in the session history.
	sess, err := r.sessions.Load(context.Background(), envelope.ConversationKey("telegram", "tg-main", "s"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(recentUserText(sess), "my order is late") {
		t.Fatalf("message sent while opted out is not kept: %+v", sess.Turns)
	}
}

func TestBindPhone(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	bindMsg := inbound("b", "bind +8613800138000")
	process(t, r, bindMsg)
	sms := replies(t, b, "hotline.out.sms.sms-main")
	if len(sms) != 1 || sms[0].To.ID != "+8613800138000" {
		t.Fatalf("binding SMS: %+v", sms)
	}
	code := r.bindCode(bindMsg.ID)
	if !strings.Contains(sms[0].Text, code) {
		t.Fatalf("SMS %q lacks the code", sms[0].Text)
	}
	if got := lastReply(t, b).Text; !strings.Contains(got, "+86*******8000") {
		t.Fatalf("bind_sent %q does not show the masked number", got)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	process(t, r, inbound("b", wrong))
	if got := lastReply(t, b).Text; got != r.catalog.Text("zh", "bind_bad_code", "attempts", "4") {
		t.Fatalf("wrong code: %q", got)
	}
	process(t, r, inbound("b", code))
	if got := lastReply(t, b).Text; got != r.catalog.Text("zh", "bind_ok", "phone", "+86*******8000") {
		t.Fatalf("right code: %q", got)
	}
	sess, _ := r.sessions.Load(context.Background(), bindMsg.Conversation)
	if sess.Phone != "+8613800138000" || sess.Bind != nil {
		t.Fatalf("session after binding: phone %q bind %+v", sess.Phone, sess.Bind)
	}
	process(t, r, inbound("b", "bind 12345"))
	if got := lastReply(t, b).Text; got != r.catalog.Text("zh", "bind_bad_phone") {
		t.Fatalf("bad phone: %q", got)
	}
}

func TestHandoffDailyLimit(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	cfg := testConfig()
	cfg.HandoffDailyLimit = 2
	r := newRouter(t, b, cfg, Deps{})
	for _, text := range []string{"where is my parcel", "still no parcel", "parcel please"} {
		process(t, r, inbound("lim", text))
	}
	if got := len(handoffs(t, b)); got != 2 {
		t.Fatalf("%d handoffs, want the limit of 2", got)
	}
	if got := lastReply(t, b).Text; got != r.catalog.Text("en", "handoff_limit") { // English words, English answer
		t.Fatalf("third message: %q, want the limit text", got)
	}
}

// modeGate returns the real fallback gate over a mode store on b, with
// the given modes set globally.
func modeGate(t *testing.T, b *bus.Bus, settings ...fallback.Setting) *fallback.Gate {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	store, err := fallback.NewStore(ctx, b, fallback.StoreDeps{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		if s.SetBy == "" {
			s.SetBy = "test"
		}
		if _, err := store.Set(ctx, s); err != nil {
			t.Fatalf("set %s: %v", s.Mode, err)
		}
	}
	return fallback.NewGate(store, fallback.RateConfig{}, nil)
}

func TestGateReadOnly(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	gate := modeGate(t, b,
		fallback.Setting{Mode: fallback.ModeReadOnly, Reason: "payments outage"},
		fallback.Setting{Mode: fallback.ModeAnnouncement, Reason: "payments outage", Announce: map[string]string{"en": "Payments are delayed."}})
	r := newRouter(t, b, testConfig(), Deps{Gate: gate})
	process(t, r, inbound("ro", "lang en"))
	// The announcement rides on the first reply after it started, once.
	if got := lastReply(t, b).Text; got != r.catalog.Text("en", "lang_set", "lang_name", "English")+"\n\nPayments are delayed." {
		t.Fatalf("first reply during the announcement: %q", got)
	}
	process(t, r, inbound("ro", "status"))
	// STATUS always lists every mode in force, most severe first.
	if got, want := lastReply(t, b).Text, r.catalog.Text("en", "status_incident", "announcement",
		r.catalog.Text("en", "mode_read_only")+"\n\nPayments are delayed."); got != want {
		t.Fatalf("status in read-only: got %q, want %q", got, want)
	}
	process(t, r, inbound("ro", "my withdrawal never arrived"))
	if got := lastReply(t, b).Text; got != r.catalog.Text("en", "read_only") {
		t.Fatalf("question in read-only, announcement already given: %q", got)
	}
	hs := handoffs(t, b)
	if len(hs) != 1 || !hs[0].Deferred || hs[0].Priority != envelope.P2 {
		t.Fatalf("deferred handoff: %+v", hs)
	}
	process(t, r, inbound("ro2", "my withdrawal never arrived"))
	if got := lastReply(t, b).Text; got != r.catalog.Text("zh", "read_only")+"\n\nPayments are delayed." {
		t.Fatalf("another conversation's first question in read-only: %q", got)
	}
}

func TestGateRateLimited(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	gate := modeGate(t, b, fallback.Setting{Mode: fallback.ModeRateLimited, Reason: "flood"})
	r := newRouter(t, b, testConfig(), Deps{Gate: gate})
	for range 8 { // the default burst is 5
		process(t, r, inbound("flood", "help"))
	}
	var busy int
	for _, rep := range replies(t, b, "hotline.out.") {
		if rep.Text == r.catalog.Text("zh", "busy") {
			busy++
		}
	}
	if all := len(replies(t, b, "hotline.out.")); all != 6 || busy != 1 {
		t.Fatalf("%d replies with %d busy notices, want 5 answers and 1 notice", all, busy)
	}
	sess, _ := r.sessions.Load(context.Background(), envelope.ConversationKey("telegram", "tg-main", "flood"))
	if len(sess.Processed) != 8 {
		t.Fatalf("%d messages recorded, want all 8 stored", len(sess.Processed))
	}
}

func TestMalformedInboundGoesToDead(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = r.Run(ctx) }()
	if _, err := b.Publish(ctx, "hotline.in.sms.sms-main", []byte(`{"text":"help"`), "bad-1", nil); err != nil {
		t.Fatal(err)
	}
	bustest.WaitFor(t, "the dead letter", func() bool { return len(bustest.Messages(t, b, bus.StreamDead, "hotline.dead")) == 1 })
}

func TestTwoRoutersShareWorkWithoutDoubleReplies(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 2 {
		r := newRouter(t, b, testConfig(), Deps{})
		go func() { _ = r.Run(ctx) }()
	}
	const convs, each = 20, 10
	texts := []string{"help+en", "menu", "1", "status", "2", "3", "lang ru", "help", "menu", "status"}
	for i := range each {
		for c := range convs {
			m := inbound(fmt.Sprint("u", c), texts[i])
			if _, err := b.PublishInbound(ctx, &m, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	bustest.WaitFor(t, "every reply", func() bool { return len(replies(t, b, "hotline.out.")) >= convs*each })
	// Give a straggling duplicate the chance to show up.
	bustest.RouterCaughtUp(t, b)
	seen := map[string]int{}
	for _, rep := range replies(t, b, "hotline.out.") {
		seen[rep.InReplyTo]++
	}
	if len(seen) != convs*each {
		t.Fatalf("%d inbound messages answered, want %d", len(seen), convs*each)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("inbound %s answered %d times", id, n)
		}
	}
}

func TestAgentReplyThroughAdminAPI(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	if list, err := r.ListHandoffs(context.Background(), ""); err != nil || len(list) != 0 {
		t.Fatalf("empty list: %v %v", list, err)
	}
	process(t, r, inbound("a1", "lang en"))
	process(t, r, inbound("a1", "I need a person to look at my refund"))
	hs := handoffs(t, b)
	if len(hs) != 1 {
		t.Fatalf("%d handoffs, want 1", len(hs))
	}
	id := hs[0].ID
	call := adminAPI(t, r)
	if code, body := call("GET", "/admin/v1/handoffs?state=open", ""); code != 200 || !strings.Contains(body, id) {
		t.Fatalf("list: %d %s", code, body)
	}
	if code, _ := call("POST", "/admin/v1/handoffs/"+id+"/claim", `{"agent":"mei"}`); code != 200 {
		t.Fatalf("claim: %d", code)
	}
	if code, _ := call("POST", "/admin/v1/handoffs/"+id+"/claim", `{"agent":"raj"}`); code != http.StatusConflict {
		t.Fatalf("second agent's claim: %d, want 409", code)
	}
	for range 2 { // a double click
		if code, body := call("POST", "/admin/v1/handoffs/"+id+"/reply", `{"agent":"mei","text":"Hi, I am checking your refund now.","idempotency_key":"k1"}`); code != 200 {
			t.Fatalf("reply: %d %s", code, body)
		}
	}
	if n := len(replies(t, b, "hotline.out.")); n != 3 { // lang, handoff ack, the agent's one reply
		t.Fatalf("%d replies on HOTLINE_OUT, want the agent's reply stored once", n)
	}
	rep := lastReply(t, b)
	if rep.Source != envelope.SourceAgent || rep.Agent != "mei" || rep.Text != "Hi, I am checking your refund now." ||
		rep.Platform != "telegram" || rep.Account != "tg-main" || rep.To.ID != "a1" {
		t.Fatalf("agent reply on HOTLINE_OUT: %+v", rep)
	}
	if code, _ := call("GET", "/admin/v1/handoffs/"+envelope.NewID(time.Now()), ""); code != 404 {
		t.Fatalf("unknown handoff: %d, want 404", code)
	}
	if code, _ := call("POST", "/admin/v1/handoffs/"+id+"/reply", `{"agent":"mei"}`); code != 400 {
		t.Fatalf("empty reply: %d, want 400", code)
	}
	if code, _ := call("POST", "/admin/v1/handoffs/"+id+"/close", `{"agent":"mei"}`); code != 200 {
		t.Fatalf("close: %d", code)
	}
	st, _, _ := r.GetHandoff(context.Background(), id)
	if st.State != StateClosed || st.Replies != 1 {
		t.Fatalf("state after close: %+v", st)
	}
	sess, _ := r.sessions.Load(context.Background(), rep.Conversation)
	if last := sess.Turns[len(sess.Turns)-1]; last.Role != "agent" {
		t.Fatalf("agent reply not in history: %+v", sess.Turns)
	}
}
