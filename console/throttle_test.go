package console

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"hotline/envelope"
)

// Wrong bearer tokens are throttled like console logins; the right token
// keeps answering 200 throughout, from the guesser's own address too.
func TestWrongBearerTokensThrottled(t *testing.T) {
	const token = "the-right-admin-token-0123456789"
	auth := NewAuth(AuthConfig{Token: envelope.Secret(token)})
	h := auth.Require(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	call := func(bearer, remote string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/admin/v1/status", nil)
		r.RemoteAddr = remote
		r.Header.Set("Authorization", "Bearer "+bearer)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	codes := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			w := call(fmt.Sprintf("guess-%02d-xxxxxxxxxxxxxxxxxxxxxx", i), "203.0.113.7:40000")
			mu.Lock()
			codes[w.Code]++
			mu.Unlock()
			if w.Code == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		})
	}
	wg.Wait()
	if codes[http.StatusUnauthorized] > 5 || codes[http.StatusTooManyRequests] < 45 || codes[http.StatusOK] != 0 {
		t.Fatalf("50 wrong tokens at once: %v, want at most 5 answered 401 and the rest 429", codes)
	}
	for _, remote := range []string{"203.0.113.7:40001", "198.51.100.9:5000"} {
		if w := call(token, remote); w.Code != http.StatusOK {
			t.Fatalf("the right token from %s after the guesses: %d %s", remote, w.Code, w.Body)
		}
	}
	// Another address still gets its own budget of wrong answers (401,
	// not 429), up to the listener-wide one.
	if w := call("another-wrong-token-xxxxxxxxxxxxx", "198.51.100.9:5001"); w.Code != http.StatusUnauthorized {
		t.Fatalf("a first wrong token from another address: %d, want 401", w.Code)
	}
}
