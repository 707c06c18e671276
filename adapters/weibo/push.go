package weibo

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"hotline/envelope"
)

// CreatedAtLayout is the date format of a push's created_at, the same as
// Weibo's other APIs: "Mon Jul 16 18:09:20 +0800 2012".
const CreatedAtLayout = "Mon Jan 02 15:04:05 -0700 2006"

// maxRawData bounds how much of a push's data an envelope keeps in Meta
// when hotline does not understand the push (KindRaw).
const maxRawData = 4 << 10

// push is the JSON body of a fan-service push
// (https://open.weibo.com/wiki/Receive_General_Message,
// https://open.weibo.com/wiki/Receive_Event_Push).
type push struct {
	Type       string          `json:"type"`
	ReceiverID uid             `json:"receiver_id"`
	SenderID   uid             `json:"sender_id"`
	CreatedAt  string          `json:"created_at"`
	Text       string          `json:"text"`
	Data       json.RawMessage `json:"data"`
}

// pushData is the union of every type's data fields.
type pushData struct {
	Subtype   string   `json:"subtype"`
	Key       flexText `json:"key"`
	Ticket    flexText `json:"ticket"`
	Longitude flexText `json:"longitude"`
	Latitude  flexText `json:"latitude"`
	// vfid and tovfid name the media of voice and image pushes; the
	// names come from a wiki diff and one third-party consumer
	// (docs/protocols.md B.1, [INF-weak]).
	VFID   flexText `json:"vfid"`
	ToVFID flexText `json:"tovfid"`
}

// uid is a Weibo user id: an int64 that arrives as a JSON number and, in
// some look-alike platforms and SDKs, as a string of digits. Both are
// accepted; a float, a negative or an overflowing number is refused.
type uid int64

func (u *uid) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("not a user id: %.32q", s)
	}
	*u = uid(n)
	return nil
}

// flexText is a data field the wiki lists as a string that some senders
// give as a number (coordinates, file ids, scene keys).
type flexText string

func (f *flexText) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexText(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number: %w", err)
	}
	*f = flexText(n.String())
	return nil
}

// decodeData reads a push's data. The wiki's field tables call data a
// "string" while every example shows a JSON object, and the platform was
// never documented more precisely (docs/protocols.md B.1 [INF]), so both are
// accepted: an object, or a string holding an object. Absent, null, an
// empty string and an empty object all mean no data.
func decodeData(raw json.RawMessage) (pushData, json.RawMessage, error) {
	var d pushData
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return d, nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return d, nil, fmt.Errorf("data: %w", err)
		}
		raw = bytes.TrimSpace([]byte(s))
		if len(raw) == 0 || string(raw) == "null" {
			return d, nil, nil
		}
	}
	if raw[0] != '{' {
		return d, nil, errors.New("data: want a JSON object or a string holding one")
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, nil, fmt.Errorf("data: %w", err)
	}
	return d, raw, nil
}

// maxClockSkew is how far a push's created_at may be from the time it
// arrived and still be believed as the message's time.
const maxClockSkew = 24 * time.Hour

// ToMessage turns a push body into an envelope for account, or nil for a
// platform event, which is not stored (see classifyPush). It is pure, so
// testdata/ golden files pin its behaviour. A type it does not know
// becomes KindRaw with the type and data in Meta: the wiki says to ignore
// them, hotline keeps them instead of dropping them.
func ToMessage(body []byte, account, id string, now time.Time) (*envelope.Message, error) {
	m, _, err := toMessage(body, account, id, now)
	return m, err
}

