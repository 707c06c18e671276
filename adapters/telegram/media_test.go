package telegram

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"hotline/bus/bustest"
	"hotline/envelope"
)

// jpegBytes starts like a real JPEG.
var jpegBytes = append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), bytes.Repeat([]byte{7}, 300)...)

// fakeFileAPI answers getFile and serves files like the Bot API: a
// wrong token is 401, an unknown file_id or one over 20 MB a 400 with
// Telegram's descriptions, a file path it no longer knows a 404.
func fakeFileAPI(t *testing.T) *httptest.Server {
	t.Helper()
	files := map[string]string{"photos/file_1.jpg": string(jpegBytes), "voice/file_2.oga": "OggS\x00\x02voice"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rest, ok := strings.CutPrefix(r.URL.Path, "/file/bot"+testToken+"/"); ok {
			body, ok := files[rest]
			if !ok {
				http.Error(w, `{"ok":false,"error_code":404,"description":"Not Found"}`, http.StatusNotFound)
				return
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			io.WriteString(w, body)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/bot"+testToken+"/getFile" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"ok":false,"error_code":401,"description":"Unauthorized"}`)
			return
		}
		_ = r.ParseForm()
		switch id := r.PostForm.Get("file_id"); id {
		case "photo-id":
			fmt.Fprint(w, `{"ok":true,"result":{"file_id":"photo-id","file_unique_id":"u1","file_size":311,"file_path":"photos/file_1.jpg"}}`)
		case "voice-id":
			fmt.Fprint(w, `{"ok":true,"result":{"file_id":"voice-id","file_unique_id":"u2","file_size":13,"file_path":"voice/file_2.oga"}}`)
		case "expired-id":
			fmt.Fprint(w, `{"ok":true,"result":{"file_id":"expired-id","file_unique_id":"u3","file_size":10,"file_path":"photos/file_9.jpg"}}`)
		case "evil-id":
			fmt.Fprint(w, `{"ok":true,"result":{"file_id":"evil-id","file_unique_id":"u4","file_size":10,"file_path":"../../etc/passwd"}}`)
		case "big-id":
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"ok":false,"error_code":400,"description":"Bad Request: file is too big"}`)
		default:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"ok":false,"error_code":400,"description":"Bad Request: invalid file_id"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFetchMedia(t *testing.T) {
	t.Parallel()
	api := fakeFileAPI(t)
	b := bustest.Open(t)
	newAdapter := func(token, base string) *Adapter {
		a, err := New(Config{Account: "tg-main", Token: envelope.Secret(token), Mode: ModePoll, APIBase: base}, Deps{Bus: b})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	good := newAdapter(testToken, api.URL)
	revoked := newAdapter("7000000001:AAE-revoked-token", api.URL)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	unreachable := newAdapter(testToken, closed.URL)

	tests := []struct {
		name    string
		a       *Adapter
		m       envelope.Media
		body    []byte
		ctype   string
		is      error // errors.Is target, when an error is expected
		tooBig  bool
		errText string
	}{
		{name: "photo", a: good, m: envelope.Media{PlatformID: "photo-id"}, body: jpegBytes, ctype: "image/jpeg"},
		{name: "voice", a: good, m: envelope.Media{PlatformID: "voice-id"}, body: []byte("OggS\x00\x02voice"), ctype: "audio/ogg"},
		{name: "no file_id", a: good, m: envelope.Media{URL: "https://example.com/x.jpg"}, is: fs.ErrInvalid},
		{name: "unknown file_id", a: good, m: envelope.Media{PlatformID: "nope"}, is: fs.ErrNotExist, errText: "invalid file_id"},
		{name: "over 20 MB", a: good, m: envelope.Media{PlatformID: "big-id"}, tooBig: true, errText: "file is too big"},
		{name: "path expired", a: good, m: envelope.Media{PlatformID: "expired-id"}, is: fs.ErrNotExist, errText: "HTTP 404"},
		{name: "path leaves the file directory", a: good, m: envelope.Media{PlatformID: "evil-id"}, errText: "malformed file_path"},
		{name: "revoked token", a: revoked, m: envelope.Media{PlatformID: "photo-id"}, errText: "HTTP 401"},
		{name: "Telegram unreachable", a: unreachable, m: envelope.Media{PlatformID: "photo-id"}, errText: "getFile"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, ctype, err := tc.a.FetchMedia(context.Background(), tc.m)
			if tc.body != nil {
				if err != nil {
					t.Fatalf("FetchMedia: %v", err)
				}
				defer body.Close()
				got, _ := io.ReadAll(body)
				if !bytes.Equal(got, tc.body) || !strings.HasPrefix(ctype, tc.ctype) {
					t.Fatalf("got %d bytes of %q, want %d of %q", len(got), ctype, len(tc.body), tc.ctype)
				}
				return
			}
			if err == nil {
				body.Close()
				t.Fatal("FetchMedia succeeded, want an error")
			}
			for _, secret := range []string{testToken, "AAE-revoked-token"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q shows the bot token", err)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
			var mb *http.MaxBytesError
			if errors.As(err, &mb) != tc.tooBig {
				t.Errorf("error %q: MaxBytesError %t, want %t", err, !tc.tooBig, tc.tooBig)
			}
			if !strings.Contains(err.Error(), tc.errText) {
				t.Errorf("error %q, want it to say %q", err, tc.errText)
			}
		})
	}
}
