package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"hotline/bus"
	"hotline/envelope"
	"hotline/outbound"
)

// tokenMargin is how long before expiry a cached token is replaced.
const tokenMargin = 5 * time.Minute

// lockTTL bounds how long one instance may hold the token-fetch lock; a
// crashed fetcher's lock expires and another instance takes over.
const lockTTL = 10 * time.Second

// ThrottleWait is how long a send rate-limited by WeChat (45009 daily
// quota, 45011 per-minute limit) waits; WeChat sends no Retry-After.
const ThrottleWait = 60 * time.Second

// errTokenStale marks a send refused because the access token is invalid
// or expired (40001, 40014, 42001).
var errTokenStale = errors.New("wechat: access token invalid or expired")

// storedToken is the value of the token key in hotline_tokens.
type storedToken struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (a *Adapter) tokenKey() string { return "wechat.token." + a.cfg.AppID }
func (a *Adapter) lockKey() string  { return "wechat.lock." + a.cfg.AppID }

// cached returns the token in KV if it has more than tokenMargin left.
func (a *Adapter) cached(ctx context.Context, kv jetstream.KeyValue) (storedToken, bool, error) {
	e, err := kv.Get(ctx, a.tokenKey())
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return storedToken{}, false, nil
	}
	if err != nil {
		return storedToken{}, false, err
	}
	var st storedToken
	if json.Unmarshal(e.Value(), &st) != nil || st.Token == "" {
		return storedToken{}, false, nil
	}
	return st, a.now().Add(tokenMargin).Before(st.ExpiresAt), nil
}

