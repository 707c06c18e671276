package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"hotline/bus/bustest"
	"hotline/router"
)

// The operator's and the agent's day in the console: what became of a
// reply (timeline, chart, dead letters, retry), canned replies, Arabic
// history and screens from a phone's to a desktop's.

const consoleBotSecret = "console-test-secret"

// consoleBot is a fake Bot API that refuses sendMessage as Telegram does
// for a chat the bot cannot reach (400 "chat not found") while refuse is
// set, and records the texts it accepted.
type consoleBot struct {
	URL    string
	refuse atomic.Bool
	mu     sync.Mutex
	sent   []string
}

func newConsoleBot(t *testing.T) *consoleBot {
	t.Helper()
	b := &consoleBot{}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/getMe"):
			fmt.Fprint(w, `{"ok":true,"result":{"id":7000000001,"is_bot":true,"first_name":"Hotline","username":"hotline_bot"}}`)
		case strings.HasSuffix(r.URL.Path, "/sendMessage") && b.refuse.Load():
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`)
		case strings.HasSuffix(r.URL.Path, "/sendMessage"):
			b.mu.Lock()
			b.sent = append(b.sent, r.FormValue("text"))
			b.mu.Unlock()
			fmt.Fprint(w, `{"ok":true,"result":{"message_id":1,"date":1764072000,"chat":{"id":42,"type":"private"}}}`)
		default:
			fmt.Fprint(w, `{"ok":true,"result":true}`)
		}
	}))
	t.Cleanup(api.Close)
	b.URL = api.URL
	return b
}

// count is how many times the bot accepted text.
func (b *consoleBot) count(text string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, s := range b.sent {
		if s == text {
			n++
		}
	}
	return n
}

// consoleGateway runs a gateway with Telegram bot tg-main on bot.
func consoleGateway(t *testing.T, bot *consoleBot) (public, admin string) {
	t.Helper()
	cfg := telegramConfig(t, bot.URL, "7000000001:AAE-token-for-serve-test", consoleBotSecret)
	public, admin, _ = startServe(t, cfg)
	return public, admin
}

// telegramUserSays posts a signed webhook update from Telegram user id
// and returns the handoff it opened.
func telegramUserSays(t *testing.T, public, admin string, id int, name, lang, text string) router.HandoffState {
	t.Helper()
	update := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":%d,"chat":{"id":%d,"type":"private"},`+
		`"from":{"id":%d,"is_bot":false,"first_name":%q,"language_code":%q},"text":%q}}`,
		id, id, time.Now().Unix(), id, id, name, lang, text)
	req, _ := http.NewRequest(http.MethodPost, "http://"+public+"/webhooks/telegram/tg-main", strings.NewReader(update))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", consoleBotSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("update from %s: %d %s", name, resp.StatusCode, body)
	}
	conversation := fmt.Sprintf("telegram:tg-main:%d", id)
	var found router.HandoffState
	bustest.WaitFor(t, "the handoff of "+name, func() bool {
		code, body := get(t, "http://"+admin+"/admin/v1/handoffs", testAdminToken)
		var list []router.HandoffState
		if code != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil {
			return false
		}
		for _, h := range list {
			if h.Conversation == conversation {
				found = h
				return true
			}
		}
		return false
	})
	return found
}

// openConsole signs in to the console as agent.
func openConsole(t *testing.T, tab context.Context, admin, agent string) *page {
	t.Helper()
	p := &page{t: t, ctx: tab, name: "console"}
	p.do("open the console", chromedp.Navigate("http://"+admin+"/console/"))
	p.waitFor("the login form", `!document.querySelector("#login-panel").hidden`)
	p.do("sign in", chromedp.SendKeys(chromedp.CSS("#token"), testAdminToken), chromedp.Click(chromedp.CSS("#login-button")))
	p.waitFor("the console", `!document.querySelector("#app").hidden && document.querySelector("#live-state").dataset.state === "live"`)
	p.do("name the agent", chromedp.SetValue(chromedp.CSS("#operator"), agent))
	return p
}

// pressEnter presses Enter as a keyboard does: one keyDown carrying its
// text, so a page that handles the keydown gets no newline. chromedp's
// KeyEvent sends the text as a separate char event, which the page
// cannot prevent.
func pressEnter() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter",
			WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13, Text: "\r", UnmodifiedText: "\r"}
		if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, down); err != nil {
			return err
		}
		up := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyUp, Key: "Enter", Code: "Enter",
			WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13}
		_, err := chromedp.Call(ctx, input.DispatchKeyEvent, up)
		return err
	})
}

// handoffCard is the selector of the console's card for conversation.
func handoffCard(conversation string) string {
	return fmt.Sprintf(`#handoff-list article.handoff[data-conversation=%s]`, jsString(conversation))
}