func toMessage(body []byte, account, id string, now time.Time) (*envelope.Message, decision, error) {
	var p push
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, decision{}, fmt.Errorf("weibo: push: %w", err)
	}
	if p.SenderID <= 0 {
		return nil, decision{}, errors.New("weibo: push: sender_id is missing")
	}
	if p.ReceiverID <= 0 {
		return nil, decision{}, errors.New("weibo: push: receiver_id is missing")
	}
	if p.Type == "" {
		return nil, decision{}, errors.New("weibo: push: type is missing")
	}
	created, err := time.Parse(CreatedAtLayout, p.CreatedAt)
	if err != nil {
		return nil, decision{}, fmt.Errorf("weibo: push: created_at %.40q is not %q", p.CreatedAt, CreatedAtLayout)
	}
	data, rawData, err := decodeData(p.Data)
	if err != nil {
		// Only the types that read data need it to be well formed.
		switch p.Type {
		case "position", "voice", "image", "event":
			return nil, decision{}, fmt.Errorf("weibo: push: %w", err)
		}
		rawData = nil
	}
	d := classifyPush(p.Type, data.Subtype)
	if !d.handling.Stored() {
		return nil, d, nil
	}
	sender := strconv.FormatInt(int64(p.SenderID), 10)
	m := &envelope.Message{
		ID:            id,
		Platform:      envelope.PlatformWeibo,
		Account:       account,
		PlatformMsgID: dedupID(sender, created, p.Type, p.Text, rawData),
		Conversation:  envelope.ConversationKey(envelope.PlatformWeibo, account, sender),
		From:          envelope.Party{ID: sender},
		To:            envelope.Party{ID: strconv.FormatInt(int64(p.ReceiverID), 10)},
		Text:          p.Text,
		ReceivedAt:    now,
		Meta:          map[string]string{"created_at": created.UTC().Format(time.RFC3339)},
	}
	if created.Sub(now).Abs() > maxClockSkew {
		// A clock years off (or a look-alike sending another epoch):
		// dated at arrival, what was sent kept.
		m.Meta["created_at"] = now.UTC().Format(time.RFC3339)
		m.Meta["create_time"] = p.CreatedAt
	}
	raw := func(why string) {
		m.Kind = envelope.KindRaw
		m.Meta["type"] = p.Type
		m.Meta["raw_reason"] = why
		if len(rawData) > 0 && len(rawData) <= maxRawData {
			var buf bytes.Buffer
			if json.Compact(&buf, rawData) == nil {
				m.Meta["data"] = buf.String()
			}
		}
	}
	switch p.Type {
	case "text":
		m.Kind = envelope.KindText
	case "position":
		loc, err := location(data)
		if err != nil {
			return nil, d, fmt.Errorf("weibo: push: %w", err)
		}
		// The text is the place's name or the default "发送了一个位置"
		// (sent a location): a label, not something to answer.
		loc.Label, m.Text = p.Text, ""
		m.Kind, m.Location = envelope.KindLocation, loc
	case "voice", "image":
		kind := envelope.KindVoice
		if p.Type == "image" {
			kind = envelope.KindImage
		}
		if data.VFID == "" {
			raw("no data.vfid")
			break
		}
		m.Kind = kind
		m.Media = []envelope.Media{{Kind: kind, PlatformID: string(data.VFID)}}
		if data.ToVFID != "" {
			m.Meta["tovfid"] = string(data.ToVFID)
		}
	case "event":
		m.Meta["subtype"] = data.Subtype
		m.Kind = envelope.KindEvent
		m.Event = &envelope.Event{Name: d.event}
		switch data.Subtype {
		case "click", "view", "scan", "scan_follow":
			m.Event.Key = string(data.Key)
		}
		if data.Subtype == "scan" || data.Subtype == "scan_follow" {
			if data.Key != "" {
				m.Meta["scene"] = string(data.Key)
			}
		}
		if data.Ticket != "" {
			m.Meta["ticket"] = string(data.Ticket)
		}
	default:
		raw("unknown type")
	}
	if err := m.Validate(); err != nil {
		return nil, d, fmt.Errorf("weibo: %w", err)
	}
	return m, d, nil
}

// location parses a position push's coordinates, which the wiki gives as
// strings.
func location(d pushData) (*envelope.Location, error) {
	lat, err1 := strconv.ParseFloat(string(d.Latitude), 64)
	lon, err2 := strconv.ParseFloat(string(d.Longitude), 64)
	if err1 != nil || err2 != nil || math.IsNaN(lat) || math.IsNaN(lon) ||
		lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return nil, fmt.Errorf("position: latitude %.32q, longitude %.32q are not coordinates", d.Latitude, d.Longitude)
	}
	return &envelope.Location{Lat: lat, Lon: lon}, nil
}

// dedupID identifies a push across Weibo's retries. Weibo sends no message
// id, and created_at has one-second resolution, so sender and time alone
// would merge two different messages sent in the same second (a text and
// a photo, two quick texts): the type and a hash of the content tell them
// apart, while a retry, byte for byte the same push, keeps the same id.
func dedupID(sender string, created time.Time, typ, text string, data []byte) string {
	h := sha1.New()
	h.Write([]byte(typ + "\x00" + text + "\x00"))
	h.Write(data)
	return sender + "-" + strconv.FormatInt(created.Unix(), 10) + "-" + typ + "-" + hex.EncodeToString(h.Sum(nil))[:12]
}
