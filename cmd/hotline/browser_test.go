package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hotline/router"
)

// findBrowser returns a Chromium to drive. In CI (.ci/run sets CI and
// installs Debian's chromium) a missing browser fails the test; elsewhere
// the test skips and says how to get one.
func findBrowser(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("HOTLINE_CHROME"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no Chromium found; .ci/run installs Debian's chromium, or set HOTLINE_CHROME to a Chrome binary")
	}
	t.Skip("browser tests skipped: no Chromium found (apt-get install chromium, or set HOTLINE_CHROME)")
	return ""
}

// newBrowser starts a headless Chromium for the test with the flags this
// sandboxed, offline machine needs, and returns its first tab. A browser
// that dies while starting (seen now and then on a loaded 2-core machine)
// is started again, twice at most.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	exe := findBrowser(t)
	var err error
	for attempt := range 3 {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(exe),
			chromedp.NoSandbox, // CI runs as root
			chromedp.DisableGPU,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.UserDataDir(t.TempDir()),
			chromedp.WindowSize(1100, 900),
		)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		tab, cancelTab := chromedp.NewContext(alloc)
		// The first Run starts the browser; it must not carry a timeout.
		if err = chromedp.Do(tab); err == nil {
			t.Cleanup(func() { cancelTab(); cancelAlloc() })
			return tab
		}
		cancelTab()
		cancelAlloc()
		t.Logf("Chromium did not start (attempt %d): %.300s", attempt+1, err)
	}
	t.Fatalf("start Chromium: %v", err)
	return nil
}

// page is one browser tab in the test, with the screenshots it saves.
type page struct {
	t    *testing.T
	ctx  context.Context
	name string
}

func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		p.t.Fatalf("%s: %s: %v", p.name, what, err)
	}
}

