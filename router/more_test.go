package router

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/bus/bustest"
	"hotline/envelope"
	"hotline/fallback"
)

func TestTextsDirOverridesAndAdds(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	cfg := testConfig()
	cfg.TextsDir = "testdata/texts"
	r := newRouter(t, b, cfg, Deps{})
	process(t, r, inbound("o1", "lang en"))
	process(t, r, inbound("o1", "status"))
	if got := lastReply(t, b).Text; got != "All systems go. Incidents are posted at status.example.com." {
		t.Fatalf("overridden status: %q", got)
	}
	process(t, r, inbound("o2", "help+french"))
	if got := lastReply(t, b); got.Lang != "fr" || !strings.HasPrefix(got.Text, "Voici") {
		t.Fatalf("added language: %+v", got)
	}
	process(t, r, inbound("o3", "aide"))
	if got := lastReply(t, b); got.Lang != "fr" {
		t.Fatalf("French command word answers in French: %+v", got)
	}
	if _, err := LoadCatalog(t.TempDir() + "/missing"); err != nil {
		t.Fatalf("a texts dir without files must load the built-ins: %v", err)
	}
}

func TestBrokenTextsAreRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := writeFile(dir+"/de.yaml", "lang: de\nname: Deutsch\ndir: ltr\ntexts:\n  help: Hilfe\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCatalog(dir); err == nil || !strings.Contains(err.Error(), `de: text "welcome" is missing`) {
		t.Fatalf("incomplete language: got %v, want an error naming the missing text", err)
	}
}

func TestFAQFile(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	cfg := testConfig()
	cfg.FAQFile = "testdata/faq.yaml"
	r := newRouter(t, b, cfg, Deps{})
	process(t, r, inbound("f1", "快递多久能到"))
	if got := lastReply(t, b).Text; got != "订单24小时内发货，一般3-5天送达。" {
		t.Fatalf("operator FAQ: %q", got)
	}
	m := inbound("f2", "what are your support hours?")
	m.LangHint = "en"
	process(t, r, m)
	if got := lastReply(t, b).Text; got != "Agents answer every day from 8:00 to 22:00." {
		t.Fatalf("replaced built-in: %q", got)
	}
	if _, err := LoadFAQ("testdata/nope.yaml"); err == nil {
		t.Fatal("missing FAQ file accepted")
	}
}

func TestFAQMatchIsExplained(t *testing.T) {
	t.Parallel()
	f, err := LoadFAQ("")
	if err != nil {
		t.Fatal(err)
	}
	m, ok := f.Match(fold("I FORGOT MY PASSWORD yesterday"), "en")
	if !ok || m.ID != "reset_password" || m.Keyword != "forgot my password" || m.KeywordLang != "en" {
		t.Fatalf("match %+v, want reset_password by the longest phrase", m)
	}
	if _, ok := f.Match(fold("hello there"), "en"); ok {
		t.Fatal("unrelated text matched")
	}
}

