package weibo

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

	"hotline/bus"
	"hotline/envelope"
	"hotline/outbound"
)

// PassiveTextLimit is the most a passive text reply may hold: 300
// characters (https://open.weibo.com/wiki/Send_Passive_Response_Message;
// docs/protocols.md B.1), counted here in runes.
const PassiveTextLimit = 300

// ActiveTextLimit is how many runes one messages/reply call carries.
// The wiki documents no limit for the API's text; 1,000 keeps every
// part a readable private message and far from any plausible cap.
const ActiveTextLimit = 1000

// DefaultRetryAfter is how long a rate-limited send waits when Weibo
// sends no Retry-After. Weibo counts its API limits per hour, so a
// minute is the shortest wait worth trying.
const DefaultRetryAfter = 60 * time.Second

// Error codes of the Weibo API (https://open.weibo.com/wiki/Error_code)
// that change what the outbound loop does. Everything else, such as the
// 26xxx codes of the messages API (outside the 48 h window, the user
// unfollowed), is permanent.
var (
	tokenCodes     = map[int]bool{21314: true, 21315: true, 21316: true, 21317: true, 21318: true, 21319: true, 21327: true, 21332: true, 21501: true}
	throttledCodes = map[int]bool{10022: true, 10023: true, 10024: true}
	// 10001 system error, 10002 service unavailable, 10009 too many
	// pending tasks: the platform's trouble, not the reply's.
	retryableCodes = map[int]bool{10001: true, 10002: true, 10009: true}
)

// textData is the data parameter of a text reply: compact JSON
// {"text":...}, URL-encoded as the passive reply needs it. Spaces become
// %20, not "+", so that a decoder of either kind reads the same text.
func textData(text string) string {
	return strings.ReplaceAll(url.QueryEscape(textJSON(text)), "+", "%20")
}

func textJSON(text string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		Text string `json:"text"`
	}{text})
	return strings.TrimSuffix(buf.String(), "\n")
}

// Send delivers a reply through messages/reply
// (https://open.weibo.com/wiki/C/2/messages/reply/biz-en). A text
// longer than ActiveTextLimit goes out as several messages, in order;
// if one part fails, a retry of the reply starts from that part.
func (a *Adapter) Send(ctx context.Context, r envelope.Reply) (envelope.Receipt, error) {
	receiver, err := strconv.ParseInt(r.To.ID, 10, 64)
	if err != nil || receiver <= 0 {
		return envelope.Receipt{}, outbound.PermanentError("bad_recipient", fmt.Errorf("weibo: receiver %.32q is not a user id", r.To.ID))
	}
	text := r.Text
	for _, m := range r.Media {
		// The API's media types (articles) need more than a reply
		// carries; a link in the text reaches the user all the same.
		if m.URL != "" {
			text = strings.TrimSpace(text + "\n" + m.URL)
		}
	}
	if strings.TrimSpace(text) == "" {
		return envelope.Receipt{}, outbound.PermanentError("empty_reply", errors.New("weibo: nothing to send"))
	}
	parts := splitAll(text, ActiveTextLimit)
	done := outbound.LoadParts(ctx, a.bus.KV(bus.BucketSent), envelope.PlatformWeibo, r.ID, len(parts))
	for i := done.Sent(); i < len(parts); i++ {
		id, err := a.post(ctx, r, receiver, parts[i])
		if err != nil {
			return envelope.Receipt{}, err
		}
		if err := done.Record(ctx, id); err != nil {
			a.log.Warn("recording a partial send; a retry may repeat parts", "reply", r.ID, "err", err)
		}
	}
	rc := envelope.Receipt{SentAt: a.now().UTC()}
	if ids := done.IDs(); len(ids) > 0 {
		rc.PlatformMsgID = ids[0]
	}
	if len(parts) > 1 {
		rc.Segments = len(parts)
	}
	return rc, nil
}

