// Package media lets agents see what users sent: an authenticated admin
// endpoint that fetches an attachment from its platform with the
// account's credentials and serves the bytes to the console or the CLI.
//
// hotline stores references, never bytes (envelope.Media), so every view
// goes back to the platform. The endpoint is the one place that does,
// which keeps the platforms' credentials and credential-bearing download
// URLs (some platforms put the bot's token in a file's URL) on the
// server: a browser only ever sees /admin/v1/media/... behind the admin
// login.
//
// What comes back is treated as hostile: only images, audio, video and
// PDF are served (judged from the bytes, with the platform's declared
// type only breaking a tie the bytes cannot), never more than MaxBytes,
// with nosniff and a sandboxing Content-Security-Policy so a file cannot
// run script on the admin origin.
package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"hotline/envelope"
)

// Fetcher downloads one attachment of one platform account. Adapters
// implement it; they cannot import this package, so they report what
// went wrong with standard errors, wrapped:
//
//   - fs.ErrInvalid: the reference cannot be fetched by this account (no
//     id, a URL on another host) — 400;
//   - fs.ErrNotExist: the platform says there is no such file (expired,
//     wrong id) — 404;
//   - *http.MaxBytesError: the platform says it is too big to hand out — 413;
//   - anything else: the platform failed — 502.
//
// An error's text is shown to operators and logged: it must never hold a
// token, a secret or a URL that carries one. contentType is what the
// platform declared (may be empty); the endpoint sniffs the bytes anyway.
type Fetcher interface {
	FetchMedia(ctx context.Context, m envelope.Media) (body io.ReadCloser, contentType string, err error)
}

// Registry maps platform accounts to their Fetcher.
type Registry struct {
	mu sync.RWMutex
	m  map[string]Fetcher
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{m: map[string]Fetcher{}} }

func registryKey(platform, account string) string { return platform + "/" + account }

// Add registers f for platform/account, replacing any earlier one.
func (r *Registry) Add(platform, account string, f Fetcher) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[registryKey(platform, account)] = f
}

// Lookup returns the Fetcher of platform/account.
func (r *Registry) Lookup(platform, account string) (Fetcher, bool) {
	if r == nil {
		return nil, false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	f, ok := r.m[registryKey(platform, account)]
	return f, ok
}

// Len is how many accounts have a Fetcher.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.m)
}

// Pattern is the endpoint's ServeMux pattern on the admin listener.
const Pattern = "GET /admin/v1/media/{platform}/{account}"

// Path is where the endpoint serves m of platform/account: by the
// platform's id when there is one, even beside a URL the platform also
// gave, else by URL. Empty when m has neither.
func Path(platform, account string, m envelope.Media) string {
	base := "/admin/v1/media/" + url.PathEscape(platform) + "/" + url.PathEscape(account)
	switch {
	case m.PlatformID != "":
		return base + "?id=" + url.QueryEscape(m.PlatformID)
	case m.URL != "":
		return base + "?url=" + url.QueryEscape(m.URL)
	}
	return ""
}

// Limits on a reference; platforms' ids and URLs are far shorter.
const (
	maxIDLen  = 1024
	maxURLLen = 2048
)

// ref reads the reference of a request: exactly one of id and url.
func ref(q url.Values) (envelope.Media, error) {
	id, u := q.Get("id"), q.Get("url")
	switch {
	case id != "" && u != "":
		return envelope.Media{}, errors.New("give id or url, not both")
	case id != "":
		if len(id) > maxIDLen || strings.ContainsFunc(id, isControl) {
			return envelope.Media{}, errors.New("id is too long or has control characters")
		}
		return envelope.Media{PlatformID: id}, nil
	case u != "":
		if len(u) > maxURLLen || strings.ContainsFunc(u, isControl) {
			return envelope.Media{}, errors.New("url is too long or has control characters")
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return envelope.Media{}, errors.New("url must be an absolute http or https URL")
		}
		return envelope.Media{URL: u}, nil
	}
	return envelope.Media{}, errors.New("id or url is required")
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// status maps a Fetcher's or the endpoint's own error to an HTTP status.
func status(err error) int {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig), errors.Is(err, errTooBig):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errNotMedia):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, fs.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, fs.ErrNotExist):
		return http.StatusNotFound
	case errors.Is(err, errBusy):
		return http.StatusServiceUnavailable
	}
	return http.StatusBadGateway
}

var (
	errTooBig   = errors.New("media: file is larger than the limit")
	errNotMedia = errors.New("media: not an image, audio, video or PDF")
	errBusy     = errors.New("media: too many downloads at once; try again")
)

// tooBig says how big the limit is.
func tooBig(limit int64) error {
	return fmt.Errorf("%w of %d MB", errTooBig, limit>>20)
}