func TestConcurrentRoutersKeepEveryTurn(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r1 := newRouter(t, b, testConfig(), Deps{})
	r2 := newRouter(t, b, testConfig(), Deps{})
	const n = 10
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		for _, r := range []*Router{r1, r2} {
			wg.Go(func() {
				m := inbound("shared", fmt.Sprint("status"))
				m.Text = fmt.Sprintf("status %d %p", i, r) // free text: every one a handoff
				for {
					err := r.Process(context.Background(), &m)
					if errors.Is(err, errConflict) {
						continue
					}
					errs <- err
					return
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	sess, err := r1.sessions.Load(context.Background(), envelope.ConversationKey("telegram", "tg-main", "shared"))
	if err != nil {
		t.Fatal(err)
	}
	if sess.HandoffsToday != 2*n {
		t.Fatalf("session counts %d handoffs, want %d: an update was lost", sess.HandoffsToday, 2*n)
	}
}

func TestChannelSwitchRaisesPriority(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	bind := func(m envelope.Message) {
		process(t, r, m)
		process(t, r, envelope.Message{ID: envelope.NewID(time.Now()), Platform: m.Platform, Account: m.Account,
			PlatformMsgID: envelope.NewID(time.Now()), Conversation: m.Conversation, From: m.From, Kind: envelope.KindText,
			Text: r.bindCode(m.ID), ReceivedAt: time.Now()})
	}
	tg := inbound("sw", "bind +8613800138000")
	bind(tg)
	wc := tg
	wc.Platform, wc.Account, wc.Conversation = "webchat", "demo", "webchat:demo:visitor-9"
	wc.ID, wc.PlatformMsgID = envelope.NewID(time.Now()), envelope.NewID(time.Now())
	hello := wc
	hello.Text = "hello" // a web chat visitor talks before asking for a code
	process(t, r, hello)
	wc.ID, wc.PlatformMsgID = envelope.NewID(time.Now()), envelope.NewID(time.Now())
	bind(wc)

	process(t, r, inbound("sw", "my parcel is late"))
	m := inbound("sw", "my parcel is late")
	m.Platform, m.Account, m.Conversation = "webchat", "demo", "webchat:demo:visitor-9"
	process(t, r, m)
	hs := handoffs(t, b)
	if len(hs) != 2 {
		t.Fatalf("%d handoffs, want 2", len(hs))
	}
	if hs[1].Priority != envelope.P2 || !strings.Contains(strings.Join(hs[1].Reasons, ";"), "another channel") {
		t.Fatalf("second channel within 10 minutes: %s %v, want p2 for switching", hs[1].Priority, hs[1].Reasons)
	}
	if hs[1].User.Phone != "+8613800138000" {
		t.Fatalf("handoff user phone %q, want the bound number", hs[1].User.Phone)
	}
}

func TestEventsAndMedia(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	ev := func(user, name, key string) envelope.Message {
		m := inbound(user, "")
		m.Kind, m.Event = envelope.KindEvent, &envelope.Event{Name: name, Key: key}
		return m
	}
	process(t, r, ev("e1", envelope.EventSubscribe, "qrscene_42"))
	if got := lastReply(t, b); got.Text != r.catalog.Text("zh", "welcome") || len(got.Buttons) != 3 {
		t.Fatalf("welcome: %+v", got)
	}
	process(t, r, ev("e1", envelope.EventMenu, "2"))
	if got := lastReply(t, b).Text; got != r.catalog.Text("zh", "menu_payments") {
		t.Fatalf("menu click 2: %q", got)
	}
	before := len(replies(t, b, "hotline.out."))
	process(t, r, ev("e1", envelope.EventView, "https://example.com"))
	process(t, r, ev("e1", envelope.EventUnsubscribe, ""))
	process(t, r, inbound("e1", "help"))
	if after := len(replies(t, b, "hotline.out.")); after != before {
		t.Fatalf("%d replies after view, unsubscribe and a message from the unsubscribed user", after-before)
	}
	img := inbound("e2", "")
	img.Kind, img.Media = envelope.KindImage, []envelope.Media{{Kind: envelope.KindImage, PlatformID: "file-1"}}
	process(t, r, img)
	hs := handoffs(t, b)
	if len(hs) != 1 || !strings.Contains(strings.Join(hs[0].Reasons, ";"), "sent image") {
		t.Fatalf("image handoff: %+v", hs)
	}
}

func TestReviewFirstHoldsFAQAnswers(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{Gate: modeGate(t, b, fallback.Setting{Mode: fallback.ModeReviewFirst, Reason: "new FAQ"})})
	process(t, r, inbound("rv", "help"))
	if got := lastReply(t, b).Text; got != r.catalog.Text("zh", "help") {
		t.Fatalf("static help is not held: %q", got)
	}
	m := inbound("rv", "I forgot my password")
	process(t, r, m)
	if got := lastReply(t, b).Text; got != r.catalog.Text("en", "review_pending") { // English words, English answer
		t.Fatalf("user got %q, want the review_pending notice", got)
	}
	held := bustest.Messages(t, b, "HOTLINE_REVIEW", "hotline.review")
	if len(held) != 1 {
		t.Fatalf("%d replies held, want the FAQ answer", len(held))
	}
	var rep envelope.Reply
	if err := envelope.Decode(held[0], &rep); err != nil || rep.Text != r.knowledge.Answer("reset_password", "en") || rep.InReplyTo != m.ID {
		t.Fatalf("held reply %+v (%v), want the reset_password answer", rep, err)
	}
	// An operator approves it and it goes out like any reply.
	review, err := fallback.NewReview(b, fallback.ReviewDeps{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := review.Approve(context.Background(), rep.ID, "ops"); err != nil {
		t.Fatal(err)
	}
	if got := lastReply(t, b); got.ID != rep.ID || got.Text != rep.Text {
		t.Fatalf("after approval the last reply is %+v", got)
	}
}

func TestHoldForReviewSendsPendingNotice(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	m := inbound("h", "x")
	out := &outcome{}
	a := answerer{r: r, m: &m, sess: &Session{}, lang: "en", now: time.Now(), out: out, dec: fallback.Decision{HoldForReview: true}}
	a.sayText("a generated answer", envelope.SourceBot, false)
	if len(out.Review) != 1 || out.Review[0].Text != "a generated answer" {
		t.Fatalf("held: %+v, want the generated answer", out.Review)
	}
	if len(out.Replies) != 1 || out.Replies[0].Text != r.catalog.Text("en", "review_pending") {
		t.Fatalf("sent: %+v, want only the review_pending notice", out.Replies)
	}
}

func writeFile(path, body string) error { return os.WriteFile(path, []byte(body), 0o600) }

// clock is a settable time source for the router.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestBindingLimits(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	clk := &clock{now: time.Now().UTC()}
	r := newRouter(t, b, testConfig(), Deps{Now: clk.Now})
	en := func(user string) { process(t, r, inbound(user, "lang en")) }
	last := func() string { return lastReply(t, b).Text }

	// Expiry: a right code after ten minutes is refused.
	en("exp")
	m := inbound("exp", "bind +8613800138000")
	process(t, r, m)
	clk.Add(11 * time.Minute)
	process(t, r, inbound("exp", r.bindCode(m.ID)))
	if got := last(); got != r.catalog.Text("en", "bind_expired") {
		t.Fatalf("code after 11 minutes: %q, want bind_expired", got)
	}

	// Attempts: five wrong codes use up the binding; the right one is
	// refused after that.
	en("att")
	m = inbound("att", "bind +8613900139000")
	process(t, r, m)
	code := r.bindCode(m.ID)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := 4; i >= 1; i-- {
		process(t, r, inbound("att", wrong))
		if got := last(); got != r.catalog.Text("en", "bind_bad_code", "attempts", fmt.Sprint(i)) {
			t.Fatalf("wrong code with %d left: %q", i, got)
		}
	}
	process(t, r, inbound("att", wrong))
	if got := last(); got != r.catalog.Text("en", "bind_expired") {
		t.Fatalf("fifth wrong code: %q, want bind_expired", got)
	}
	process(t, r, inbound("att", code))
	if got := last(); strings.Contains(got, "linked") {
		t.Fatalf("the right code after five wrong ones bound the phone: %q", got)
	}

	// Per number: three codes an hour to one number, whoever asks.
	for i, user := range []string{"n1", "n2", "n3", "n4"} {
		en(user)
		process(t, r, inbound(user, "bind +8613700137000"))
		want := "bind_sent"
		if i == 3 {
			want = "bind_rate_limited"
		}
		if got := last(); !strings.HasPrefix(got, strings.SplitN(r.catalog.Text("en", want, "phone", "X"), "X", 2)[0]) {
			t.Fatalf("request %d for one number: %q, want %s", i+1, got, want)
		}
	}
	// Per conversation: three codes an hour, whatever the numbers.
	en("c")
	for i, number := range []string{"+8613600136001", "+8613600136002", "+8613600136003", "+8613600136004"} {
		process(t, r, inbound("c", "bind "+number))
		if i == 3 && last() != r.catalog.Text("en", "bind_rate_limited") {
			t.Fatalf("fourth code for one conversation: %q", last())
		}
	}
	// A national number without a country code is refused, not guessed.
	process(t, r, inbound("c", "bind 13800138000"))
	if got := last(); got != r.catalog.Text("en", "bind_bad_phone") {
		t.Fatalf("national number: %q", got)
	}
	if n := len(replies(t, b, "hotline.out.sms.sms-main")); n != 8 {
		t.Fatalf("%d codes sent by SMS, want 8 (2 + 3 per number + 3 per conversation)", n)
	}
}

func TestStopHonouredUnderRateLimit(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{Gate: modeGate(t, b, fallback.Setting{Mode: fallback.ModeRateLimited, Reason: "flood"})})
	for range 7 { // past the burst of 5 and the one busy notice
		process(t, r, inbound("flood", "help"))
	}
	process(t, r, inbound("flood", "STOP"))
	rep := lastReply(t, b)
	if rep.Text != r.catalog.Text("zh", "stopped") || !rep.OptOutConfirmation {
		t.Fatalf("STOP while rate limited: %+v", rep)
	}
	if !r.optout.has(envelope.ConversationKey("telegram", "tg-main", "flood")) {
		t.Fatal("STOP while rate limited was not recorded")
	}
}

func TestFollowingAgainOptsBackIn(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	ev := func(name string) envelope.Message {
		m := inbound("re", "")
		m.Kind, m.Event = envelope.KindEvent, &envelope.Event{Name: name}
		return m
	}
	process(t, r, ev(envelope.EventUnsubscribe))
	process(t, r, ev(envelope.EventSubscribe))
	if got := lastReply(t, b).Text; got != r.catalog.Text("zh", "welcome") {
		t.Fatalf("re-follow: %q, want the welcome", got)
	}
	process(t, r, inbound("re", "menu"))
	if got := lastReply(t, b).Text; got != r.catalog.Text("zh", "menu") {
		t.Fatalf("after re-following: %q, want the menu", got)
	}
}

func TestMentionIsAnsweredLikeAMessage(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	m := inbound("fan", "@brand 帮助")
	m.Text = "帮助"
	m.Kind, m.Event = envelope.KindEvent, &envelope.Event{Name: envelope.EventMention}
	process(t, r, m)
	if got := lastReply(t, b).Text; got != r.catalog.Text("zh", "help") {
		t.Fatalf("mention asking for help: %q", got)
	}
}
