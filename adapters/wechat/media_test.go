package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
)

var (
	wxJPEG = append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), bytes.Repeat([]byte{3}, 100)...)
	wxAMR  = append([]byte("#!AMR\n"), bytes.Repeat([]byte{0x3c}, 60)...)
	wxMP4  = append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), bytes.Repeat([]byte{0}, 50)...)
)

// fakeMediaAPI is WeChat's token and temporary-media API as it behaves:
// every answer is 200, failures are JSON with an errcode (labelled
// text/plain, as WeChat does), a token other than the latest is
// refused with 42001, and a video answers with its download URL.
type fakeMediaAPI struct {
	mu      sync.Mutex
	srv     *httptest.Server
	current string
	fetches int
	gets    int
}

func newFakeMediaAPI(t *testing.T) *fakeMediaAPI {
	f := &fakeMediaAPI{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		q := r.URL.Query()
		errJSON := func(code int, msg string) {
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintf(w, `{"errcode":%d,"errmsg":%q}`, code, msg)
		}
		switch r.URL.Path {
		case "/cgi-bin/token":
			if q.Get("appid") != testAppID || q.Get("secret") != testSecret {
				errJSON(40013, "invalid appid")
				return
			}
			f.fetches++
			f.current = "MEDIA_TOKEN_" + strconv.Itoa(f.fetches) + "_" + strings.Repeat("y", 60)
			fmt.Fprintf(w, `{"access_token":%q,"expires_in":7200}`, f.current)
		case "/cgi-bin/media/get":
			f.gets++
			if q.Get("access_token") != f.current {
				errJSON(42001, "access_token expired rid: 6650e4b1-1f3c2d4e")
				return
			}
			switch q.Get("media_id") {
			case "img":
				w.Header().Set("Content-Type", "image/jpeg")
				w.Header().Set("Content-disposition", `attachment; filename="img.jpg"`)
				w.Write(wxJPEG)
			case "voice":
				w.Header().Set("Content-Type", "audio/amr")
				w.Write(wxAMR)
			case "video":
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"video_url":%q}`, f.srv.URL+"/video/v.mp4")
			case "broken":
				http.Error(w, "bad gateway", http.StatusBadGateway)
			case "nojson":
				w.Header().Set("Content-Type", "text/plain")
				io.WriteString(w, "system busy")
			default:
				errJSON(40007, "invalid media_id hint: [abc]")
			}
		case "/video/v.mp4":
			if q.Get("access_token") != "" {
				t.Errorf("the video URL was called with the access token")
			}
			w.Header().Set("Content-Type", "video/mp4")
			w.Write(wxMP4)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func TestFetchMedia(t *testing.T) {
	api := newFakeMediaAPI(t)
	b := bustest.Open(t)
	a, err := New(testConfig(api.srv.URL, time.Second, 0), Deps{Bus: b})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		m       envelope.Media
		body    []byte
		ctype   string
		is      error
		errText string
	}{
		{name: "image", m: envelope.Media{PlatformID: "img", URL: "http://mmbiz.qpic.cn/x"}, body: wxJPEG, ctype: "image/jpeg"},
		{name: "voice", m: envelope.Media{PlatformID: "voice"}, body: wxAMR, ctype: "audio/amr"},
		{name: "video through its URL", m: envelope.Media{PlatformID: "video"}, body: wxMP4, ctype: "video/mp4"},
		{name: "a PicUrl alone", m: envelope.Media{URL: "http://mmbiz.qpic.cn/x"}, is: fs.ErrInvalid},
		{name: "invalid media_id", m: envelope.Media{PlatformID: "expired"}, is: fs.ErrNotExist, errText: "errcode 40007"},
		{name: "HTTP 502", m: envelope.Media{PlatformID: "broken"}, errText: "HTTP 502"},
		{name: "text that is not JSON", m: envelope.Media{PlatformID: "nojson"}, errText: "not JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, ctype, err := a.FetchMedia(context.Background(), tc.m)
			if tc.body != nil {
				if err != nil {
					t.Fatalf("FetchMedia: %v", err)
				}
				defer body.Close()
				got, _ := io.ReadAll(body)
				if !bytes.Equal(got, tc.body) || ctype != tc.ctype {
					t.Fatalf("got %d bytes of %q, want %d of %q", len(got), ctype, len(tc.body), tc.ctype)
				}
				return
			}
			if err == nil {
				body.Close()
				t.Fatal("FetchMedia succeeded, want an error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.errText) {
				t.Errorf("error %q, want it to say %q", err, tc.errText)
			}
			api.mu.Lock()
			token := api.current
			api.mu.Unlock()
			if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), testSecret) {
				t.Errorf("error %q shows the access token or the app secret", err)
			}
		})
	}
}

// TestFetchMediaRefetchesAnExpiredToken: a token WeChat no longer takes
// (42001) is replaced once, and the download succeeds with the new one.
func TestFetchMediaRefetchesAnExpiredToken(t *testing.T) {
	api := newFakeMediaAPI(t)
	b := bustest.Open(t)
	a, err := New(testConfig(api.srv.URL, time.Second, 0), Deps{Bus: b})
	if err != nil {
		t.Fatal(err)
	}
	// A token another instance stored that WeChat has since expired.
	stale, _ := json.Marshal(storedToken{Token: "STALE_TOKEN", ExpiresAt: time.Now().Add(time.Hour)})
	if _, err := b.KV(bus.BucketTokens).Put(context.Background(), a.tokenKey(), stale); err != nil {
		t.Fatal(err)
	}
	body, ctype, err := a.FetchMedia(context.Background(), envelope.Media{PlatformID: "img"})
	if err != nil {
		t.Fatalf("FetchMedia with an expired token: %v", err)
	}
	got, _ := io.ReadAll(body)
	body.Close()
	if !bytes.Equal(got, wxJPEG) || ctype != "image/jpeg" {
		t.Fatalf("got %d bytes of %q", len(got), ctype)
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if api.fetches != 1 || api.gets != 2 {
		t.Errorf("%d token fetches and %d media/get calls, want 1 and 2 (one refetch, one retry)", api.fetches, api.gets)
	}
}

// TestFetchMediaTokenRefusedTwice: when the new token is refused too the
// error says so, once, without the token.
func TestFetchMediaTokenRefusedTwice(t *testing.T) {
	api := newFakeMediaAPI(t)
	b := bustest.Open(t)
	// A second app secret the fake does not know: every token fetch fails.
	cfg := testConfig(api.srv.URL, time.Second, 0)
	cfg.AppSecret = envelope.Secret("not-the-secret-" + strings.Repeat("z", 20))
	a, err := New(cfg, Deps{Bus: b})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = a.FetchMedia(context.Background(), envelope.Media{PlatformID: "img"})
	if err == nil || !strings.Contains(err.Error(), "40013") || strings.Contains(err.Error(), cfg.AppSecret.Reveal()) {
		t.Fatalf("FetchMedia with a wrong app secret: %v, want the token error without the secret", err)
	}
}