// TestBrowserConsoleDeadLetterRetry: an agent's reply the platform
// refuses shows as failed in the handoff's delivery timeline and in the
// dead letters, with the platform's reason; once the platform takes it
// again, Retry in the console sends it, exactly once, and the dead
// letters are empty.
func TestBrowserConsoleDeadLetterRetry(t *testing.T) {
	t.Parallel()
	tab := newBrowser(t)
	bot := newConsoleBot(t)
	bot.refuse.Store(true)
	public, admin := consoleGateway(t, bot)
	h := telegramUserSays(t, public, admin, 42, "Ana", "en", "Someone hacked my account and changed the password")

	agent := openConsole(t, tab, admin, "mei")
	card := handoffCard(h.Conversation)
	agent.waitFor("Ana's handoff", fmt.Sprintf(`!!document.querySelector(%s)`, jsString(card)))
	const answer = "Mei from security here: I have locked your account; choose a new password from the login screen."
	agent.do("reply", chromedp.SendKeys(chromedp.CSS(card+" .reply-text"), answer), chromedp.Click(chromedp.CSS(card+" button.reply")))

	// The timeline says failed, and why; the dead letter is the same reply.
	agent.waitFor("failed in the timeline", fmt.Sprintf(`[...document.querySelectorAll(%s)].some(li => li.textContent.includes("chat not found"))`,
		jsString(card+` .timeline li[data-state="failed"]`)))
	deadWith := fmt.Sprintf(`[...document.querySelectorAll("#dead-list article.dead")].find(a => a.querySelector(".dead-text").textContent === %s)`, jsString(answer))
	agent.waitFor("the dead letter", "!!"+deadWith)
	replyID := agent.eval(deadWith + `.dataset.message`)
	if got := agent.eval(fmt.Sprintf(`document.querySelector(%s).dataset.reply`, jsString(card+` .timeline li[data-state="failed"]`))); got != replyID || replyID == "" {
		t.Fatalf("the timeline's failed reply is %q, the dead letter's %q: want the same reply", got, replyID)
	}
	if got := agent.eval(deadWith + `.textContent`); !strings.Contains(got, "chat not found") || !strings.Contains(got, "hotline.out.telegram.tg-main") {
		t.Errorf("dead letter %q lacks the reason or the subject", got)
	}
	agent.waitFor("the failure in the chart", `!!document.querySelector('#delivery-chart figure[data-platform="telegram"] .total[data-state="failed"]')`)
	if open := agent.eval(fmt.Sprintf(`String(document.querySelector(%s).open)`, jsString(card+" details.deliveries"))); open != "true" {
		t.Errorf("a failed reply left the timeline closed")
	}
	agent.shot("01-failed-and-dead")

	// The user unblocked the bot: retry from the console.
	bot.refuse.Store(false)
	agent.do("retry", chromedp.Evaluate[chromedp.Void](deadWith+`.querySelector("button.retry").click()`))
	agent.waitFor("the dead letters empty", `!document.querySelector("#dead-list article.dead") && !document.querySelector("#dead-none").hidden`)
	agent.waitFor("sent in the timeline", fmt.Sprintf(`!!document.querySelector(%s)`,
		jsString(card+fmt.Sprintf(` .timeline li[data-state="sent"][data-reply=%s]`, jsString(replyID)))))
	agent.waitFor("the retry in the audit trail", `document.querySelector("#audit-list").textContent.includes("by mei")`)
	agent.shot("02-retried")
	if n := bot.count(answer); n != 1 {
		t.Fatalf("the platform accepted the reply %d times, want once", n)
	}
}

