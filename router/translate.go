package router

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Translator turns English texts into a language hotline has no texts
// for, through a LibreTranslate-compatible API (POST /translate with q,
// source, target). Results are cached for the process's life: help texts
// are few and change only with a deploy.
type Translator struct {
	url    string
	apiKey string
	client *http.Client

	mu    sync.Mutex
	cache map[string]string // target + "\x00" + text -> translation
}

// NewTranslator returns nil when url is empty: no translation.
func NewTranslator(url, apiKey string, client *http.Client) *Translator {
	if url == "" {
		return nil
	}
	if client == nil {
		client = &http.Client{Timeout: 3 * time.Second}
	}
	return &Translator{url: url, apiKey: apiKey, client: client, cache: map[string]string{}}
}

// Translate returns text in target. Callers fall back to their own texts
// on any error, so a slow or failing translator never blocks a reply
// beyond ctx.
func (t *Translator) Translate(ctx context.Context, text, target string) (string, error) {
	key := target + "\x00" + text
	t.mu.Lock()
	cached, ok := t.cache[key]
	t.mu.Unlock()
	if ok {
		return cached, nil
	}
	body, _ := json.Marshal(map[string]string{"q": text, "source": "en", "target": target, "format": "text", "api_key": t.apiKey})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url+"/translate", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("translate: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("translate: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("translate: read: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("translate: %s answered %s", t.url, resp.Status)
	}
	var out struct {
		TranslatedText string `json:"translatedText"`
		Error          string `json:"error"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", fmt.Errorf("translate: decode: %w", err)
	}
	if out.TranslatedText == "" {
		return "", fmt.Errorf("translate: empty translation (%s)", out.Error)
	}
	t.mu.Lock()
	t.cache[key] = out.TranslatedText
	t.mu.Unlock()
	return out.TranslatedText, nil
}
