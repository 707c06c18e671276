package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserConsoleShowsThePicture: an operator signed in to the console
// sees the photo a Telegram user sent in the handoff's history, loaded
// through the media endpoint with the console session (no token or
// platform URL in the page), and the URL in the caption as a link, while
// markup in the caption stays text.
func TestBrowserConsoleShowsThePicture(t *testing.T) {
	t.Parallel()
	tab := newBrowser(t)
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		for y := range 48 {
			img.Set(x, y, color.RGBA{R: uint8(x * 4), G: 120, B: uint8(y * 5), A: 255})
		}
	}
	var photo bytes.Buffer
	if err := png.Encode(&photo, img); err != nil {
		t.Fatal(err)
	}
	var downloads atomic.Int32
	api := fakeBotAPI(t, &downloads, photo.Bytes())
	public, admin, _ := startServe(t, telegramConfig(t, api.URL, mediaBotToken, "media-test-secret"))
	sendPhoto(t, public, `someone hacked my account <img src=x onerror="document.title='pwned'"> proof: https://example.com/proof. javascript:alert(1)`, photo.Len())
	waitHandoff(t, admin)

	operator := &page{t: t, ctx: tab, name: "operator"}
	operator.do("open the console", chromedp.Navigate("http://"+admin+"/console/"))
	operator.waitFor("the login form", `!document.querySelector("#login-panel").hidden`)
	operator.do("sign in", chromedp.SendKeys(chromedp.CSS("#token"), testAdminToken), chromedp.Click(chromedp.CSS("#login-button")))
	operator.waitFor("the console", `!document.querySelector("#app").hidden`)
	operator.waitFor("the picture loaded", `[...document.querySelectorAll("#handoff-list .history .media-image img")].some(i => i.complete && i.naturalWidth === 64)`)
	operator.shot("01-console-handoff-picture")

	if src := operator.eval(`document.querySelector("#handoff-list .history .media-image img").getAttribute("src")`); !strings.HasPrefix(src, "/admin/v1/media/telegram/tg-main?id=") {
		t.Errorf("img src %q, want the media endpoint", src)
	}
	if html := operator.eval(`document.querySelector("#handoff-list").innerHTML`); strings.Contains(html, mediaBotToken) || strings.Contains(html, "api.telegram.org") || strings.Contains(html, api.URL) {
		t.Error("the page holds the bot token or the platform's file URL")
	}
	if n := operator.eval(`String(document.querySelectorAll("#handoff-list .history img").length)`); n != "1" {
		t.Errorf("%s img elements in the history, want 1: the caption's markup became an element", n)
	}
	if title := operator.eval(`document.title`); title == "pwned" {
		t.Error("the caption's markup ran")
	}
	links := operator.eval(`[...new Set([...document.querySelectorAll("#handoff-list .history a.ext")].map(a => a.href + " " + a.rel))].join("\n")`)
	if links != "https://example.com/proof noopener noreferrer nofollow" {
		t.Errorf("links in the text: %q, want only the https URL, without the full stop", links)
	}
	// A redraw of the queue (every two seconds) keeps the same element.
	operator.do("mark the image", chromedp.Evaluate[chromedp.Void](`document.querySelector("#handoff-list .media-image img").dataset.mark = "kept"`))
	operator.do("wait for two polls", chromedp.Sleep(4500*time.Millisecond))
	if mark := operator.eval(`document.querySelector("#handoff-list .media-image img").dataset.mark || ""`); mark != "kept" {
		t.Error("the history was rebuilt by a poll that changed nothing")
	}
	if n := downloads.Load(); n != 1 {
		t.Errorf("the photo was downloaded from Telegram %d times, want 1 (cached)", n)
	}
}
