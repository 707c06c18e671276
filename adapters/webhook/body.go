package webhook

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// ReadBody reads a webhook's body, at most limit bytes. Past the limit
// it answers 413, an unreadable body 400, and reports false: the caller
// stops there. Nothing a platform sends is that large, so the cap only
// ever stops an attacker or a broken client.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err == nil {
		return body, true
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		http.Error(w, fmt.Sprintf("body larger than %d bytes", limit), http.StatusRequestEntityTooLarge)
	} else {
		http.Error(w, "body unreadable", http.StatusBadRequest)
	}
	return nil, false
}

// Echo answers a platform's URL check with the string it asked to hear
// back. The string comes from the request, so it goes out as plain text
// the browser may not sniff into HTML.
func Echo(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = io.WriteString(w, s)
}
