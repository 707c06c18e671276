package console

import (
	"strings"
	"testing"
)

// TestScriptShowsMediaSafely: the console builds what users sent from
// elements and text nodes only, and fetches attachments through the
// admin media endpoint (the browser tests in cmd/hotline show them).
func TestScriptShowsMediaSafely(t *testing.T) {
	js, err := static.ReadFile("static/console.js")
	if err != nil {
		t.Fatal(err)
	}
	css, err := static.ReadFile("static/console.css")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		src    []byte
		want   bool
		needle string
	}{
		{"no innerHTML", js, false, "innerHTML"},
		{"no outerHTML", js, false, "outerHTML"},
		{"no insertAdjacentHTML", js, false, "insertAdjacentHTML"},
		{"no document.write", js, false, "document.write"},
		{"attachments through the media endpoint", js, true, "/admin/v1/media/"},
		{"images load lazily", js, true, `loading = "lazy"`},
		{"voice and video as players", js, true, "player.controls = true"},
		{"links only for http and https", js, true, `u.protocol !== "http:" && u.protocol !== "https:"`},
		{"links open without the opener", js, true, "noopener noreferrer"},
		{"pictures are bounded", css, true, ".media img { display: block; max-width"},
	}
	for _, tc := range tests {
		if got := strings.Contains(string(tc.src), tc.needle); got != tc.want {
			t.Errorf("%s: contains %q is %t, want %t", tc.name, tc.needle, got, tc.want)
		}
	}
	// The page's policy lets the media endpoint's images and players load
	// (same origin) and nothing else.
	for _, want := range []string{"img-src 'self' data:", "default-src 'self'"} {
		if !strings.Contains(contentSecurity, want) {
			t.Errorf("CSP %q lacks %q", contentSecurity, want)
		}
	}
}
