package main

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestWhatUsersSendReachesAgents runs real Telegram updates through serve:
// "hello" gets the menu and opens no ticket; a shared location opens one,
// and `hotline handoff show` gives the agent its coordinates and a map
// link, not "[location]".
func TestWhatUsersSendReachesAgents(t *testing.T) {
	t.Parallel()
	cfg := telegramConfig(t, acceptingBotAPI(t), "7000000001:AAE-token-for-serve-test", "serve-test-secret")
	public, admin, _ := startServe(t, cfg)
	cli := adminCLI(t, admin)
	post := func(id int, payload string) string {
		t.Helper()
		update := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":%d,"chat":{"id":42,"type":"private"},`+
			`"from":{"id":42,"is_bot":false,"first_name":"Ana","language_code":"en"},%s}}`, id, id, time.Now().Unix(), payload)
		req, _ := http.NewRequest(http.MethodPost, "http://"+public+"/webhooks/telegram/tg-main", strings.NewReader(update))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "serve-test-secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("update %d: %d %s", id, resp.StatusCode, body)
		}
		return string(body)
	}

	if body := post(601, `"text":"hello"`); !strings.Contains(body, "Account security") || !strings.Contains(body, "inline_keyboard") {
		t.Fatalf("hello: %s, want the greeting with the menu", body)
	}
	if out := cli(0, "handoff", "ls"); strings.Contains(out, "Ana") || strings.Contains(out, "42") {
		t.Fatalf("hello opened a ticket:\n%s", out)
	}

	body := post(602, `"venue":{"location":{"latitude":31.2304,"longitude":121.4737},"title":"People's Square","address":"120 Renmin Ave"}`)
	ticket := regexp.MustCompile(`ticket ([0-9A-Z]{8})`).FindStringSubmatch(body)
	if ticket == nil {
		t.Fatalf("a shared venue: %s, want a ticket", body)
	}
	if ls := cli(0, "handoff", "ls"); !strings.Contains(ls, ticket[1]) {
		t.Fatalf("the ticket the user was given (%s) is not listed:\n%s", ticket[1], ls)
	}
	// The 8 characters the user was given are enough to look it up.
	show := cli(0, "handoff", "show", ticket[1])
	for _, want := range []string{"31.2304,121.4737", "People's Square", "120 Renmin Ave", "https://www.openstreetmap.org/?mlat=31.2304&mlon=121.4737"} {
		if !strings.Contains(show, want) {
			t.Errorf("handoff show lacks %q:\n%s", want, show)
		}
	}
}