// TestBrowserConsoleCannedReply: "/" in the reply box lists the canned
// replies, filled for this user, ticket and agent; the arrow keys and
// Enter put one into the box, the agent adds to it, and that text is
// what the user gets.
func TestBrowserConsoleCannedReply(t *testing.T) {
	t.Parallel()
	tab := newBrowser(t)
	bot := newConsoleBot(t)
	public, admin := consoleGateway(t, bot)
	h := telegramUserSays(t, public, admin, 42, "Ana", "en", "Someone hacked my account and changed the password")

	agent := openConsole(t, tab, admin, "mei")
	card := handoffCard(h.Conversation)
	box := card + " .reply-text"
	options := jsString(card + " .canned-menu li.canned-option")
	agent.waitFor("Ana's handoff", fmt.Sprintf(`!!document.querySelector(%s)`, jsString(card)))
	agent.do("type a slash", chromedp.SendKeys(chromedp.CSS(box), "/"))
	agent.waitFor("the canned replies", fmt.Sprintf(`!document.querySelector(%s).hidden && document.querySelectorAll(%s).length >= 3`,
		jsString(card+" .canned-menu"), options))
	selected := func(id string) string {
		return fmt.Sprintf(`document.querySelector(%s + '[aria-selected="true"]').dataset.id === %s`, options, jsString(id))
	}
	agent.do("down twice", chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown))
	agent.waitFor("refund_sent selected", selected("refund_sent"))
	agent.shot("01-canned-menu")
	agent.do("up twice and Enter", chromedp.KeyEvent(kb.ArrowUp), chromedp.KeyEvent(kb.ArrowUp), pressEnter())
	filled := fmt.Sprintf("Hi Ana, this is mei from support. I'm looking at ticket %s now.", h.Ticket)
	agent.waitFor("the greeting in the box", fmt.Sprintf(`document.querySelector(%s).value === %s && document.querySelector(%s).hidden`,
		jsString(box), jsString(filled), jsString(card+" .canned-menu")))

	// Filtering: what follows the slash narrows the list.
	agent.do("filter", chromedp.SendKeys(chromedp.CSS(box), " /refund"))
	agent.waitFor("only the refund reply", fmt.Sprintf(`[...document.querySelectorAll(%s)].map(li => li.dataset.id).join() === "refund_sent"`, options))
	agent.do("close the list", chromedp.KeyEvent(kb.Escape))
	agent.waitFor("the list closed", fmt.Sprintf(`document.querySelector(%s).hidden`, jsString(card+" .canned-menu")))
	agent.do("edit", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const b = document.querySelector(%s);
		b.value = b.value.replace(/ \/refund$/, ""); })()`, jsString(box))),
		chromedp.SendKeys(chromedp.CSS(box), " Give me a minute."))
	final := filled + " Give me a minute."
	if got := agent.eval(fmt.Sprintf(`document.querySelector(%s).value`, jsString(box))); got != final {
		t.Fatalf("reply box %q, want %q", got, final)
	}
	agent.do("send", chromedp.Click(chromedp.CSS(card+" button.reply")))
	agent.waitFor("sent in the timeline", fmt.Sprintf(`!!document.querySelector(%s)`, jsString(card+` .timeline li[data-state="sent"]`)))
	if n := bot.count(final); n != 1 {
		t.Fatalf("the user got the edited canned reply %d times, want once", n)
	}
}

// TestBrowserConsoleLayout: an Arabic handoff's history reads right to
// left with its ticket id intact, and the console, full of work (modes,
// handoffs, a dead letter), never scrolls sideways on a desktop or a
// phone, in English or Chinese. It takes the docs' screenshots.
func TestBrowserConsoleLayout(t *testing.T) {
	t.Parallel()
	tab := newBrowser(t)
	bot := newConsoleBot(t)
	bot.refuse.Store(true)
	public, admin := consoleGateway(t, bot)
	cli := adminCLI(t, admin)
	ar := telegramUserSays(t, public, admin, 43, "ليلى", "ar", "تم اختراق حسابي وتم تغيير كلمة المرور، أرجو المساعدة بسرعة")
	en := telegramUserSays(t, public, admin, 42, "Ana", "en", "Someone hacked my account and changed the password")
	cli(0, "mode", "set", "announcement", "--scope", "telegram", "--reason", "payments provider failover, expected to last until the evening",
		"--by", "alice", "--announce", "en=Payments are delayed; nothing you send is lost.", "--announce", "ar=المدفوعات متأخرة؛ لن يضيع شيء مما ترسله.")
	cli(0, "handoff", "reply", en.Ticket, "We have locked your account; please choose a new password.", "--agent", "mei")

	agent := openConsole(t, tab, admin, "mei")
	agent.do("desktop", chromedp.EmulateViewport(1280, 900))
	agent.waitFor("both handoffs, the mode and the dead letter", fmt.Sprintf(`!!document.querySelector(%s) && !!document.querySelector(%s) &&
		!!document.querySelector("#modes-body tr") && !!document.querySelector("#dead-list article.dead") &&
		!!document.querySelector("#delivery-chart figure")`, jsString(handoffCard(ar.Conversation)), jsString(handoffCard(en.Conversation))))

	t.Run("arabic history right to left", func(t *testing.T) {
		p := &page{t: t, ctx: tab, name: "console"}
		card := handoffCard(ar.Conversation)
		// Every turn reads in its own direction: the user's and the
		// bot's, both Arabic, right to left, whatever the role label.
		got := p.eval(fmt.Sprintf(`[...document.querySelectorAll(%s)].map(e => e.getAttribute("dir") + ":" + getComputedStyle(e).direction).join(" ")`,
			jsString(card+" .history .turn-text")))
		if got == "" || strings.Contains(got, "ltr") || strings.Count(got, "auto:rtl") < 2 {
			t.Errorf("Arabic history turns (dir:direction) %q, want each auto:rtl", got)
		}
		if got := p.eval(fmt.Sprintf(`document.querySelector(%s).textContent`, jsString(card+" header bdi.ticket"))); got != ar.Ticket {
			t.Errorf("card ticket %q, want %q", got, ar.Ticket)
		}
		// The acknowledgement quotes the ticket inside Arabic text: isolated, intact.
		refs := p.eval(fmt.Sprintf(`[...document.querySelectorAll(%s)].map(b => b.tagName + ":" + b.textContent + ":" + getComputedStyle(b.closest(".turn-text")).direction).join()`,
			jsString(card+" .history .turn-text .ticket-ref")))
		if refs != "BDI:"+ar.Ticket+":rtl" {
			t.Errorf("ticket in the Arabic history %q, want BDI:%s:rtl", refs, ar.Ticket)
		}
		if got := p.eval(fmt.Sprintf(`document.querySelector(%s).textContent`, jsString(card+" .who bdi.user-name"))); got != "ليلى" {
			t.Errorf("user name %q, want it isolated", got)
		}
		p.do("scroll to the Arabic handoff", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).scrollIntoView({block: "center"})`, jsString(card))))
		p.docShot("console-arabic")
	})

	noSidewaysScroll := func(t *testing.T, p *page, screen string) {
		t.Helper()
		if got := consoleOverflow(p); got != "" {
			t.Errorf("%s: %s", screen, got)
		}
	}
	t.Run("no sideways scroll", func(t *testing.T) {
		p := &page{t: t, ctx: tab, name: "console"}
		p.do("to the top", chromedp.Evaluate[chromedp.Void](`scrollTo(0, 0)`))
		noSidewaysScroll(t, p, "1280 px")
		p.docShot("console-1280")
		p.shot("console-1280-full")
		p.do("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch), chromedp.Reload())
		p.waitFor("the console on a phone", `!document.querySelector("#app").hidden && !!document.querySelector("#dead-list article.dead") &&
			!!document.querySelector("#handoff-list .timeline li")`)
		noSidewaysScroll(t, p, "390 px")
		p.do("to the handoffs", chromedp.Evaluate[chromedp.Void](`document.querySelector("#handoffs").scrollIntoView()`))
		p.docShot("console-390")
		// What the live card lists grows with the load: a backlog on
		// every consumer, an adapter's error. A loaded test run saw it spill at
		// 390 px; the longest names must wrap, not widen the card.
		p.do("long live entries", chromedp.Evaluate[chromedp.Void](`(() => {
			const long = "HOTLINE_OUT·outbound-telegram-support-main-account-with-a-long-name";
			renderList(document.querySelector("#backlog"), [[long, "123456"]]);
			renderList(document.querySelector("#circuits"), [["telegram/support-main-account-with-a-long-name", "half-open"]]);
			renderList(document.querySelector("#adapters"), [["sms/modem-main", "reopening: modem: open /dev/serial/by-id/usb-Quectel_EC25-if02-port0: no such file"]]);
		})()`))
		noSidewaysScroll(t, p, "390 px, long live entries")
	})

	t.Run("chat", func(t *testing.T) {
		p := &page{t: t, ctx: tab, name: "chat"}
		p.do("open the chat", chromedp.Navigate("http://"+public+"/chat/"))
		p.waitFor("the socket", `document.querySelector("#state").dataset.state === "online"`)
		p.do("ask for help", chromedp.SendKeys(chromedp.CSS("#text"), "help"), chromedp.Click(chromedp.CSS("#send")))
		p.waitFor("the answer", `!!document.querySelector("#log .msg.msg-bot")`)
		p.docShot("chat")
	})

	t.Run("chinese labels", func(t *testing.T) {
		p := &page{t: t, ctx: tab, name: "console"}
		p.do("speak Chinese", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
				UserAgent: "Mozilla/5.0 (X11; Linux x86_64) hotline-test", AcceptLanguage: "zh-CN,zh;q=0.9"})
			return err
		}), chromedp.Navigate("http://"+admin+"/console/"))
		p.waitFor("the console in Chinese", `document.documentElement.lang === "zh" && !document.querySelector("#app").hidden &&
			!!document.querySelector("#handoff-list article.handoff")`)
		if got := p.eval(`document.querySelector("#handoffs h2 [data-t]").textContent + "|" + document.querySelector("#handoff-list .reply").textContent`); got != "人工转接|发送回复" {
			t.Errorf("Chinese labels %q", got)
		}
		noSidewaysScroll(t, p, "390 px in Chinese")
	})
}