// apiAnswer is every field of a messages/reply answer hotline reads.
// The wiki shows no success body, so any id field it carries is taken.
type apiAnswer struct {
	ErrorCode flexText `json:"error_code"`
	Error     string   `json:"error"`
	Request   string   `json:"request"`
	IDStr     flexText `json:"idstr"`
	ID        flexText `json:"id"`
	MsgID     flexText `json:"msg_id"`
}

// post sends one text. The access token travels in the form body, not
// in the URL as in the wiki's curl example, so that transport errors,
// which quote the URL, cannot carry it.
func (a *Adapter) post(ctx context.Context, r envelope.Reply, receiver int64, text string) (string, error) {
	// The wiki's curl example sends data=%7B%22text%22... in the form:
	// the JSON form-encoded once, which url.Values does.
	form := url.Values{
		"access_token":    {a.cfg.AccessToken.Reveal()},
		"type":            {"text"},
		"data":            {textJSON(text)},
		"receiver_id":     {strconv.FormatInt(receiver, 10)},
		"save_sender_box": {"0"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.APIBase+"/2/messages/reply.json", strings.NewReader(form.Encode()))
	if err != nil {
		return "", outbound.PermanentError("bad_request", errors.New(a.redact(err.Error())))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := a.http.Do(req)
	if err != nil {
		return "", outbound.RetryableError("transport", fmt.Errorf("weibo: reply to %d: %s", receiver, a.redact(err.Error())))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var ans apiAnswer
	jsonErr := json.Unmarshal(body, &ans)
	code, _ := strconv.Atoi(string(ans.ErrorCode))
	if jsonErr == nil && code == 0 && ans.Error == "" && resp.StatusCode/100 == 2 {
		for _, id := range []flexText{ans.IDStr, ans.ID, ans.MsgID} {
			if id != "" {
				return string(id), nil
			}
		}
		return "", nil
	}
	return "", a.classify(r, resp, code, ans, jsonErr)
}

// classify maps a refused send to what the outbound loop should do.
func (a *Adapter) classify(r envelope.Reply, resp *http.Response, code int, ans apiAnswer, jsonErr error) error {
	cause := fmt.Errorf("weibo: HTTP %d, error %d: %s", resp.StatusCode, code, a.redact(ans.Error))
	switch {
	case tokenCodes[code]:
		a.tokenErrors.Inc()
		// Tokens are issued by hand on the developer page: nothing
		// will fix this but an operator, so say exactly what to do.
		a.log.Error("weibo access token refused: issue a new access token on the fan-service developer page and set it as access_token of this account in accounts.weibo",
			"code", code, "error", a.redact(ans.Error), "reply", r.ID)
		return outbound.PermanentError("token_expired", fmt.Errorf(
			"weibo account %s: access token expired or invalid (error %d %s); an operator must issue a new token on the fan-service developer page and set access_token in accounts.weibo",
			a.cfg.Account, code, a.redact(ans.Error)))
	case throttledCodes[code] || resp.StatusCode == http.StatusTooManyRequests:
		return outbound.ThrottledError("throttled", retryAfter(resp.Header.Get("Retry-After"), a.now()), cause)
	case retryableCodes[code]:
		return outbound.RetryableError("weibo_"+strconv.Itoa(code), cause)
	case resp.StatusCode >= 500:
		return outbound.RetryableError("http_"+strconv.Itoa(resp.StatusCode), cause)
	case jsonErr != nil:
		// An HTML error page from a proxy, a truncated answer.
		return outbound.RetryableError("bad_response", fmt.Errorf("weibo: HTTP %d with no JSON answer", resp.StatusCode))
	case code != 0:
		return outbound.PermanentError("weibo_"+strconv.Itoa(code), cause)
	}
	return outbound.PermanentError("http_"+strconv.Itoa(resp.StatusCode), cause)
}

// retryAfter reads a Retry-After header in seconds or as an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return DefaultRetryAfter
}

// redact removes the access token from text that may quote a request.
func (a *Adapter) redact(s string) string {
	if tok := a.cfg.AccessToken.Reveal(); tok != "" {
		s = strings.ReplaceAll(s, tok, "[redacted]")
		s = strings.ReplaceAll(s, url.QueryEscape(tok), "[redacted]")
	}
	return s
}
