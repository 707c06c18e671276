package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"hotline/router"
)

// TestBrowserArabicVisitorReachesTheAgent: a visitor whose browser speaks
// Arabic gets the chat's words in Arabic, right to left, before saying
// anything, and "help" answered in Arabic; the screenshot they attach
// reaches the agent, whose console shows it through the media endpoint.
func TestBrowserArabicVisitorReachesTheAgent(t *testing.T) {
	t.Parallel()
	visitorTab := newBrowser(t)
	operatorTab := newBrowser(t)
	public, admin, _ := startServe(t, testConfig(t, t.TempDir()))
	texts, err := router.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 36, 24))
	for x := range 36 {
		for y := range 24 {
			img.Set(x, y, color.RGBA{R: uint8(x * 7), G: 60, B: uint8(y * 10), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "receipt.png")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	visitor := &page{t: t, ctx: visitorTab, name: "visitor"}
	visitor.do("speak Arabic", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64) hotline-test", AcceptLanguage: "ar-EG,ar;q=0.9"})
		return err
	}))
	visitor.do("open the chat", chromedp.Navigate("http://"+public+"/chat/"))
	visitor.waitFor("the socket", `document.querySelector("#state").dataset.state === "online"`)
	if got := visitor.eval(`navigator.language + "|" + document.documentElement.dir + "|" + document.querySelector("#text").placeholder`); got != "ar-EG|rtl|"+texts.Text("ar", "webchat_placeholder") {
		t.Fatalf("an Arabic browser before any message: %q, want ar-EG, rtl and the Arabic placeholder", got)
	}
	visitor.do("ask for help", chromedp.SendKeys(chromedp.CSS("#text"), "help"), chromedp.Click(chromedp.CSS("#send")))
	firstLine, _, _ := strings.Cut(texts.Text("ar", "help"), "\n")
	visitor.waitFor("the Arabic help", fmt.Sprintf(`[...document.querySelectorAll("#log .msg-bot")].some(m => m.textContent.includes(%s))`, jsString(firstLine)))
	// Refused in the page, in the visitor's language: a page disguised as
	// a picture, and a picture over the 10 MB limit.
	fake := filepath.Join(t.TempDir(), "invoice.png")
	if err := os.WriteFile(fake, []byte("<!doctype html><script>alert(1)</script>"), 0o644); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(t.TempDir(), "huge.png")
	if err := os.WriteFile(huge, append(buf.Bytes(), make([]byte, 11<<20)...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, key string }{{fake, "webchat_upload_type"}, {huge, "webchat_upload_too_big"}} {
		visitor.do("attach "+filepath.Base(tc.file), chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{tc.file}))
		want, _, _ := strings.Cut(texts.Text("ar", tc.key), "{")
		visitor.waitFor("the refusal of "+filepath.Base(tc.file), fmt.Sprintf(`[...document.querySelectorAll("#log .msg.failed")].some(m => m.textContent.includes(%s))`, jsString(want)))
	}
	visitor.do("attach a receipt", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}))
	visitor.waitFor("the stored thumbnail", `[...document.querySelectorAll("#log .msg.msg-user:not(.failed) .media img")].some(i => i.complete && i.naturalWidth === 36) &&
		!document.querySelector("#log .msg.pending")`)
	visitor.shot("01-arabic-visitor")

	operator := &page{t: t, ctx: operatorTab, name: "operator"}
	operator.do("open the console", chromedp.Navigate("http://"+admin+"/console/"))
	operator.waitFor("the login form", `!document.querySelector("#login-panel").hidden`)
	operator.do("sign in", chromedp.SendKeys(chromedp.CSS("#token"), testAdminToken), chromedp.Click(chromedp.CSS("#login-button")))
	operator.waitFor("the console", `!document.querySelector("#app").hidden`)
	operator.waitFor("the visitor's picture", `[...document.querySelectorAll("#handoff-list .history .media-image img")].some(i => i.complete && i.naturalWidth === 36)`)
	if src := operator.eval(`document.querySelector("#handoff-list .history .media-image img").getAttribute("src")`); !strings.HasPrefix(src, "/admin/v1/media/webchat/demo?id=") {
		t.Errorf("img src %q, want the media endpoint for the web chat", src)
	}
	operator.shot("02-agent-sees-the-receipt")
}
