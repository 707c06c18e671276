package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"hotline/bus/bustest"
	"hotline/router"
)

// photoJPEG starts like a real JPEG, which is all the endpoint sniffs.
var photoJPEG = append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01"), bytes.Repeat([]byte{0x42}, 2048)...)

const (
	mediaBotToken = "7000000002:AAE-token-for-media-test"
	photoFileID   = "AgACAgIAAxkBAAIBZ2photo-file-id"
)

// fakeBotAPI is enough of the Bot API for a photo: getMe, sendMessage,
// getFile and the file download, which needs the token in its path.
func fakeBotAPI(t *testing.T, downloads *atomic.Int32, photo []byte) *httptest.Server {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/file/bot"+mediaBotToken+"/photos/file_12.jpg" {
			downloads.Add(1)
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(photo)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/getMe"):
			fmt.Fprint(w, `{"ok":true,"result":{"id":7000000002,"is_bot":true,"first_name":"Hotline","username":"hotline_bot"}}`)
		case strings.HasSuffix(r.URL.Path, "/getFile"):
			_ = r.ParseForm()
			if r.PostForm.Get("file_id") != photoFileID {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `{"ok":false,"error_code":400,"description":"Bad Request: invalid file_id"}`)
				return
			}
			fmt.Fprintf(w, `{"ok":true,"result":{"file_id":%q,"file_unique_id":"AQADphoto","file_size":%d,"file_path":"photos/file_12.jpg"}}`, photoFileID, len(photo))
		case strings.HasSuffix(r.URL.Path, "/sendMessage"):
			fmt.Fprint(w, `{"ok":true,"result":{"message_id":1,"date":1764072000,"chat":{"id":4242,"type":"private"}}}`)
		default:
			fmt.Fprint(w, `{"ok":true,"result":true}`)
		}
	}))
	t.Cleanup(api.Close)
	return api
}

// sendPhoto posts a Telegram update with a photo (two sizes) and caption
// to the gateway's webhook.
func sendPhoto(t *testing.T, public, caption string, size int) {
	t.Helper()
	update := fmt.Sprintf(`{"update_id":777,"message":{"message_id":31,"date":1764072000,"chat":{"id":4242,"type":"private"},`+
		`"from":{"id":4242,"is_bot":false,"first_name":"Ana","language_code":"en"},"caption":%q,`+
		`"photo":[{"file_id":"small-thumb","file_unique_id":"s","width":90,"height":90,"file_size":900},`+
		`{"file_id":%q,"file_unique_id":"AQADphoto","width":1280,"height":960,"file_size":%d}]}}`, caption, photoFileID, size)
	req, _ := http.NewRequest(http.MethodPost, "http://"+public+"/webhooks/telegram/tg-main", strings.NewReader(update))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "media-test-secret")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook: %d", resp.StatusCode)
	}
}

// waitHandoff returns the first open Telegram handoff.
func waitHandoff(t *testing.T, admin string) router.HandoffState {
	t.Helper()
	var found router.HandoffState
	bustest.WaitFor(t, "the handoff for the photo", func() bool {
		code, body := get(t, "http://"+admin+"/admin/v1/handoffs?state=open", testAdminToken)
		var list []router.HandoffState
		if code != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil {
			return false
		}
		for _, h := range list {
			if h.Platform == "telegram" {
				found = h
				return true
			}
		}
		return false
	})
	return found
}

// TestServeTelegramPhotoViewable: a photo a user sends through the
// webhook reaches the handoff with its reference, and an agent with the
// admin token (only) sees the picture through the media endpoint.
func TestServeTelegramPhotoViewable(t *testing.T) {
	t.Parallel()
	var downloads atomic.Int32
	api := fakeBotAPI(t, &downloads, photoJPEG)
	cfg := telegramConfig(t, api.URL, mediaBotToken, "media-test-secret")
	public, admin, _ := startServe(t, cfg)
	sendPhoto(t, public, "someone hacked my account, see", len(photoJPEG))
	h := waitHandoff(t, admin)
	found := false
	for _, tr := range h.History {
		for _, m := range tr.Media {
			if tr.Role == "user" && m.PlatformID == photoFileID && m.Kind == "image" {
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("handoff history %+v lacks the photo's largest size", h.History)
	}

	mediaURL := "http://" + admin + "/admin/v1/media/telegram/tg-main?id=" + photoFileID
	fetch := func(token string) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodGet, mediaURL, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	if resp, body := fetch(""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without the token: %d %s, want 401", resp.StatusCode, body)
	}
	if resp, _ := fetch("wrong-token"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("with a wrong token: %d, want 401", resp.StatusCode)
	}
	if n := downloads.Load(); n != 0 {
		t.Fatalf("unauthorized requests made %d downloads", n)
	}
	resp, body := fetch(testAdminToken)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, photoJPEG) {
		t.Fatalf("with the token: %d, %d bytes (%.80q), want the photo", resp.StatusCode, len(body), body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "image/") {
		t.Errorf("Content-Type %q, want image/*", ct)
	}
	if bytes.Contains(body, []byte(mediaBotToken)) || strings.Contains(fmt.Sprint(resp.Header), mediaBotToken) {
		t.Error("the response shows the bot token")
	}
	// Unknown accounts and files.
	if code, body := get(t, "http://"+admin+"/admin/v1/media/telegram/nope?id="+photoFileID, testAdminToken); code != http.StatusNotFound {
		t.Errorf("unknown account: %d %s, want 404", code, body)
	}
	if code, body := get(t, "http://"+admin+"/admin/v1/media/telegram/tg-main?id=missing", testAdminToken); code != http.StatusNotFound || strings.Contains(body, mediaBotToken) {
		t.Errorf("unknown file: %d %s, want 404 without the token", code, body)
	}

	// The CLI shows the agent where to fetch it.
	out := adminCLI(t, admin)(0, "handoff", "show", h.ID)
	t.Logf("hotline handoff show:\n%s", out)
	if want := "/admin/v1/media/telegram/tg-main?id=" + photoFileID; !strings.Contains(out, want) || !strings.Contains(out, "image") {
		t.Errorf("handoff show:\n%s\nwant the media path %s", out, want)
	}
}