// accessToken returns the account's access token, shared by every
// instance through hotline_tokens: fetching a new token invalidates the
// previous one (docs/protocols.md A.8), so only the instance that takes the
// lock key fetches, and the others wait for what it stores.
func (a *Adapter) accessToken(ctx context.Context) (string, error) {
	kv := a.bus.KV(bus.BucketTokens)
	if kv == nil {
		return "", errors.New("wechat: token bucket missing")
	}
	deadline := a.now().Add(2 * lockTTL)
	for {
		st, ok, err := a.cached(ctx, kv)
		if err != nil {
			return "", fmt.Errorf("wechat: read token: %w", err)
		}
		if ok {
			return st.Token, nil
		}
		_, err = kv.Create(ctx, a.lockKey(), []byte(a.now().UTC().Format(time.RFC3339)), jetstream.KeyTTL(lockTTL))
		if err == nil {
			return a.fetchToken(ctx, kv)
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return "", fmt.Errorf("wechat: token lock: %w", err)
		}
		if a.now().After(deadline) {
			return "", errors.New("wechat: another instance holds the token lock and stored no token")
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// fetchToken gets a new token while holding the lock, stores it and
// releases the lock.
func (a *Adapter) fetchToken(ctx context.Context, kv jetstream.KeyValue) (string, error) {
	defer func() { _ = kv.Delete(context.WithoutCancel(ctx), a.lockKey()) }()
	// Another instance may have stored a token and released the lock
	// between our cache miss and our taking the lock.
	if st, ok, err := a.cached(ctx, kv); err == nil && ok {
		return st.Token, nil
	}
	q := url.Values{"grant_type": {"client_credential"}, "appid": {a.cfg.AppID}, "secret": {a.cfg.AppSecret.Reveal()}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.cfg.APIBase+"/cgi-bin/token?"+q.Encode(), nil)
	if err != nil {
		return "", errors.New(a.redact(err.Error(), ""))
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("wechat: token: %s", a.redact(err.Error(), ""))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var ans struct {
		AccessToken string      `json:"access_token"`
		ExpiresIn   int64       `json:"expires_in"`
		ErrCode     json.Number `json:"errcode"`
		ErrMsg      string      `json:"errmsg"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || ans.AccessToken == "" || ans.ExpiresIn <= 0 {
		return "", fmt.Errorf("wechat: token: HTTP %d, errcode %s: %s", resp.StatusCode, ans.ErrCode, a.redact(ans.ErrMsg, ""))
	}
	st := storedToken{Token: ans.AccessToken, ExpiresAt: a.now().UTC().Add(time.Duration(ans.ExpiresIn) * time.Second)}
	raw, _ := json.Marshal(st)
	if _, err := kv.Put(ctx, a.tokenKey(), raw); err != nil {
		return "", fmt.Errorf("wechat: store token: %w", err)
	}
	a.log.Info("access token fetched", "expires_at", st.ExpiresAt)
	return st.Token, nil
}

// invalidate drops the cached token if it is still the one WeChat refused,
// so that a token another instance has already renewed is kept.
func (a *Adapter) invalidate(ctx context.Context, token string) {
	kv := a.bus.KV(bus.BucketTokens)
	e, err := kv.Get(ctx, a.tokenKey())
	if err != nil {
		return
	}
	var st storedToken
	if json.Unmarshal(e.Value(), &st) == nil && st.Token == token {
		_ = kv.Delete(ctx, a.tokenKey(), jetstream.LastRevision(e.Revision()))
	}
}

// Send delivers a reply through the customer-service API
// (https://developers.weixin.qq.com/doc/service/api/customer/message/api_sendcustommessage).
// A text longer than TextLimit goes out as several messages, cut on
// character boundaries, in order; a retry of a reply that failed half-way
// starts from the part that failed. Media go as their links.
func (a *Adapter) Send(ctx context.Context, r envelope.Reply) (envelope.Receipt, error) {
	if r.To.ID == "" {
		return envelope.Receipt{}, outbound.PermanentError("bad_recipient", errors.New("wechat: reply has no recipient"))
	}
	text := strings.TrimSpace(r.Text)
	for _, m := range r.Media {
		if m.URL != "" {
			text = strings.TrimSpace(text + "\n" + m.URL)
		}
	}
	if text == "" {
		return envelope.Receipt{}, outbound.PermanentError("empty_reply", errors.New("wechat: nothing to send"))
	}
	parts := Split(text, TextLimit)
	done := outbound.LoadParts(ctx, a.bus.KV(bus.BucketSent), envelope.PlatformWeChat, r.ID, len(parts))
	for i := done.Sent(); i < len(parts); i++ {
		if err := a.sendText(ctx, r.To.ID, parts[i]); err != nil {
			return envelope.Receipt{}, err
		}
		// The customer-service API answers without a message id.
		if err := done.Record(ctx, ""); err != nil {
			a.log.Warn("recording a partial send; a retry may repeat parts", "reply", r.ID, "err", err)
		}
	}
	rc := envelope.Receipt{SentAt: a.now().UTC()}
	if len(parts) > 1 {
		rc.Segments = len(parts)
	}
	return rc, nil
}

// sendText posts one text; on a refused token it refetches the token once
// and tries once more.
func (a *Adapter) sendText(ctx context.Context, openID, text string) error {
	token, err := a.accessToken(ctx)
	if err != nil {
		return outbound.RetryableError("token", err)
	}
	err = a.post(ctx, token, openID, text)
	if !errors.Is(err, errTokenStale) {
		return err
	}
	a.invalidate(ctx, token)
	if token, err = a.accessToken(ctx); err != nil {
		return outbound.RetryableError("token", err)
	}
	return a.post(ctx, token, openID, text)
}

// post is one custom/send call.
func (a *Adapter) post(ctx context.Context, token, openID, text string) error {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(map[string]any{"touser": openID, "msgtype": "text", "text": map[string]string{"content": text}})
	u := a.cfg.APIBase + "/cgi-bin/message/custom/send?access_token=" + url.QueryEscape(token)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, &body)
	if err != nil {
		return outbound.PermanentError("bad_request", errors.New(a.redact(err.Error(), token)))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := a.http.Do(req)
	if err != nil {
		return outbound.RetryableError("transport", fmt.Errorf("wechat: custom send to %s: %s", openID, a.redact(err.Error(), token)))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var ans struct {
		ErrCode *int64 `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if resp.StatusCode >= 500 {
		return outbound.RetryableError("http_"+strconv.Itoa(resp.StatusCode), fmt.Errorf("wechat: custom send to %s: HTTP %d", openID, resp.StatusCode))
	}
	if err := json.Unmarshal(raw, &ans); err != nil || ans.ErrCode == nil {
		return outbound.RetryableError("bad_response", fmt.Errorf("wechat: custom send to %s: HTTP %d with no JSON errcode", openID, resp.StatusCode))
	}
	return classify(*ans.ErrCode, fmt.Errorf("wechat: custom send to %s: errcode %d: %s", openID, *ans.ErrCode, a.redact(ans.ErrMsg, token)))
}

// classify maps a custom/send errcode (docs/protocols.md A.8) to what the
// outbound loop should do. The code is read as a number, never from the
// message text.
func classify(code int64, cause error) error {
	reason := "wechat_" + strconv.FormatInt(code, 10)
	switch code {
	case 0:
		return nil
	case 40001, 40014, 42001:
		// Sending again with the same token cannot help; sendText
		// refetches once, and a second refusal is worth a later retry.
		return outbound.RetryableError(reason, errors.Join(errTokenStale, cause))
	case 45015:
		// Outside the 48-hour window or unsubscribed: SMS may reach them.
		return outbound.PermanentError(outbound.ReasonWindowClosed, cause)
	case 45047, -1:
		return outbound.RetryableError(reason, cause)
	case 45009, 45011:
		return outbound.ThrottledError(reason, ThrottleWait, cause)
	}
	// 40003 (invalid OpenID), 43004, 48001, 40164 and everything else
	// sending again will not fix.
	return outbound.PermanentError(reason, cause)
}

// redact removes the app secret and an access token from text that may
// quote a request URL.
func (a *Adapter) redact(s, token string) string {
	for _, v := range []string{a.cfg.AppSecret.Reveal(), token} {
		if v != "" {
			s = strings.ReplaceAll(s, v, "[redacted]")
			s = strings.ReplaceAll(s, url.QueryEscape(v), "[redacted]")
		}
	}
	return s
}