// waitFor polls a JavaScript condition until it holds. A poll does not
// survive a navigation (a form post and its redirect), so it starts again
// on the new document until the deadline.
func (p *page) waitFor(what, js string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	// A page still loading has no elements yet: that is "not yet".
	guarded := "(() => { try { return (" + js + "); } catch (e) { return false; } })()"
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](guarded, chromedp.WithPollingInterval(50*time.Millisecond),
			chromedp.WithPollingTimeout(20*time.Second)))
		if err == nil {
			return
		}
		if ctx.Err() != nil || !navigationError(err) {
			p.shot("failed-wait-for-" + strings.ReplaceAll(what, " ", "-"))
			p.t.Fatalf("%s: wait for %s: %v", p.name, what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// navigationError reports an error that only says the page changed under
// the poll (a form post, a redirect, a reload): the poll starts again.
func navigationError(err error) bool {
	msg := err.Error()
	for _, s := range []string{"navigated", "context was destroyed", "Cannot find context with specified id"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func (p *page) eval(js string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		p.t.Fatalf("%s: eval %s: %v", p.name, js, err)
	}
	return v
}

// shot saves a screenshot of the whole page under the test's artifact
// directory (kept with go test -artifacts).
func (p *page) shot(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(p.t.ArtifactDir(), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Errorf("save screenshot: %v", err)
	}
}

// shotViewport saves what is on screen, as a phone user sees it, with
// the test's artifacts.
func (p *page) shotViewport(name string) {
	p.t.Helper()
	p.saveViewport(name, p.t.ArtifactDir())
}

// jsString quotes s for a JavaScript expression.
func jsString(s string) string { return strconv.Quote(s) }

// TestBrowserVisitorAndOperator is the product demo as a test: a visitor
// in the web chat and an operator in the console, in one real browser.
func TestBrowserVisitorAndOperator(t *testing.T) {
	t.Parallel()
	tab := newBrowser(t)
	cfg := testConfig(t, t.TempDir())
	public, admin, _ := startServe(t, cfg)
	texts, err := router.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	firstLine := func(s string) string { return strings.TrimSpace(strings.SplitN(s, "\n", 2)[0]) }

	visitor := &page{t: t, ctx: tab, name: "visitor"}
	operatorTab, cancel := chromedp.NewContext(tab)
	t.Cleanup(cancel)
	// Like the browser, a tab lives as long as the context of its first
	// Run: open it without a timeout.
	if err := chromedp.Do(operatorTab); err != nil {
		t.Fatalf("open a second tab: %v", err)
	}
	operator := &page{t: t, ctx: operatorTab, name: "operator"}

	say := func(text string) {
		t.Helper()
		visitor.do("send "+text,
			chromedp.SendKeys(chromedp.CSS("#text"), text),
			chromedp.Click(chromedp.CSS("#send")))
	}
	// botSaid waits for a bot (or agent) message containing want.
	botSaid := func(class, want string) {
		t.Helper()
		visitor.waitFor(class+" says "+want, fmt.Sprintf(
			`[...document.querySelectorAll("#log .msg.%s .text")].some(e => e.textContent.includes(%s))`, class, jsString(want)))
	}

	// 1. help+ar comes back in Arabic, laid out right to left.
	visitor.do("open the chat", chromedp.Navigate("http://"+public+"/chat/"))
	visitor.waitFor("the socket", `document.querySelector("#state").dataset.state === "online"`)
	say("help+ar")
	arHelp := firstLine(texts.Text("ar", "help"))
	botSaid("msg-bot", arHelp)
	dir := visitor.eval(fmt.Sprintf(`(() => {
		const m = [...document.querySelectorAll("#log .msg.msg-bot")].find(e => e.textContent.includes(%s));
		return m.getAttribute("dir") + " " + getComputedStyle(m.querySelector(".text")).direction;
	})()`, jsString(arHelp)))
	if dir != "rtl rtl" {
		t.Fatalf("Arabic help: dir attribute and computed direction %q, want rtl rtl", dir)
	}
	visitor.shot("01-visitor-help-ar")

	// 2. The operator signs in and switches read_only on.
	operator.do("open the console", chromedp.Navigate("http://"+admin+"/console/"))
	operator.waitFor("the login form", `!document.querySelector("#login-panel").hidden`)
	operator.do("sign in",
		chromedp.SendKeys(chromedp.CSS("#token"), testAdminToken),
		chromedp.Click(chromedp.CSS("#login-button")))
	operator.waitFor("the console", `!document.querySelector("#app").hidden && document.querySelector("#live-state").dataset.state === "live"`)
	operator.do("set read_only",
		chromedp.SetValue(chromedp.CSS("#mode-name"), "read_only"),
		chromedp.SendKeys(chromedp.CSS("#mode-reason"), "payments database failover"),
		chromedp.SendKeys(chromedp.CSS("#operator"), "alice"),
		chromedp.Click(chromedp.CSS("#mode-submit")))
	operator.waitFor("read_only in the table", `!!document.querySelector('#modes-body tr[data-mode="read_only"][data-scope="global"]')`)
	if who := operator.eval(`document.querySelector('#modes-body tr[data-mode="read_only"]').textContent`); !strings.Contains(who, "alice") || !strings.Contains(who, "payments database failover") {
		t.Errorf("read_only row %q does not say who and why", who)
	}
	operator.shot("02-console-read-only")
	// The row stays the same element across polls (every 2 s): one
	// redrawn each time could lose the click on its Clear button.
	operator.eval(`(() => {
		performance.clearResourceTimings();
		performance.setResourceTimingBufferSize(10000);
		document.querySelector('#modes-body tr[data-mode="read_only"]').dataset.probe = "kept";
		return "";
	})()`)
	operator.waitFor("two more polls of the modes", `performance.getEntriesByType("resource").filter((e) => e.name.includes("/admin/v1/modes")).length >= 2`)
	if kept := operator.eval(`document.querySelector('#modes-body tr[data-mode="read_only"]').dataset.probe || "redrawn"`); kept != "kept" {
		t.Errorf("the read_only row was %s by a poll that changed nothing", kept)
	}

	// 3. The visitor's next question gets the read-only text.
	say("my order was charged twice, why?")
	botSaid("msg-bot", firstLine(texts.Text("ar", "read_only")))
	visitor.shot("03-visitor-read-only")

	// 4. An announcement for the web chat shows as the banner.
	const notice = "Payments are delayed; nothing you send is lost."
	operator.do("set an announcement",
		chromedp.SetValue(chromedp.CSS("#mode-name"), "announcement"),
		chromedp.SetValue(chromedp.CSS("#mode-scope"), "webchat"),
		chromedp.SendKeys(chromedp.CSS("#mode-reason"), "payments incident"),
		chromedp.SendKeys(chromedp.CSS("#mode-announce"), "en="+notice+"\nar=المدفوعات متأخرة؛ لن يضيع شيء مما ترسله."),
		chromedp.Click(chromedp.CSS("#mode-submit")))
	operator.waitFor("the announcement row", `!!document.querySelector('#modes-body tr[data-mode="announcement"][data-scope="webchat"]')`)
	visitor.waitFor("the banner", `(() => { const b = document.querySelector("#banner");
		return !b.hidden && b.textContent.length > 0; })()`)
	if banner := visitor.eval(`document.querySelector("#banner").textContent`); !strings.Contains(banner, notice) && !strings.Contains(banner, "المدفوعات متأخرة") {
		t.Errorf("banner %q is not the announcement", banner)
	}
	visitor.shot("04-visitor-banner")

	// 5. With read_only cleared, an account theft goes to a p1 handoff;
	// the operator claims it and answers, and the visitor sees the answer.
	operator.do("clear read_only", chromedp.Click(chromedp.CSS(`#modes-body tr[data-mode="read_only"] button.clear-mode`)))
	operator.waitFor("read_only gone", `!document.querySelector('#modes-body tr[data-mode="read_only"]')`)
	say("someone hacked my account and changed my password")
	const p1 = `article.handoff[data-priority="p1"]`
	operator.waitFor("the p1 handoff", fmt.Sprintf(`!!document.querySelector(%s)`, jsString(p1)))
	if hist := operator.eval(fmt.Sprintf(`document.querySelector(%s).querySelector(".history").textContent`, jsString(p1+""))); !strings.Contains(hist, "hacked my account") {
		t.Errorf("handoff history %q lacks the visitor's message", hist)
	}
	if sla := operator.eval(fmt.Sprintf(`document.querySelector(%s + " .sla").textContent`, jsString(p1))); !strings.Contains(sla, "SLA") {
		t.Errorf("no SLA countdown: %q", sla)
	}
	operator.do("claim", chromedp.Click(chromedp.CSS(p1+" button.claim")))
	operator.waitFor("claimed", fmt.Sprintf(`document.querySelector(%s).dataset.state === "claimed"`, jsString(p1)))
	const answer = "This is Alice from the security team: I have locked your account; check your SMS."
	operator.do("reply",
		chromedp.SendKeys(chromedp.CSS(p1+" .reply-text"), answer),
		chromedp.Click(chromedp.CSS(p1+" button.reply")))
	operator.shot("05-console-handoff")
	botSaid("msg-agent", answer)
	// The conversation is in Arabic, the agent wrote English: the text
	// decides its direction, not the conversation.
	if dir := visitor.eval(`getComputedStyle(document.querySelector("#log .msg.msg-agent .text")).direction`); dir != "ltr" {
		t.Errorf("an English agent answer in an Arabic conversation is laid out %s, want ltr", dir)
	}
	visitor.shot("06-visitor-agent-reply")
	operator.do("close the handoff", chromedp.Click(chromedp.CSS(p1+" button.close-handoff")))
	operator.waitFor("the p1 handoff gone from the queue", fmt.Sprintf(`!document.querySelector(%s)`, jsString(p1)))

	// 6. A reload keeps the conversation.
	visitor.do("reload", chromedp.Reload())
	visitor.waitFor("the history after a reload", fmt.Sprintf(
		`document.querySelector("#state").dataset.state === "online" && [...document.querySelectorAll("#log .msg.msg-agent")].some(e => e.textContent.includes(%s))`, jsString(answer)))
	visitor.shot("07-visitor-after-reload")

	// 7. On a phone: the composer is on screen and nothing scrolls sideways.
	visitor.do("phone viewport",
		chromedp.EmulateViewport(390, 844, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch),
		chromedp.Reload())
	visitor.waitFor("the chat on a phone", `document.querySelector("#state").dataset.state === "online"`)
	fits := visitor.eval(`(() => {
		const c = document.querySelector("#composer").getBoundingClientRect();
		return [c.bottom <= innerHeight, c.right <= innerWidth, document.documentElement.scrollWidth <= innerWidth].join(" ");
	})()`)
	if fits != "true true true" {
		t.Errorf("on a 390×844 phone: composer inside the screen height, width, no sideways scroll = %q, want all true", fits)
	}
	visitor.shotViewport("08-visitor-phone")
	t.Logf("screenshots in %s", t.ArtifactDir())
}

// TestBrowserConsoleReviewQueue drives the review queue from the console
// of a gateway without an admin token (loopback only, no login).
func TestBrowserConsoleReviewQueue(t *testing.T) {
	t.Parallel()
	tab := newBrowser(t)
	cfg := testConfig(t, t.TempDir())
	cfg.HTTP.AdminToken = ""
	public, admin, _ := startServe(t, cfg)
	visitor := &page{t: t, ctx: tab, name: "visitor"}
	operatorTab, cancel := chromedp.NewContext(tab)
	t.Cleanup(cancel)
	if err := chromedp.Do(operatorTab); err != nil {
		t.Fatalf("open a second tab: %v", err)
	}
	operator := &page{t: t, ctx: operatorTab, name: "operator"}

	operator.do("open the console", chromedp.Navigate("http://"+admin+"/console/"))
	operator.waitFor("the console without a login", `!document.querySelector("#app").hidden && document.querySelector("#login-panel").hidden && document.querySelector("#logout-form").hidden`)
	operator.do("set review_first",
		chromedp.SetValue(chromedp.CSS("#mode-name"), "review_first"),
		chromedp.SendKeys(chromedp.CSS("#mode-reason"), "new FAQ answers"),
		chromedp.Click(chromedp.CSS("#mode-submit")))
	operator.waitFor("review_first on", `!!document.querySelector('#modes-body tr[data-mode="review_first"]')`)

	visitor.do("open the chat", chromedp.Navigate("http://"+public+"/chat/"))
	visitor.waitFor("the socket", `document.querySelector("#state").dataset.state === "online"`)
	visitor.do("ask", chromedp.SendKeys(chromedp.CSS("#text"), "I forgot my password"), chromedp.Click(chromedp.CSS("#send")))

	const held = "#review-list article.held"
	operator.waitFor("the held answer", fmt.Sprintf(`document.querySelector(%s + " .held-text").textContent.includes("Forgot password")`, jsString(held)))
	operator.shot("01-console-review-queue")
	const edited = "Tap \"Forgot password\" on the login screen; the code comes by SMS within a minute."
	operator.do("edit and send",
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).value = ""`, jsString(held+" .edit-text"))),
		chromedp.SendKeys(chromedp.CSS(held+" .edit-text"), edited),
		chromedp.Click(chromedp.CSS(held+" button.edit")))
	operator.waitFor("the queue empty", `!document.querySelector("#review-list article.held") && !document.querySelector("#review-none").hidden`)
	visitor.waitFor("the edited answer", fmt.Sprintf(
		`[...document.querySelectorAll("#log .msg.msg-bot .text")].some(e => e.textContent === %s)`, jsString(edited)))
	if n := visitor.eval(`String([...document.querySelectorAll("#log .msg.msg-bot .text")].filter(e => e.textContent.includes("follow the steps to verify")).length)`); n != "0" {
		t.Errorf("the visitor also got the unedited answer (%s times)", n)
	}
	operator.waitFor("the decision in the audit trail", `document.querySelector("#audit-list").textContent.includes("review.edit")`)
	visitor.shot("02-visitor-edited-answer")

	// Approve one held answer as it is, reject another.
	visitor.do("ask two more",
		chromedp.SendKeys(chromedp.CSS("#text"), "what are your opening hours"), chromedp.Click(chromedp.CSS("#send")),
		chromedp.SendKeys(chromedp.CSS("#text"), "where is my refund"), chromedp.Click(chromedp.CSS("#send")))
	heldWith := func(phrase string) string {
		return fmt.Sprintf(`[...document.querySelectorAll("#review-list article.held")].find(a => a.querySelector(".held-text").textContent.includes(%s))`, jsString(phrase))
	}
	operator.waitFor("both held", heldWith("24/7")+` && `+heldWith("business days"))
	operator.do("approve the hours, reject the refund answer",
		chromedp.Evaluate[chromedp.Void](heldWith("24/7")+`.querySelector("button.approve").click()`),
		chromedp.Evaluate[chromedp.Void](heldWith("business days")+`.querySelector(".reject-reason").value = "refund policy is changing"`),
		chromedp.Evaluate[chromedp.Void](heldWith("business days")+`.querySelector("button.reject").click()`))
	operator.waitFor("the queue empty again", `!document.querySelector("#review-list article.held")`)
	visitor.waitFor("the approved answer", `[...document.querySelectorAll("#log .msg.msg-bot .text")].some(e => e.textContent.includes("24/7"))`)
	operator.waitFor("both decisions audited", `document.querySelector("#audit-list").textContent.includes("review.approve") &&
		document.querySelector("#audit-list").textContent.includes("review.reject")`)
	if n := visitor.eval(`String([...document.querySelectorAll("#log .msg.msg-bot .text")].filter(e => e.textContent.includes("business days")).length)`); n != "0" {
		t.Errorf("the rejected answer reached the visitor (%s times)", n)
	}
	visitor.shot("03-visitor-approved-not-rejected")
}

// TestBrowserChatSurvivesRestart stops the gateway under an open chat:
// the page says it is offline, keeps what the visitor sends meanwhile,
// reconnects by itself when the gateway is back, and the message is
// stored once and answered.
func TestBrowserChatSurvivesRestart(t *testing.T) {
	// Not parallel: the restart binds the same ports again (the page
	// must find the gateway where it was), free while it is down, which
	// a parallel test's listener or connection could take meanwhile.
	tab := newBrowser(t)
	cfg := testConfig(t, t.TempDir())
	// Fixed ports, so the page finds the gateway again after the restart.
	cfg.HTTP.Listen, cfg.HTTP.AdminListen = freeAddr(t), freeAddr(t)
	public, _, stop := startServe(t, cfg)
	texts, err := router.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	visitor := &page{t: t, ctx: tab, name: "visitor"}
	visitor.do("open the chat", chromedp.Navigate("http://"+public+"/chat/"))
	visitor.waitFor("the socket", `document.querySelector("#state").dataset.state === "online"`)

	stop()
	visitor.waitFor("the offline state", `document.querySelector("#state").dataset.state !== "online"`)
	visitor.do("send while offline",
		chromedp.SendKeys(chromedp.CSS("#text"), "status"),
		chromedp.Click(chromedp.CSS("#send")))
	visitor.waitFor("the message kept as pending", `!!document.querySelector("#log .msg.msg-user.pending")`)
	visitor.shot("01-offline-pending")

	_, admin, _ := startServe(t, cfg)
	visitor.waitFor("the reconnect", `document.querySelector("#state").dataset.state === "online"`)
	want := strings.TrimSpace(strings.SplitN(texts.Text("en", "status"), "\n", 2)[0])
	visitor.waitFor("the answer to the message sent offline", fmt.Sprintf(
		`!document.querySelector("#log .msg.pending") && [...document.querySelectorAll("#log .msg.msg-bot .text")].some(e => e.textContent.includes(%s))`,
		jsString(want)))
	visitor.shot("02-reconnected-answered")
	if n := visitor.eval(`String(document.querySelectorAll("#log .msg.msg-user").length)`); n != "1" {
		t.Errorf("the visitor's log shows %s messages of theirs, want 1", n)
	}
	code, body := get(t, "http://"+admin+"/admin/v1/status", testAdminToken)
	if code != 200 || !strings.Contains(body, `{"name":"HOTLINE_IN","messages":1,`) {
		t.Errorf("status %d %s: want HOTLINE_IN holding the one message", code, body)
	}
}

// TestBrowserRateLimitedMessagesAreKept: a visitor typing faster than the
// per-visitor limit sees "sending too fast", and every message still
// goes, once, when the budget allows; a reload in between loses nothing.
func TestBrowserRateLimitedMessagesAreKept(t *testing.T) {
	t.Parallel()
	tab := newBrowser(t)
	cfg := testConfig(t, t.TempDir())
	chat := webchatSettings(t, cfg)
	chat.Burst, chat.RatePerMinute = 2, 60
	public, admin, _ := startServe(t, cfg)
	visitor := &page{t: t, ctx: tab, name: "visitor"}
	visitor.do("open the chat", chromedp.Navigate("http://"+public+"/chat/"))
	visitor.waitFor("the socket", `document.querySelector("#state").dataset.state === "online"`)
	for _, text := range []string{"one", "two", "three", "four"} {
		visitor.do("send "+text, chromedp.SendKeys(chromedp.CSS("#text"), text), chromedp.Click(chromedp.CSS("#send")))
	}
	visitor.waitFor("the too-fast notice", `[...document.querySelectorAll("#log .msg.msg-user.pending .error")].some(e => e.textContent.includes("too fast"))`)
	visitor.shot("01-too-fast")
	visitor.do("reload while some wait", chromedp.Reload())
	visitor.waitFor("every message stored", `document.querySelector("#state").dataset.state === "online" &&
		document.querySelectorAll("#log .msg.msg-user").length === 4 && !document.querySelector("#log .msg.pending, #log .msg.failed")`)
	visitor.shot("02-all-sent")
	code, body := get(t, "http://"+admin+"/admin/v1/status", testAdminToken)
	if code != 200 || !strings.Contains(body, `{"name":"HOTLINE_IN","messages":4,`) {
		t.Errorf("status %d %s: want HOTLINE_IN holding the 4 messages once each", code, body)
	}
}

// TestBrowserReadOnlyAnnouncementBanner: an operator's announcement for
// read_only (not the announcement mode) shows as the web chat banner,
// rides on the visitor's next answer once, and goes when the mode is
// cleared.
func TestBrowserReadOnlyAnnouncementBanner(t *testing.T) {
	t.Parallel()
	tab := newBrowser(t)
	cfg := testConfig(t, t.TempDir())
	public, admin, _ := startServe(t, cfg)
	cli := adminCLI(t, admin)
	texts, err := router.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	visitor := &page{t: t, ctx: tab, name: "visitor"}
	visitor.do("open the chat", chromedp.Navigate("http://"+public+"/chat/"))
	visitor.waitFor("the socket", `document.querySelector("#state").dataset.state === "online"`)
	if banner := visitor.eval(`document.querySelector("#banner").hidden ? "" : document.querySelector("#banner").textContent`); banner != "" {
		t.Fatalf("banner %q before any mode is on", banner)
	}

	const notice = "Payments database failover: we answer HELP, the menu and STATUS until 14:00 UTC."
	cli(0, "mode", "set", "read_only", "--scope", "webchat", "--reason", "payments database failover", "--by", "alice",
		"--announce", "en="+notice)
	visitor.waitFor("the banner", fmt.Sprintf(`(() => { const b = document.querySelector("#banner");
		return !b.hidden && b.textContent === %s; })()`, jsString(notice)))
	visitor.shot("01-read-only-banner")

	visitor.do("ask", chromedp.SendKeys(chromedp.CSS("#text"), "lang en"), chromedp.Click(chromedp.CSS("#send")))
	visitor.waitFor("the answer with the announcement", fmt.Sprintf(
		`[...document.querySelectorAll("#log .msg.msg-bot .text")].some(e => e.textContent.includes(%s) && e.textContent.includes(%s))`,
		jsString(strings.TrimSpace(texts.Text("en", "lang_set", "lang_name", "English"))), jsString(notice)))
	visitor.do("ask for the status", chromedp.SendKeys(chromedp.CSS("#text"), "status"), chromedp.Click(chromedp.CSS("#send")))
	visitor.waitFor("STATUS naming the mode", fmt.Sprintf(
		`[...document.querySelectorAll("#log .msg.msg-bot .text")].some(e => e.textContent === %s)`,
		jsString(texts.Text("en", "status_incident", "announcement", notice))))
	if n := visitor.eval(fmt.Sprintf(`String([...document.querySelectorAll("#log .msg.msg-bot .text")].filter(e => e.textContent.includes(%s)).length)`,
		jsString(texts.Text("en", "status")))); n != "0" {
		t.Errorf("the web chat said all is well %s times while read_only was on", n)
	}
	visitor.shot("02-read-only-answers")

	cli(0, "mode", "clear", "read_only", "--scope", "webchat", "--by", "alice")
	visitor.waitFor("the banner gone", `document.querySelector("#banner").hidden`)
}

// TestBrowserAttachmentAndLabels: a visitor attaches a screenshot, which
// is stored and shown in the transcript (and again after a reload, from
// the gateway); after help+ar the page's own words are the catalog's
// Arabic ones and the page is laid out right to left.
func TestBrowserAttachmentAndLabels(t *testing.T) {
	t.Parallel()
	tab := newBrowser(t)
	cfg := testConfig(t, t.TempDir())
	public, admin, _ := startServe(t, cfg)
	texts, err := router.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for x := range 40 {
		for y := range 30 {
			img.Set(x, y, color.RGBA{R: uint8(x * 6), G: 120, B: uint8(y * 8), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "screenshot.png")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	visitor := &page{t: t, ctx: tab, name: "visitor"}
	visitor.do("open the chat", chromedp.Navigate("http://"+public+"/chat/"))
	visitor.waitFor("the socket", `document.querySelector("#state").dataset.state === "online"`)
	if got := visitor.eval(`document.querySelector("#text").placeholder`); got != texts.Text("en", "webchat_placeholder") {
		t.Errorf("English placeholder %q, want %q", got, texts.Text("en", "webchat_placeholder"))
	}

	// 1. The attachment: stored, acknowledged and shown as a thumbnail
	// the browser could load from the gateway.
	visitor.do("attach a screenshot", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}))
	const shown = `(() => { const i = document.querySelector("#log .msg.msg-user .media img");
		return !!i && i.complete && i.naturalWidth === 40 && !document.querySelector("#log .msg.pending, #log .msg.failed") &&
			/^media\//.test(i.getAttribute("src")); })()`
	visitor.waitFor("the stored thumbnail", shown)
	visitor.shot("01-attachment")
	code, body := get(t, "http://"+admin+"/admin/v1/status", testAdminToken)
	if code != 200 || !strings.Contains(body, `{"name":"HOTLINE_IN","messages":1,`) {
		t.Errorf("status %d %s: want HOTLINE_IN holding the one attachment message", code, body)
	}
	visitor.do("reload", chromedp.Reload())
	visitor.waitFor("the thumbnail after a reload", `document.querySelector("#state").dataset.state === "online" && `+shown)

	// 2. help+ar: the answer in Arabic, and the page's words too.
	visitor.do("send help+ar", chromedp.SendKeys(chromedp.CSS("#text"), "help+ar"), chromedp.Click(chromedp.CSS("#send")))
	arPlaceholder := texts.Text("ar", "webchat_placeholder")
	visitor.waitFor("Arabic labels", fmt.Sprintf(`document.querySelector("#text").placeholder === %s`, jsString(arPlaceholder)))
	got := visitor.eval(`[document.documentElement.dir, document.documentElement.lang, getComputedStyle(document.body).direction,
		document.querySelector("#send").textContent, document.querySelector("#attach").getAttribute("aria-label"),
		document.querySelector("#state").textContent, document.querySelector("#log").getAttribute("aria-label")].join("|")`)
	want := strings.Join([]string{"rtl", "ar", "rtl", texts.Text("ar", "webchat_send"), texts.Text("ar", "webchat_attach"),
		texts.Text("ar", "webchat_online"), texts.Text("ar", "webchat_conversation")}, "|")
	if got != want {
		t.Errorf("after help+ar: %q, want %q", got, want)
	}
	if quick := visitor.eval(`[...document.querySelectorAll("#menu .chip.quick")].map(b => b.textContent).join("|")`); !strings.Contains(quick, texts.Text("ar", "webchat_human")) {
		t.Errorf("quick replies %q, want the Arabic %q", quick, texts.Text("ar", "webchat_human"))
	}
	if w := visitor.eval(`[document.documentElement.scrollWidth, innerWidth, [...document.querySelectorAll("body *")].filter(e => { const r = e.getBoundingClientRect(); return r.width && (r.left < -1 || r.right > innerWidth + 1); }).map(e => e.tagName + "#" + e.id + "." + e.className).slice(0, 5).join(",")].join(" ")`); !strings.HasSuffix(w, " ") {
		t.Errorf("right to left, the page scrolls sideways: scroll width, window width, elements outside = %s", w)
	}
	visitor.shot("02-arabic-labels")
	// A reload keeps the conversation's language.
	visitor.do("reload in Arabic", chromedp.Reload())
	visitor.waitFor("Arabic labels after a reload", fmt.Sprintf(`document.querySelector("#state").dataset.state === "online" &&
		document.documentElement.dir === "rtl" && document.querySelector("#text").placeholder === %s`, jsString(arPlaceholder)))
}

// docShot saves what is on screen as name.png with the test's artifacts
// and, when HOTLINE_SCREENSHOTS names a directory (make screenshots), in
// it too: the pictures the docs show. Viewport only, to keep them small.
func (p *page) docShot(name string) {
	p.t.Helper()
	dirs := []string{p.t.ArtifactDir()}
	if dir := os.Getenv("HOTLINE_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			p.t.Errorf("screenshots directory: %v", err)
		}
		dirs = append(dirs, dir)
	}
	p.saveViewport(name, dirs...)
}

// saveViewport saves what is on screen as name.png in each of dirs.
func (p *page) saveViewport(name string, dirs ...string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	for _, dir := range dirs {
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			p.t.Errorf("save screenshot: %v", err)
		}
	}
}
