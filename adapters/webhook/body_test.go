package webhook

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadBody(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		code int
		ok   bool
	}{
		{"within the limit", strings.Repeat("x", 16), http.StatusOK, true},
		{"at the limit", strings.Repeat("x", 32), http.StatusOK, true},
		{"over the limit", strings.Repeat("x", 33), http.StatusRequestEntityTooLarge, false},
	} {
		w := httptest.NewRecorder()
		body, ok := ReadBody(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body)), 32)
		if ok != tc.ok || w.Code != tc.code || (ok && string(body) != tc.body) {
			t.Errorf("%s: ok %v, status %d; want %v, %d", tc.name, ok, w.Code, tc.ok, tc.code)
		}
	}
}

func TestEchoIsPlainText(t *testing.T) {
	w := httptest.NewRecorder()
	Echo(w, "<script>alert(1)</script>")
	if w.Header().Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") ||
		w.Body.String() != "<script>alert(1)</script>" {
		t.Fatalf("echo: %v %q", w.Header(), w.Body)
	}
}
