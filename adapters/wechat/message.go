package wechat

import (
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"hotline/envelope"
)

// push is the union of every field of a plaintext push
// (PROTOCOLS.md A.3; the field map of silenceper/wechat's MixMessage).
// Encrypt is the only field of a safe-mode body besides ToUserName.
type push struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   string   `xml:"ToUserName"`
	FromUserName string   `xml:"FromUserName"`
	CreateTime   string   `xml:"CreateTime"`
	MsgType      string   `xml:"MsgType"`
	MsgID        string   `xml:"MsgId"`
	Content      string   `xml:"Content"`
	PicURL       string   `xml:"PicUrl"`
	MediaID      string   `xml:"MediaId"`
	Format       string   `xml:"Format"`
	Recognition  string   `xml:"Recognition"`
	ThumbMediaID string   `xml:"ThumbMediaId"`
	LocationX    string   `xml:"Location_X"`
	LocationY    string   `xml:"Location_Y"`
	Scale        string   `xml:"Scale"`
	Label        string   `xml:"Label"`
	Title        string   `xml:"Title"`
	Description  string   `xml:"Description"`
	URL          string   `xml:"Url"`
	Event        string   `xml:"Event"`
	EventKey     string   `xml:"EventKey"`
	Ticket       string   `xml:"Ticket"`
	Latitude     string   `xml:"Latitude"`
	Longitude    string   `xml:"Longitude"`
	Precision    string   `xml:"Precision"`
	MenuID       string   `xml:"MenuId"`
	Encrypt      string   `xml:"Encrypt"`
}

func parsePush(body []byte) (*push, error) {
	var p push
	if err := xml.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("wechat: push: %w", err)
	}
	return &p, nil
}

// eventNames maps WeChat's event names to hotline's.
var eventNames = map[string]string{
	"subscribe":   envelope.EventSubscribe,
	"unsubscribe": envelope.EventUnsubscribe,
	"SCAN":        envelope.EventScan,
	"CLICK":       envelope.EventMenu,
	"VIEW":        envelope.EventView,
	"LOCATION":    envelope.EventLocation,
}

// ToMessage turns a plaintext push (safe-mode pushes decrypted first)
// into an envelope for account. It is pure, so testdata/ golden files pin
// its behaviour. Message types and events it does not know become
// KindRaw with the type in Meta instead of being dropped.
func ToMessage(body []byte, account, id string, now time.Time) (*envelope.Message, error) {
	p, err := parsePush(body)
	if err != nil {
		return nil, err
	}
	return p.toMessage(account, id, now)
}

