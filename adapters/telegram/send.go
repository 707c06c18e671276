package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/nats-io/nats.go/jetstream"

	"hotline/bus"
	"hotline/envelope"
	"hotline/outbound"
	"hotline/textsplit"
)

// MaxTextUnits is sendMessage's limit: 4096 characters after entity
// parsing, counted in UTF-16 code units like every length in the Bot API
// (https://core.telegram.org/bots/api#sendmessage). hotline sends plain
// text, so there are no entities to keep whole.
const MaxTextUnits = 4096

// client is the HTTPClient the library calls. v5.5.1 builds requests
// without a context and never looks at the HTTP status, so each call gets
// its own client that adds the caller's context and remembers the status
// (an HTML 502 is otherwise only a JSON syntax error).
type client struct {
	ctx  context.Context
	http *http.Client

	mu     sync.Mutex
	status int
}

func (c *client) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req.WithContext(c.ctx))
	if resp != nil {
		c.mu.Lock()
		c.status = resp.StatusCode
		c.mu.Unlock()
	}
	return resp, err
}

func (c *client) lastStatus() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// bot returns a library handle bound to ctx. It is built directly rather
// than with NewBotAPI*, which would call getMe every time.
func (a *Adapter) bot(ctx context.Context, hc *http.Client) (*tgbotapi.BotAPI, *client) {
	c := &client{ctx: ctx, http: hc}
	b := &tgbotapi.BotAPI{Token: a.cfg.Token.Reveal(), Client: c, Buffer: 100}
	b.SetAPIEndpoint(a.endpoint)
	return b, c
}

// call makes one Bot API request and returns its result, with failures
// redacted and classified.
func (a *Adapter) call(ctx context.Context, hc *http.Client, method string, params tgbotapi.Params) (json.RawMessage, error) {
	b, c := a.bot(ctx, hc)
	resp, err := b.MakeRequest(method, params)
	if err != nil {
		return nil, a.classify(method, c.lastStatus(), err)
	}
	return resp.Result, nil
}

// apiError is a Bot API refusal, kept with its HTTP status.
type apiError struct {
	Method      string
	Status      int
	Code        int
	Description string
	RetryAfter  time.Duration
	MigrateTo   int64
}

func (e *apiError) Error() string {
	return fmt.Sprintf("telegram: %s: HTTP %d, error %d: %s", e.Method, e.Status, e.Code, e.Description)
}

// classify turns what the library returned into an *outbound.SendError
// around an *apiError or a redacted transport error. The Bot API's docs
// warn error_code may change, so the HTTP status decides and the
// description only refines a 400.
func (a *Adapter) classify(method string, status int, err error) error {
	var te *tgbotapi.Error
	if errors.As(err, &te) {
		ae := &apiError{Method: method, Status: status, Code: te.Code, Description: a.scrub(te.Message),
			RetryAfter: time.Duration(te.RetryAfter) * time.Second, MigrateTo: te.MigrateToChatID}
		code := status
		if code == 0 || code == http.StatusOK {
			code = te.Code
		}
		switch {
		case code == http.StatusTooManyRequests:
			after := ae.RetryAfter
			if after <= 0 {
				after = time.Second
			}
			return outbound.ThrottledError("throttled", after, ae)
		case code == http.StatusForbidden:
			return outbound.PermanentError("blocked", ae)
		case code == http.StatusBadRequest && ae.MigrateTo != 0:
			// The group became a supergroup; the conversation key
			// changes with the chat id, so this reply cannot follow.
			return outbound.PermanentError("chat_migrated", ae)
		case code == http.StatusBadRequest && strings.Contains(strings.ToLower(te.Message), "chat not found"):
			return outbound.PermanentError("chat_not_found", ae)
		case code == http.StatusBadRequest:
			return outbound.PermanentError("bad_request", ae)
		case code == http.StatusUnauthorized || code == http.StatusNotFound:
			// A revoked token is an operator's fix: keep the replies.
			return outbound.RetryableError("auth_failed", ae)
		case code >= 500:
			return outbound.RetryableError("http_"+strconv.Itoa(code), ae)
		}
		return outbound.PermanentError("telegram_"+strconv.Itoa(code), ae)
	}
	if status != 0 {
		// An answer that was not the Bot API's JSON: a proxy's HTML
		// error page, a truncated body.
		cause := fmt.Errorf("telegram: %s: HTTP %d with no API answer: %w", method, status, a.redact(err))
		if status >= 500 || status == http.StatusTooManyRequests {
			return outbound.RetryableError("http_"+strconv.Itoa(status), cause)
		}
		return outbound.RetryableError("bad_response", cause)
	}
	return outbound.RetryableError("transport", fmt.Errorf("telegram: %s: %w", method, a.redact(err)))
}

// redactedError carries an error's text with the bot token removed. It
// unwraps to the cause below the *url.Error (which holds the URL and so
// the token), so context.Canceled and timeouts are still recognised.
type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.cause }

// redact removes the bot token from err's text. The library's transport
// errors are *url.Error whose text is `Post "https://…/bot<TOKEN>/…"`.
func (a *Adapter) redact(err error) error {
	if err == nil {
		return nil
	}
	var cause error
	var ue *url.Error
	if errors.As(err, &ue) {
		cause = ue.Err
	}
	return &redactedError{msg: a.scrub(err.Error()), cause: cause}
}

