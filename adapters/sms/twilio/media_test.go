package twilio

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
	"sync/atomic"
	"testing"

	"hotline/bus/bustest"
	"hotline/envelope"
)

var mmsPNG = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{1}, 100)...)

// fakeMediaTwilio serves media as Twilio does: the media URL wants basic
// auth (401 with Twilio's JSON otherwise) and redirects to storage on
// another host, which must not see the credentials; deleted media is 404.
func fakeMediaTwilio(t *testing.T) (api, storage *httptest.Server, storageAuth *atomic.Int32) {
	storageAuth = &atomic.Int32{}
	storage = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			storageAuth.Add(1)
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(mmsPNG)
	}))
	t.Cleanup(storage.Close)
	api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		user, pass, ok := r.BasicAuth()
		if !ok || user != testSID || pass != testToken {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`)
			return
		}
		switch r.URL.Path {
		case "/2010-04-01/Accounts/" + testSID + "/Messages/MM1/Media/ME1":
			http.Redirect(w, r, storage.URL+"/media/ME1?sig=x", http.StatusTemporaryRedirect)
		case "/2010-04-01/Accounts/" + testSID + "/Messages/MM1/Media/ME2":
			w.Header().Set("Content-Type", "image/png")
			w.Write(mmsPNG)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"code":20404,"message":"The requested resource %s was not found","status":404}`, r.URL.Path)
		}
	}))
	t.Cleanup(api.Close)
	return api, storage, storageAuth
}

func TestFetchMedia(t *testing.T) {
	t.Parallel()
	api, storage, storageAuth := fakeMediaTwilio(t)
	b := bustest.Open(t)
	newAdapter := func(token string) *Adapter {
		a, err := New(Config{Account: "sms-main", AccountSID: testSID, AuthToken: envelope.Secret(token), From: "+14155550100",
			APIBase: api.URL}, Deps{Bus: b})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	good, wrong := newAdapter(testToken), newAdapter("a-revoked-auth-token")
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	media := api.URL + "/2010-04-01/Accounts/" + testSID + "/Messages/MM1/Media/"

	tests := []struct {
		name    string
		a       *Adapter
		url     string
		body    []byte
		is      error
		errText string
	}{
		{name: "redirected to storage", a: good, url: media + "ME1", body: mmsPNG},
		{name: "served directly", a: good, url: media + "ME2", body: mmsPNG},
		{name: "deleted", a: good, url: media + "ME9", is: fs.ErrNotExist, errText: "HTTP 404, error 20404"},
		{name: "wrong credentials", a: wrong, url: media + "ME1", errText: "HTTP 401, error 20003"},
		{name: "another host", a: good, url: other.URL + "/2010-04-01/Accounts/" + testSID + "/Messages/MM1/Media/ME1", is: fs.ErrInvalid, errText: "not on"},
		{name: "the storage host directly", a: good, url: storage.URL + "/media/ME1", is: fs.ErrInvalid},
		{name: "user info", a: good, url: strings.Replace(media, "://", "://evil@", 1) + "ME1", is: fs.ErrInvalid},
		{name: "another account", a: good, url: api.URL + "/2010-04-01/Accounts/AC99999999999999999999999999999999/Messages/MM1/Media/ME1", is: fs.ErrInvalid},
		{name: "climbing out of the account", a: good, url: media + "../../../../AC9/Messages/MM1/Media/ME1", is: fs.ErrInvalid},
		{name: "escaped slashes", a: good, url: media + "..%2F..%2FME1", is: fs.ErrInvalid},
		{name: "https for an http API", a: good, url: strings.Replace(media, "http://", "https://", 1) + "ME1", is: fs.ErrInvalid},
		{name: "no URL", a: good, url: "", is: fs.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, _, err := tc.a.FetchMedia(context.Background(), envelope.Media{URL: tc.url, PlatformID: "ME1"})
			if tc.body != nil {
				if err != nil {
					t.Fatalf("FetchMedia: %v", err)
				}
				defer body.Close()
				if got, _ := io.ReadAll(body); !bytes.Equal(got, tc.body) {
					t.Fatalf("got %d bytes, want %d", len(got), len(tc.body))
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
			if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "a-revoked-auth-token") {
				t.Errorf("error %q shows the auth token", err)
			}
		})
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("a host other than the API was called %d times", n)
	}
	if n := storageAuth.Load(); n != 0 {
		t.Errorf("the storage host was sent the credentials %d times", n)
	}
}
