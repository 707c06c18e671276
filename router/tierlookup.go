package router

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"hotline/envelope"
)

// TierLookup asks the service's own system which tier a user has, for
// services that already rank their customers (a CRM, the creators'
// programme): GET URL?conversation=&platform=&account=&user= with the
// bearer token, answered {"tier": "vip"} or {"tier": ""}. Answers are
// cached for Cache, failures for a few seconds: a handoff must not wait
// on, or hammer, a slow CRM. A tier an operator set (hotline tier set)
// wins over the lookup.
type TierLookup struct {
	URL     string
	Token   envelope.Secret
	Cache   time.Duration // default 5m
	Timeout time.Duration // default 2s
}

// failureCache is how long a failed lookup is remembered as "no tier".
const failureCache = 10 * time.Second

// maxTierCache bounds the cache; past it, it starts over.
const maxTierCache = 50_000

type tierLookup struct {
	cfg    TierLookup
	client *http.Client
	log    *slog.Logger
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]cachedTier
}

type cachedTier struct {
	tier    string
	expires time.Time
}

func newTierLookup(cfg TierLookup, client *http.Client, log *slog.Logger, now func() time.Time) *tierLookup {
	if cfg.URL == "" {
		return nil
	}
	if cfg.Cache <= 0 {
		cfg.Cache = 5 * time.Minute
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if client == nil {
		client = &http.Client{}
	}
	return &tierLookup{cfg: cfg, client: client, log: log, now: now, cache: map[string]cachedTier{}}
}

// tier is the user's tier by the lookup, "" for none or on failure.
func (l *tierLookup) tier(ctx context.Context, m *envelope.Message) string {
	now := l.now()
	l.mu.Lock()
	c, ok := l.cache[m.Conversation]
	l.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.tier
	}
	tier, err := l.ask(ctx, m)
	keep := l.cfg.Cache
	if err != nil {
		l.log.Warn("tier lookup failed; handled as no tier", "err", err)
		tier, keep = "", failureCache
	}
	l.mu.Lock()
	if len(l.cache) >= maxTierCache {
		clear(l.cache)
	}
	l.cache[m.Conversation] = cachedTier{tier: tier, expires: now.Add(keep)}
	l.mu.Unlock()
	return tier
}

func (l *tierLookup) ask(ctx context.Context, m *envelope.Message) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	q := url.Values{"conversation": {m.Conversation}, "platform": {m.Platform}, "account": {m.Account}, "user": {m.From.ID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.cfg.URL+"?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	if t := l.cfg.Token.Reveal(); t != "" {
		req.Header.Set("Authorization", "Bearer "+t)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("tier lookup: %s", resp.Status)
	}
	var body struct {
		Tier string `json:"tier"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err != nil {
		return "", fmt.Errorf("tier lookup: answer: %w", err)
	}
	return body.Tier, nil
}
