package webchat

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"hotline/envelope"
)

// Error codes of error frames.
const (
	codeBadFrame    = "bad_frame"
	codeTooLong     = "too_long"
	codeRateLimited = "rate_limited"
	codeEmpty       = "empty"
	codeUnavailable = "unavailable"
)

// Roles of transcript entries.
const (
	roleUser  = "user"
	roleBot   = "bot"
	roleAgent = "agent"
)

// maxClientIDLen bounds a client id.
const maxClientIDLen = 64

// clientFrame is a frame from the page: {"type":"send","id":..,"text":..}.
type clientFrame struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Text string `json:"text"`
}

// frameError is why a client frame was refused; code goes into the error
// frame.
type frameError struct {
	code string
	msg  string
}

func (e *frameError) Error() string { return "webchat: " + e.code + ": " + e.msg }

func badFrame(format string, args ...any) error {
	return &frameError{code: codeBadFrame, msg: fmt.Sprintf(format, args...)}
}

// parseClientFrame decodes and checks one text frame from the page. Its
// errors are *frameError. Text is trimmed of surrounding white space; a
// text longer than envelope.MaxTextLen bytes is too long whatever the
// configuration (the per-account rune limit is checked by the caller).
func parseClientFrame(data []byte) (clientFrame, error) {
	var f clientFrame
	if !utf8.Valid(data) {
		return clientFrame{}, badFrame("the frame is not valid UTF-8")
	}
	if err := json.Unmarshal(data, &f); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return clientFrame{}, badFrame("field %q must be a string", te.Field)
		}
		return clientFrame{}, badFrame("the frame is not a JSON object")
	}
	if f.Type != "send" {
		if f.Type == "" {
			return clientFrame{}, badFrame("the frame has no type")
		}
		return clientFrame{}, badFrame("unknown frame type %q", truncate(f.Type, 32))
	}
	if !validClientID(f.ID) {
		return clientFrame{}, badFrame("id must be 1 to %d characters of A-Z a-z 0-9 _ -", maxClientIDLen)
	}
	f.Text = strings.TrimSpace(f.Text)
	if f.Text == "" {
		return f, &frameError{code: codeEmpty, msg: "the message is empty"}
	}
	if len(f.Text) > envelope.MaxTextLen {
		return f, &frameError{code: codeTooLong, msg: fmt.Sprintf("the message is longer than %d bytes", envelope.MaxTextLen)}
	}
	return f, nil
}

func validClientID(id string) bool {
	if len(id) < 1 || len(id) > maxClientIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// truncate cuts s to at most n runes, for echoing input in messages.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// entry is one line of a visitor's transcript.
type entry struct {
	ID       string            `json:"id"`
	Role     string            `json:"role"`
	Text     string            `json:"text"`
	Lang     string            `json:"lang"`
	Dir      string            `json:"dir"`
	Buttons  []envelope.Button `json:"buttons,omitempty"`
	At       time.Time         `json:"at"`
	ClientID string            `json:"client_id,omitempty"`
	Media    *entryMedia       `json:"media,omitempty"` // an attachment the visitor sent
}

func decodeEntry(data []byte) (entry, error) {
	var e entry
	if err := json.Unmarshal(data, &e); err != nil {
		return entry{}, err
	}
	if e.ID == "" {
		return entry{}, errors.New("entry without an id")
	}
	return e, nil
}

type announcement struct {
	Text string `json:"text"`
	Dir  string `json:"dir"`
}

type helloFrame struct {
	Type         string        `json:"type"`
	Visitor      string        `json:"visitor"`
	History      []entry       `json:"history"`
	Announcement *announcement `json:"announcement,omitempty"`
	MaxText      int           `json:"max_text"` // the longest text accepted, in characters
	// Lang is the language picked from the browser's for the page's
	// labels until the conversation has one; Dir is "rtl" for it or "".
	Lang      string `json:"lang"`
	Dir       string `json:"dir"`
	MaxUpload int64  `json:"max_upload"` // the largest attachment accepted, in bytes
}

type ackFrame struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type messageFrameT struct {
	Type  string `json:"type"`
	Entry entry  `json:"entry"`
}

type announcementFrame struct {
	Type string `json:"type"`
	Text string `json:"text"`
	Dir  string `json:"dir"`
}

type errorFrameT struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// internalErrorFrame stands in for a frame that could not be encoded
// (only a time outside years 0-9999 can do that).
var internalErrorFrame = []byte(`{"type":"error","id":"","code":"unavailable","message":"Something went wrong on our side."}`)

// mustJSON encodes a server frame.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return internalErrorFrame
	}
	return b
}

func helloFrameJSON(visitor string, history []entry, ann announcement, maxText int, lang, dir string) []byte {
	if history == nil {
		history = []entry{}
	}
	f := helloFrame{Type: "hello", Visitor: visitor, History: history, MaxText: maxText, Lang: lang, Dir: dir, MaxUpload: MaxUploadBytes}
	if ann.Text != "" {
		f.Announcement = &ann
	}
	return mustJSON(f)
}

func ackFrameJSON(id string) []byte { return mustJSON(ackFrame{Type: "ack", ID: id}) }

func messageFrame(e entry) []byte { return mustJSON(messageFrameT{Type: "message", Entry: e}) }

func announcementFrameJSON(a announcement) []byte {
	return mustJSON(announcementFrame{Type: "announcement", Text: a.Text, Dir: a.Dir})
}

func errorFrame(id, code, message string) []byte {
	return mustJSON(errorFrameT{Type: "error", ID: id, Code: code, Message: message})
}