func (p *push) toMessage(account, id string, now time.Time) (*envelope.Message, error) {
	if p.FromUserName == "" || strings.ContainsAny(p.FromUserName, "\r\n") {
		return nil, errors.New("wechat: push: FromUserName is missing or malformed")
	}
	if p.MsgType == "" {
		return nil, errors.New("wechat: push: MsgType is missing")
	}
	created, err := strconv.ParseInt(strings.TrimSpace(p.CreateTime), 10, 64)
	if err != nil || created <= 0 {
		return nil, fmt.Errorf("wechat: push: CreateTime %.32q is not a Unix time", p.CreateTime)
	}
	m := &envelope.Message{
		ID:           id,
		Platform:     envelope.PlatformWeChat,
		Account:      account,
		Conversation: envelope.ConversationKey(envelope.PlatformWeChat, account, p.FromUserName),
		From:         envelope.Party{ID: p.FromUserName},
		To:           envelope.Party{ID: p.ToUserName},
		ReceivedAt:   now,
		Meta:         map[string]string{"created_at": time.Unix(created, 0).UTC().Format(time.RFC3339)},
	}
	// Messages carry a 64-bit MsgId; events have none, and WeChat's
	// advice is FromUserName+CreateTime, to which the event name is added
	// so two events in one second stay apart (PROTOCOLS.md A.4, F).
	switch {
	case p.MsgID != "":
		if _, err := strconv.ParseUint(strings.TrimSpace(p.MsgID), 10, 64); err != nil {
			return nil, fmt.Errorf("wechat: push: MsgId %.32q is not a 64-bit number", p.MsgID)
		}
		m.PlatformMsgID = strings.TrimSpace(p.MsgID)
	case p.MsgType == "event":
		m.PlatformMsgID = p.FromUserName + "-" + strconv.FormatInt(created, 10) + "-" + p.Event
	default:
		m.PlatformMsgID = p.FromUserName + "-" + strconv.FormatInt(created, 10) + "-" + p.MsgType
	}
	raw := func(why string) {
		m.Kind = envelope.KindRaw
		m.Meta["msg_type"] = p.MsgType
		if p.Event != "" {
			m.Meta["event"] = p.Event
		}
		m.Meta["raw_reason"] = why
	}
	switch p.MsgType {
	case "text":
		m.Kind, m.Text = envelope.KindText, p.Content
	case "image":
		m.Kind = envelope.KindImage
		m.Media = []envelope.Media{{Kind: envelope.KindImage, URL: p.PicURL, PlatformID: p.MediaID}}
	case "voice":
		// With voice recognition on, WeChat sends the transcript: the
		// router can answer it like a text.
		m.Kind, m.Text = envelope.KindVoice, p.Recognition
		m.Media = []envelope.Media{{Kind: envelope.KindVoice, PlatformID: p.MediaID}}
		if p.Format != "" {
			m.Meta["format"] = p.Format
		}
	case "video", "shortvideo":
		m.Kind = envelope.KindVideo
		m.Media = []envelope.Media{{Kind: envelope.KindVideo, PlatformID: p.MediaID}}
		m.Meta["msg_type"] = p.MsgType
		if p.ThumbMediaID != "" {
			m.Meta["thumb_media_id"] = p.ThumbMediaID
		}
	case "location":
		loc, err := point(p.LocationX, p.LocationY)
		if err != nil {
			return nil, err
		}
		loc.Label = p.Label
		m.Kind, m.Location = envelope.KindLocation, loc
		if p.Scale != "" {
			m.Meta["scale"] = p.Scale
		}
	case "link":
		m.Kind = envelope.KindLink
		m.Media = []envelope.Media{{Kind: envelope.KindLink, URL: p.URL, Caption: p.Title}}
		if p.Description != "" {
			m.Meta["description"] = p.Description
		}
	case "event":
		name, known := eventNames[p.Event]
		if !known {
			raw("unknown event")
			break
		}
		m.Kind = envelope.KindEvent
		m.Event = &envelope.Event{Name: name}
		switch p.Event {
		case "subscribe":
			// A follow through a parametric QR code carries qrscene_<scene>.
			if scene, ok := strings.CutPrefix(p.EventKey, "qrscene_"); ok {
				m.Event.Key = scene
				m.Meta["scene"] = scene
			}
		case "SCAN":
			m.Event.Key = p.EventKey
			m.Meta["scene"] = p.EventKey
		case "CLICK":
			m.Event.Key = p.EventKey
		case "VIEW":
			m.Event.Key = p.EventKey
			if p.MenuID != "" {
				m.Meta["menu_id"] = p.MenuID
			}
		case "LOCATION":
			loc, err := point(p.Latitude, p.Longitude)
			if err != nil {
				return nil, err
			}
			m.Location = loc
			if p.Precision != "" {
				m.Meta["precision"] = p.Precision
			}
		}
		if p.Ticket != "" {
			m.Meta["ticket"] = p.Ticket
		}
	default:
		raw("unknown msg_type")
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("wechat: %w", err)
	}
	return m, nil
}

// point parses a latitude and a longitude.
func point(lat, lon string) (*envelope.Location, error) {
	la, err1 := strconv.ParseFloat(strings.TrimSpace(lat), 64)
	lo, err2 := strconv.ParseFloat(strings.TrimSpace(lon), 64)
	if err1 != nil || err2 != nil || math.IsNaN(la) || math.IsNaN(lo) || la < -90 || la > 90 || lo < -180 || lo > 180 {
		return nil, fmt.Errorf("wechat: push: %.32q, %.32q are not coordinates", lat, lon)
	}
	return &envelope.Location{Lat: la, Lon: lo}, nil
}
