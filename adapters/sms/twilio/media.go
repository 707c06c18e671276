package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"

	"hotline/envelope"
)

// maxRedirects bounds the hops from a media URL to its file: Twilio
// answers with one redirect to its storage.
const maxRedirects = 3

// FetchMedia downloads an MMS or WhatsApp attachment from its MediaUrl
// with the account's credentials (HTTP basic auth, AccountSid:AuthToken).
//
// The credentials go only to this account's media on the configured API
// host: any other URL is refused before a request is made, since a
// MediaUrl comes from a webhook and the endpoint from an operator's
// browser, and either could name an internal address. Twilio redirects
// to its storage; the Authorization header is dropped on a
// redirect to another host, and a redirect may not downgrade to http.
//
// Errors follow media.Fetcher: fs.ErrInvalid for a URL this account may
// not fetch, fs.ErrNotExist for 404 (the media was deleted).
func (a *Adapter) FetchMedia(ctx context.Context, m envelope.Media) (io.ReadCloser, string, error) {
	u, err := a.mediaURL(m.URL)
	if err != nil {
		return nil, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", fmt.Errorf("twilio: media: %w", err)
	}
	req.SetBasicAuth(a.cfg.AccountSID, a.cfg.AuthToken.Reveal())
	client := &http.Client{Transport: a.http.Transport, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return errors.New("too many redirects")
		}
		if r.URL.Scheme != "https" && r.URL.Scheme != via[0].URL.Scheme {
			return fmt.Errorf("redirect to %s refused", r.URL.Scheme)
		}
		// net/http keeps the header for the same host name on another
		// port; only the API host itself gets the credentials.
		if !strings.EqualFold(r.URL.Host, via[0].URL.Host) {
			r.Header.Del("Authorization")
		}
		return nil
	}}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text quotes the URL; the path is enough
		}
		return nil, "", fmt.Errorf("twilio: media %s: %w", u.Path, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp.Body, resp.Header.Get("Content-Type"), nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(raw, &e)
	cause := fmt.Errorf("twilio: media %s: HTTP %d, error %d: %s", u.Path, resp.StatusCode, e.Code, e.Message)
	if resp.StatusCode == http.StatusNotFound {
		return nil, "", fmt.Errorf("%w: %w", cause, fs.ErrNotExist)
	}
	return nil, "", cause
}

// mediaURL checks that raw is one of this account's media on the API
// host: same scheme and host as api_base, no user info, and a path under
// /2010-04-01/Accounts/<sid>/ that does not climb out of it.
func (a *Adapter) mediaURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("twilio: media has no URL: %w", fs.ErrInvalid)
	}
	api, err := url.Parse(a.cfg.APIBase)
	if err != nil {
		return nil, fmt.Errorf("twilio: api_base: %w", err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("twilio: media URL does not parse: %w", fs.ErrInvalid)
	}
	if u.Scheme != api.Scheme || !strings.EqualFold(u.Host, api.Host) || u.User != nil {
		return nil, fmt.Errorf("twilio: media URL is not on %s: %w", api.Host, fs.ErrInvalid)
	}
	prefix := "/2010-04-01/Accounts/" + a.cfg.AccountSID + "/"
	if !strings.HasPrefix(u.Path, prefix) || path.Clean(u.Path) != u.Path || u.RawPath != "" {
		return nil, fmt.Errorf("twilio: media URL is not this account's media: %w", fs.ErrInvalid)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawQuery: u.RawQuery}, nil
}
