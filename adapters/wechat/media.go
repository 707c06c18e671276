package wechat

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"hotline/envelope"
)

// FetchMedia downloads what a user sent by its MediaId with the
// temporary-media API, cgi-bin/media/get
// (https://developers.weixin.qq.com/doc/service/api/material/temporary/api_getmedia).
// WeChat answers a failure with 200 and a JSON errcode instead of the
// bytes; a refused token (40001, 40014, 42001) is refetched once, as the
// send path does. A video comes back as JSON naming its download URL,
// which is followed without the token.
//
// A PicUrl alone is not fetched: it could name any host. Errors follow
// media.Fetcher: fs.ErrInvalid without a MediaId, fs.ErrNotExist for
// 40007 (invalid media_id; WeChat keeps media three days). The access
// token and app secret never appear in an error.
func (a *Adapter) FetchMedia(ctx context.Context, m envelope.Media) (io.ReadCloser, string, error) {
	if m.PlatformID == "" {
		return nil, "", fmt.Errorf("wechat: media has no media_id: %w", fs.ErrInvalid)
	}
	token, err := a.accessToken(ctx)
	if err != nil {
		return nil, "", err
	}
	body, ctype, err := a.getMedia(ctx, token, m.PlatformID)
	if !errors.Is(err, errTokenStale) {
		return body, ctype, err
	}
	a.invalidate(ctx, token)
	if token, err = a.accessToken(ctx); err != nil {
		return nil, "", err
	}
	return a.getMedia(ctx, token, m.PlatformID)
}

// getMedia is one media/get call.
func (a *Adapter) getMedia(ctx context.Context, token, mediaID string) (io.ReadCloser, string, error) {
	q := url.Values{"access_token": {token}, "media_id": {mediaID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.cfg.APIBase+"/cgi-bin/media/get?"+q.Encode(), nil)
	if err != nil {
		return nil, "", errors.New(a.redact(err.Error(), token))
	}
	resp, err := a.download().Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("wechat: media/get: %s", a.redact(err.Error(), token))
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, "", fmt.Errorf("wechat: media/get: HTTP %d", resp.StatusCode)
	}
	ctype := resp.Header.Get("Content-Type")
	br := bufio.NewReader(resp.Body)
	first, _ := br.Peek(1)
	if !jsonAnswer(ctype, first) {
		return readCloser{br, resp.Body}, ctype, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(br, 64<<10))
	var ans struct {
		ErrCode  *int64 `json:"errcode"`
		ErrMsg   string `json:"errmsg"`
		VideoURL string `json:"video_url"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil {
		return nil, "", fmt.Errorf("wechat: media/get: a %s answer that is not JSON", ctype)
	}
	if ans.VideoURL != "" && (ans.ErrCode == nil || *ans.ErrCode == 0) {
		return a.getVideo(ctx, ans.VideoURL)
	}
	if ans.ErrCode == nil {
		return nil, "", errors.New("wechat: media/get: JSON with neither the file nor an errcode")
	}
	cause := fmt.Errorf("wechat: media/get: errcode %d: %s", *ans.ErrCode, a.redact(ans.ErrMsg, token))
	switch *ans.ErrCode {
	case 40001, 40014, 42001:
		return nil, "", errors.Join(errTokenStale, cause)
	case 40007:
		return nil, "", fmt.Errorf("%w: %w", cause, fs.ErrNotExist)
	}
	return nil, "", cause
}

// getVideo downloads a video from the URL media/get named. The URL is
// WeChat's, not a user's, and carries no credential of ours.
func (a *Adapter) getVideo(ctx context.Context, raw string) (io.ReadCloser, string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", errors.New("wechat: media/get: video_url is not an http URL")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", fmt.Errorf("wechat: video download: %w", err)
	}
	resp, err := a.download().Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("wechat: video download from %s: %w", u.Host, errors.Unwrap(err))
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, "", fmt.Errorf("wechat: video download from %s: HTTP %d", u.Host, resp.StatusCode)
	}
	return resp.Body, resp.Header.Get("Content-Type"), nil
}

// jsonAnswer reports whether media/get answered with JSON (an error, or
// a video's URL) rather than the file. WeChat labels these
// application/json or text/plain; a file never starts with '{'.
func jsonAnswer(ctype string, first []byte) bool {
	ct := strings.ToLower(ctype)
	return strings.Contains(ct, "json") || strings.HasPrefix(ct, "text/plain") || (len(first) == 1 && first[0] == '{')
}

// download is the client for files: the send client's transport without
// its 15 s limit, which a large video may need; the caller's context
// bounds it.
func (a *Adapter) download() *http.Client {
	return &http.Client{Transport: a.http.Transport, CheckRedirect: a.http.CheckRedirect}
}

// readCloser reads through a buffer and closes the body under it.
type readCloser struct {
	io.Reader
	io.Closer
}
