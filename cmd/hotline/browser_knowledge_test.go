package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"hotline/router"
)

// TestBrowserConsoleKnowledge: an operator adds an FAQ entry and changes
// a text in the console's Knowledge card, and users get them at once; a
// text with a placeholder hotline does not fill is refused with the
// gateway's reason in the page. "Take next" says when nothing waits and
// otherwise claims the waiting handoff for the agent and shows it. The
// card fits a phone's screen.
func TestBrowserConsoleKnowledge(t *testing.T) {
	t.Parallel()
	tab := newBrowser(t)
	bot := newConsoleBot(t)
	public, admin := consoleGateway(t, bot)
	cli := adminCLI(t, admin)
	agent := openConsole(t, tab, admin, "mei")

	// Nobody is waiting yet: an answer, not an error.
	agent.do("take next with nobody waiting", chromedp.Click(chromedp.CSS("#take-next")))
	agent.waitFor("nothing waiting", `(() => { const n = document.querySelector("#take-next-note");
		return !n.hidden && n.textContent === "Nothing is waiting for you." && !n.classList.contains("error"); })()`)

	// A new FAQ entry, through the form.
	const answer = "Parcel lockers keep your parcel for 48 hours."
	agent.waitFor("the seed FAQ", `!!document.querySelector('#faq-list li[data-id="reset_password"][data-source="seed"]')`)
	agent.do("add parcel_locker",
		chromedp.SendKeys(chromedp.CSS("#faq-id"), "parcel_locker"),
		chromedp.SendKeys(chromedp.CSS("#faq-keywords"), "en=parcel locker, parcel lockers"),
		chromedp.SendKeys(chromedp.CSS("#faq-answers"), "en="+answer),
		chromedp.SendKeys(chromedp.CSS("#faq-reason"), "new lockers at every station"),
		chromedp.Click(chromedp.CSS("#faq-save")))
	entry := `document.querySelector('#faq-list li[data-id="parcel_locker"][data-source="edited"]')`
	agent.waitFor("the entry in the list", fmt.Sprintf(`%s.querySelector(".kb-preview").textContent === %s &&
		%s.querySelector(".kb-preview").dir === "auto"`, entry, jsString(answer), entry))
	if got := agent.eval(`document.querySelector("#faq-status").textContent`); !strings.Contains(got, "parcel_locker") {
		t.Errorf("after Save the form says %q", got)
	}
	var faq []router.FAQListing
	code, body := get(t, "http://"+admin+"/admin/v1/faq", testAdminToken)
	if err := json.Unmarshal([]byte(body), &faq); code != http.StatusOK || err != nil {
		t.Fatalf("GET /admin/v1/faq: %d %s", code, body)
	}
	for _, e := range faq {
		if e.ID == "parcel_locker" && strings.Join(e.Keywords["en"], "|") != "parcel locker|parcel lockers" {
			t.Errorf("parcel_locker keywords %v, want the two phrases", e.Keywords)
		}
	}
	if out := cli(0, "simulate", "--user", "sim-faq", "--lang-hint", "en", "where is the parcel locker"); !strings.Contains(out, answer) {
		t.Fatalf("simulate after the console's edit:\n%s", out)
	}
	// Disabled, it stays listed (to be undone); its edit removed, it is
	// gone, there being no seed entry with its id.
	agent.do("disable parcel_locker", chromedp.Click(chromedp.CSS("#faq-disable")))
	agent.waitFor("parcel_locker disabled", `!!document.querySelector('#faq-list li[data-id="parcel_locker"][data-disabled="true"] .badge.flag-disabled')`)
	agent.do("remove the parcel_locker edit", chromedp.Click(chromedp.CSS("#faq-remove")))
	agent.waitFor("parcel_locker gone", `!document.querySelector('#faq-list li[data-id="parcel_locker"]') &&
		document.querySelector("#faq-id").value === "parcel_locker"`)

	// An entry without an English answer: the gateway's reason, in the form.
	agent.do("an entry only in Chinese",
		chromedp.Click(chromedp.CSS("#faq-clear")),
		chromedp.SendKeys(chromedp.CSS("#faq-id"), "zh_only"),
		chromedp.SendKeys(chromedp.CSS("#faq-keywords"), "zh=快递柜"),
		chromedp.SendKeys(chromedp.CSS("#faq-answers"), "zh=快递柜保留包裹 48 小时。"),
		chromedp.Click(chromedp.CSS("#faq-save")))
	agent.waitFor("the English answer asked for", `(() => { const e = document.querySelector("#faq-error");
		return !e.hidden && e.textContent.includes("needs an English answer"); })()`)

	// The status text, edited in the console.
	const status = "Payments are slow today; everything else works."
	textItem := `document.querySelector('#text-list li[data-key="status"]')`
	agent.waitFor("the English texts", `document.querySelector("#text-lang").value === "en" && !!`+textItem)
	agent.do("pick status", chromedp.Evaluate[chromedp.Void](textItem+`.querySelector("button.pick").click()`))
	agent.waitFor("status in the editor", `document.querySelector("#text-key").textContent === "en/status" && !document.querySelector("#text-value").disabled`)
	agent.do("edit status",
		chromedp.SetValue(chromedp.CSS("#text-value"), status),
		chromedp.Click(chromedp.CSS("#text-save")))
	agent.waitFor("status edited", fmt.Sprintf(`%s.dataset.source === "edited" && %s.querySelector(".kb-preview").textContent === %s &&
		!document.querySelector("#text-remove").disabled`, textItem, textItem, jsString(status)))
	if out := cli(0, "simulate", "--user", "sim-text", "--lang-hint", "en", "status"); !strings.Contains(out, status) {
		t.Fatalf("simulate status after the console's edit:\n%s", out)
	}

	// A placeholder the status text never has is refused, and says so.
	agent.do("a placeholder nobody fills",
		chromedp.SetValue(chromedp.CSS("#text-value"), "Ticket {nope} is being looked at."),
		chromedp.Click(chromedp.CSS("#text-save")))
	agent.waitFor("the placeholder refused", `(() => { const e = document.querySelector("#text-error");
		return !e.hidden && e.textContent.includes("{nope} is not filled in"); })()`)
	if got := agent.eval(textItem + `.querySelector(".kb-preview").textContent`); got != status {
		t.Errorf("after a refused edit the list shows %q, want %q", got, status)
	}
	agent.shot("01-knowledge")

	// A user waits: Take next claims their handoff for mei and shows it.
	h := telegramUserSays(t, public, admin, 42, "Ana", "en", "Someone hacked my account and changed the password")
	card := handoffCard(h.Conversation)
	agent.do("take next", chromedp.Click(chromedp.CSS("#take-next")))
	agent.waitFor("Ana's handoff claimed by mei and in view", fmt.Sprintf(`(() => { const c = document.querySelector(%s);
		const r = c.getBoundingClientRect();
		return c.dataset.state === "claimed" && c.classList.contains("taken") && c.querySelector(".state bdi.agent").textContent === "mei" &&
			document.querySelector("#take-next-note").hidden && r.top >= 0 && r.top < innerHeight; })()`, jsString(card)))
	code, body = get(t, "http://"+admin+"/admin/v1/handoffs/"+h.ID, testAdminToken)
	var claimed router.HandoffState
	if err := json.Unmarshal([]byte(body), &claimed); code != http.StatusOK || err != nil || claimed.State != "claimed" || claimed.Agent != "mei" {
		t.Fatalf("GET the handoff after Take next: %d %s", code, body)
	}
	agent.shot("02-taken")

	// Removing the text's edit brings the file's back.
	agent.do("remove the status edit", chromedp.Click(chromedp.CSS("#text-remove")))
	agent.waitFor("status from the file", fmt.Sprintf(`%s.dataset.source === "file" && document.querySelector("#text-value").value !== %s`,
		textItem, jsString(status)))

	// On a phone, with an entry and a text in the editors, the page does
	// not scroll sideways.
	agent.do("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch), chromedp.Reload())
	agent.waitFor("the console on a phone", `!document.querySelector("#app").hidden && !!document.querySelector("#handoff-list article.handoff") &&
		!!document.querySelector('#faq-list li[data-id="reset_password"]') && !!document.querySelector('#text-list li[data-key="handoff_ack"]')`)
	agent.do("fill the editors",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#faq-list li[data-id="reset_password"] button.pick').click()`),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#text-list li[data-key="handoff_ack"] button.pick').click()`),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#knowledge").scrollIntoView()`))
	if got := consoleOverflow(agent); got != "" {
		t.Errorf("390 px: %s", got)
	}
	agent.shotViewport("03-knowledge-phone")
}

// consoleOverflow names what makes the console scroll sideways, or a
// card whose content spills out of it (a wide table must scroll inside
// its card); "" when nothing does.
func consoleOverflow(p *page) string {
	p.t.Helper()
	page := p.eval(`(() => { const d = document.documentElement;
		const out = [...document.querySelectorAll("body *")].filter(e => { const r = e.getBoundingClientRect();
			return r.width && (r.left < -1 || r.right > d.clientWidth + 1); }).slice(0, 5).map(e => e.tagName + "." + e.className);
		return d.scrollWidth <= d.clientWidth ? "" : "the page scrolls sideways: " + d.scrollWidth + " > " + d.clientWidth + ": " + out.join(", "); })()`)
	cards := p.eval(`[...document.querySelectorAll(".card")].filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.id).join()`)
	if cards != "" {
		cards = "content spills out of the cards " + cards
	}
	return strings.TrimSpace(page + " " + cards)
}
