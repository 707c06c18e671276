package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"hotline/envelope"
	"hotline/httpjson"
)

// Defaults of Config.
const (
	// DefaultMaxBytes is the largest file served: a common limit on
	// what a bot API lets a bot download, and more than any photo or
	// voice note.
	DefaultMaxBytes    = 20 << 20
	DefaultCacheBytes  = 64 << 20
	DefaultCacheTTL    = 5 * time.Minute
	DefaultConcurrency = 4
	DefaultTimeout     = 60 * time.Second
)

// Config bounds the endpoint. Zero values take the defaults; a negative
// CacheBytes turns the cache off.
type Config struct {
	MaxBytes   int64
	CacheBytes int64
	CacheTTL   time.Duration
	// Concurrency bounds the downloads in flight; each holds up to
	// MaxBytes in memory.
	Concurrency int
	// Timeout bounds one download from the platform.
	Timeout time.Duration
}

// Deps are the endpoint's collaborators.
type Deps struct {
	Registry *Registry
	Logger   *slog.Logger
	Now      func() time.Time
}

// Handler serves GET /admin/v1/media/{platform}/{account}?id=… or ?url=….
// Mount it behind the admin auth: it spends the accounts' credentials on
// whoever asks.
type Handler struct {
	cfg   Config
	reg   *Registry
	log   *slog.Logger
	cache *cache
	slots chan struct{}

	mu       sync.Mutex
	inflight map[string]*call
}

// call is one download that concurrent requests for the same file share.
type call struct {
	done chan struct{}
	it   *cached
	err  error
}

// NewHandler returns the endpoint.
func NewHandler(cfg Config, deps Deps) *Handler {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, reg: deps.Registry, log: log.With("component", "media"),
		cache: newCache(cfg.CacheBytes, cfg.CacheTTL, now), slots: make(chan struct{}, cfg.Concurrency),
		inflight: map[string]*call{}}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	platform, account := r.PathValue("platform"), r.PathValue("account")
	f, ok := h.reg.Lookup(platform, account)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("media: no account %s/%s on this gateway", platform, account))
		return
	}
	m, err := ref(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, "media: "+err.Error())
		return
	}
	// The ids and URLs are capabilities of a kind (some platforms' media
	// URLs open with the account's credentials): logs get a digest that
	// tells two requests for the same file apart from others, no more.
	key := platform + "\x00" + account + "\x00" + m.PlatformID + "\x00" + m.URL
	sum := sha256.Sum256([]byte(key))
	log := h.log.With("platform", platform, "account", account, "ref", hex.EncodeToString(sum[:6]))

	// A download of the whole file takes longer than the admin
	// listener's write timeout allows an ordinary request.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(h.cfg.Timeout + 30*time.Second))
	it, err := h.get(r.Context(), key, f, m)
	if err != nil {
		code := status(err)
		if r.Context().Err() != nil {
			return // the caller left; nobody reads an answer
		}
		level := slog.LevelWarn
		if code < 500 {
			level = slog.LevelInfo
		}
		log.Log(r.Context(), level, "media not served", "status", code, "err", err)
		writeError(w, code, err.Error())
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", it.ctype)
	hd.Set("X-Content-Type-Options", "nosniff")
	// Opened on its own, a file runs in a sandbox with no script and no
	// same-origin rights, in case a browser ever renders it as a page.
	hd.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'")
	hd.Set("Cache-Control", "private, max-age=300")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	if inline(it.ctype) {
		hd.Set("Content-Disposition", "inline")
	} else {
		hd.Set("Content-Disposition", "attachment")
	}
	// ServeContent answers the Range requests audio and video players
	// make, from the copy in memory.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(it.data))
}

// get returns the file from the cache or downloads it, once for all the
// requests that want it at the same time. The download runs on its own
// context, so the first caller hanging up does not fail the others.
func (h *Handler) get(ctx context.Context, key string, f Fetcher, m envelope.Media) (*cached, error) {
	if it, ok := h.cache.get(key); ok {
		return it, nil
	}
	h.mu.Lock()
	c, running := h.inflight[key]
	if !running {
		c = &call{done: make(chan struct{})}
		h.inflight[key] = c
		go func() {
			defer func() {
				h.mu.Lock()
				delete(h.inflight, key)
				h.mu.Unlock()
				close(c.done)
			}()
			c.it, c.err = h.download(context.WithoutCancel(ctx), f, m)
			if c.err == nil {
				h.cache.put(key, c.it.data, c.it.ctype)
			}
		}()
	}
	h.mu.Unlock()
	select {
	case <-c.done:
		return c.it, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// download fetches one file, refusing it as soon as it passes MaxBytes
// (never reading more than one byte beyond) and unless its bytes are
// media.
func (h *Handler) download(ctx context.Context, f Fetcher, m envelope.Media) (*cached, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	case <-ctx.Done():
		return nil, errBusy
	}
	body, declared, err := f.FetchMedia(ctx, m)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, h.cfg.MaxBytes+1))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, err
		}
		return nil, fmt.Errorf("media: reading from the platform: %w", err)
	}
	if int64(len(data)) > h.cfg.MaxBytes {
		return nil, tooBig(h.cfg.MaxBytes)
	}
	if len(data) == 0 {
		return nil, errors.New("media: the platform sent an empty file")
	}
	ctype, ok := contentType(data[:min(len(data), sniffLen)], declared)
	if !ok {
		return nil, fmt.Errorf("%w (it looks like %s)", errNotMedia, baseType(http.DetectContentType(data[:min(len(data), sniffLen)])))
	}
	return &cached{data: data, ctype: ctype}, nil
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	httpjson.Error(w, code, msg)
}
