// Package httpjson writes the JSON answers of hotline's HTTP APIs, so that
// every error has one shape a script can rely on: {"error": "<text>"}.
// It uses the standard library only; any package may import it.
package httpjson

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Write answers code with v as JSON. The type is declared, and browsers
// told not to guess another: an error text may echo what a caller sent.
func Write(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Error answers code with {"error": msg}.
func Error(w http.ResponseWriter, code int, msg string) {
	Write(w, code, map[string]string{"error": msg})
}

// Decode reads a request's JSON body of at most maxBytes into v. The
// caller answers a failure in its own words (what the body must hold).
func Decode(w http.ResponseWriter, r *http.Request, maxBytes int64, v any) error {
	return json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBytes)).Decode(v)
}

// Limit reads a list's limit parameter s: def when empty, else a number
// from 1 to maxLimit. On anything else it answers 400 itself and
// reports false.
func Limit(w http.ResponseWriter, s string, def, maxLimit int) (int, bool) {
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		Error(w, http.StatusBadRequest, fmt.Sprintf("limit: %q is not a number from 1 to %d", s, maxLimit))
		return 0, false
	}
	return n, true
}