func (a *Adapter) scrub(s string) string {
	if t := a.cfg.Token.Reveal(); t != "" {
		s = strings.ReplaceAll(s, t, "[redacted]")
		s = strings.ReplaceAll(s, url.PathEscape(t), "[redacted]")
	}
	return s
}

// Send delivers a reply with sendMessage: text longer than one message is
// split (see Split) and sent in order, the buttons go with the last part.
//
// A failure midway returns the error for that part; the parts already
// sent are recorded (outbound.Parts, in hotline_sent), so the outbound
// loop's retry sends only the rest, and a retry after the last part went sends nothing. If
// recording fails a retry may repeat earlier parts: a repeated line beats
// a lost one. The receipt's PlatformMsgID lists the parts' message ids,
// comma-separated.
func (a *Adapter) Send(ctx context.Context, r envelope.Reply) (envelope.Receipt, error) {
	chatID, err := strconv.ParseInt(r.To.ID, 10, 64)
	if err != nil {
		return envelope.Receipt{}, outbound.PermanentError("bad_recipient", fmt.Errorf("telegram: chat id %q is not a number", r.To.ID))
	}
	parts := Split(r.Text, MaxTextUnits)
	if len(parts) == 0 {
		return envelope.Receipt{}, outbound.PermanentError("empty", errors.New("telegram: reply has no text"))
	}
	done := outbound.LoadParts(ctx, a.sentKV(), envelope.PlatformTelegram, r.ID, len(parts))
	// A record of every part means an earlier attempt finished but its
	// sent mark was not stored: nothing is sent again.
	for i := done.Sent(); i < len(parts); i++ {
		params := tgbotapi.Params{"chat_id": strconv.FormatInt(chatID, 10), "text": parts[i]}
		if i == len(parts)-1 && len(r.Buttons) > 0 {
			kb, _ := json.Marshal(keyboard(r.Buttons))
			params["reply_markup"] = string(kb)
		}
		res, err := a.call(ctx, a.http, "sendMessage", params)
		if err != nil {
			var se *outbound.SendError
			if errors.As(err, &se) && se.Reason == "blocked" {
				a.optOut(ctx, r.Conversation)
			}
			return envelope.Receipt{}, err
		}
		var sent struct {
			MessageID int `json:"message_id"`
		}
		_ = json.Unmarshal(res, &sent)
		if err := done.Record(ctx, strconv.Itoa(sent.MessageID)); err != nil {
			a.log.Warn("recording a partial send; a retry may repeat parts", "reply", r.ID, "err", err)
		}
	}
	return envelope.Receipt{PlatformMsgID: strings.Join(done.IDs(), ","), SentAt: a.now().UTC(), Segments: len(parts)}, nil
}

func (a *Adapter) sentKV() jetstream.KeyValue {
	if a.bus == nil {
		return nil
	}
	return a.bus.KV(bus.BucketSent)
}

// optOut records that the user blocked the bot, so nothing else is even
// tried (the router and the outbound loop check the same key).
func (a *Adapter) optOut(ctx context.Context, conversation string) {
	if a.bus == nil || conversation == "" {
		return
	}
	if _, err := a.bus.SetOptOut(ctx, conversation, true, a.now()); err != nil {
		a.log.Error("recording a blocked user's opt-out", "err", err)
	}
}

// keyboard lays out one button per row; the callback data comes back as
// a callback_query whose data is the menu code.
func keyboard(buttons []envelope.Button) tgbotapi.InlineKeyboardMarkup {
	rows := make([][]tgbotapi.InlineKeyboardButton, 0, len(buttons))
	for _, b := range buttons {
		data := b.Data
		if len(data) > 64 { // callback_data is 1-64 bytes
			data = truncateBytes(data, 64)
		}
		rows = append(rows, tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData(b.Label, data)))
	}
	return tgbotapi.NewInlineKeyboardMarkup(rows...)
}

func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := 0
	for i := range s {
		if i > n {
			break
		}
		cut = i
	}
	return s[:cut]
}

// utf16Units counts text as Telegram does.
func utf16Units(s string) []uint16 { return utf16.Encode([]rune(s)) }

func fromUnits(u []uint16) string { return string(utf16.Decode(u)) }

// UnitLen is the length of s in UTF-16 code units.
func UnitLen(s string) int { return textsplit.Len(s, textsplit.UTF16) }

// Split cuts text into messages of at most limit UTF-16 code units with
// textsplit's chat rules (see textsplit.Splitter): the fewest messages;
// no rune, so no surrogate pair, and no grapheme cluster (an emoji
// sequence, a flag, a letter and its accents) cut unless it alone is
// over the limit; each message ending after a line break, else a
// sentence end, else a space in its second half when that costs no extra
// message. The white space at a cut and at both ends is dropped, since
// Telegram trims it anyway; text of white space only gives no message.
func Split(text string, limit int) []string {
	return textsplit.Splitter{Limit: limit, Measure: textsplit.UTF16}.Split(text)
}
