package wechat

import (
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"hotline/adapters/webhook"
	"hotline/envelope"
)

// push is the union of every field of a plaintext push
// (docs/protocols.md A.3; the field map of silenceper/wechat's MixMessage).
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
	// file messages
	FileKey      string `xml:"FileKey"`
	FileMd5      string `xml:"FileMd5"`
	FileTotalLen string `xml:"FileTotalLen"`
	// custom-menu picks: what was scanned, how many photos, which place
	ScanCodeInfo struct {
		ScanType   string `xml:"ScanType"`
		ScanResult string `xml:"ScanResult"`
	} `xml:"ScanCodeInfo"`
	SendPicsInfo struct {
		Count string `xml:"Count"`
	} `xml:"SendPicsInfo"`
	SendLocationInfo struct {
		LocationX string `xml:"Location_X"`
		LocationY string `xml:"Location_Y"`
		Scale     string `xml:"Scale"`
		Label     string `xml:"Label"`
		Poiname   string `xml:"Poiname"`
	} `xml:"SendLocationInfo"`
	Encrypt string `xml:"Encrypt"`
}

func parsePush(body []byte) (*push, error) {
	var p push
	if err := xml.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("wechat: push: %w", err)
	}
	return &p, nil
}

// ToMessage turns a plaintext push (safe-mode pushes decrypted first)
// into an envelope for account, or nil for a platform event, which is
// not stored (see classifyPush). It is pure, so testdata/ golden files pin
// its behaviour. A message type it does not know becomes KindRaw with
// the type in Meta instead of being dropped.
func ToMessage(body []byte, account, id string, now time.Time) (*envelope.Message, error) {
	p, err := parsePush(body)
	if err != nil {
		return nil, err
	}
	m, _, err := p.toMessage(account, id, now)
	return m, err
}

// maxClockSkew is how far a push's CreateTime may be from the time it
// arrived and still be believed. WeChat sends seconds; a value in
// milliseconds, or a clock years off, would otherwise date a message in
// the year 50098.
const maxClockSkew = 24 * time.Hour

func (p *push) toMessage(account, id string, now time.Time) (*envelope.Message, decision, error) {
	if p.FromUserName == "" || strings.ContainsAny(p.FromUserName, "\r\n") {
		return nil, decision{}, errors.New("wechat: push: FromUserName is missing or malformed")
	}
	if p.MsgType == "" {
		return nil, decision{}, errors.New("wechat: push: MsgType is missing")
	}
	created, err := strconv.ParseInt(strings.TrimSpace(p.CreateTime), 10, 64)
	if err != nil || created <= 0 {
		return nil, decision{}, fmt.Errorf("wechat: push: CreateTime %.32q is not a Unix time", p.CreateTime)
	}
	d := classifyPush(p)
	if !d.handling.Stored() {
		return nil, d, nil
	}
	m := &envelope.Message{
		ID:           id,
		Platform:     envelope.PlatformWeChat,
		Account:      account,
		Conversation: envelope.ConversationKey(envelope.PlatformWeChat, account, p.FromUserName),
		From:         envelope.Party{ID: p.FromUserName},
		To:           envelope.Party{ID: p.ToUserName},
		ReceivedAt:   now,
		Meta:         map[string]string{},
	}
	if at := time.Unix(min(created, 1<<40), 0); at.Sub(now).Abs() <= maxClockSkew {
		m.Meta["created_at"] = at.UTC().Format(time.RFC3339)
	} else {
		m.Meta["created_at"] = now.UTC().Format(time.RFC3339)
		m.Meta["create_time"] = strings.TrimSpace(p.CreateTime)
	}
	// Messages carry a 64-bit MsgId; events have none, and WeChat's
	// advice is FromUserName+CreateTime, to which the event name is added
	// so two events in one second stay apart (docs/protocols.md A.4, F).
	switch {
	case p.MsgID != "":
		if _, err := strconv.ParseUint(strings.TrimSpace(p.MsgID), 10, 64); err != nil {
			return nil, d, fmt.Errorf("wechat: push: MsgId %.32q is not a 64-bit number", p.MsgID)
		}
		m.PlatformMsgID = strings.TrimSpace(p.MsgID)
	case p.MsgType == "event":
		m.PlatformMsgID = p.FromUserName + "-" + strconv.FormatInt(created, 10) + "-" + p.Event
	default:
		m.PlatformMsgID = p.FromUserName + "-" + strconv.FormatInt(created, 10) + "-" + p.MsgType
	}
	if d.handling == webhook.HandleUserEvent {
		if err := p.event(m, d); err != nil {
			return nil, d, err
		}
	} else if err := p.message(m); err != nil {
		return nil, d, err
	}
	if err := m.Validate(); err != nil {
		return nil, d, fmt.Errorf("wechat: %w", err)
	}
	return m, d, nil
}

// message fills m from what a user sent.
func (p *push) message(m *envelope.Message) error {
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
			return err
		}
		loc.Label = p.Label
		m.Kind, m.Location = envelope.KindLocation, loc
		if p.Scale != "" {
			m.Meta["scale"] = p.Scale
		}
	case "link":
		m.Kind = envelope.KindLink
		m.Link = &envelope.Link{URL: p.URL, Title: p.Title, Description: p.Description}
		if p.Description != "" {
			m.Meta["description"] = p.Description
		}
	case "file":
		// A file sent from WeChat on a computer: FileKey names it, the
		// Title is the file's name.
		m.Kind = envelope.KindFile
		md := envelope.Media{Kind: envelope.KindFile, PlatformID: p.FileKey, FileName: p.Title}
		if n, err := strconv.ParseInt(strings.TrimSpace(p.FileTotalLen), 10, 64); err == nil && n > 0 {
			md.Size = n
		}
		m.Media = []envelope.Media{md}
		if p.FileMd5 != "" {
			m.Meta["file_md5"] = p.FileMd5
		}
		if p.Description != "" {
			m.Meta["description"] = p.Description
		}
	default:
		m.Kind = envelope.KindRaw
		m.Meta["msg_type"] = p.MsgType
		m.Meta["raw_reason"] = "unknown msg_type"
	}
	return nil
}

// event fills m from a user event classifyPush named.
func (p *push) event(m *envelope.Message, d decision) error {
	m.Kind = envelope.KindEvent
	m.Event = &envelope.Event{Name: d.event}
	switch p.Event {
	case "subscribe":
		// A follow through a parametric QR code carries qrscene_<scene>.
		if scene, ok := strings.CutPrefix(p.EventKey, "qrscene_"); ok {
			m.Event.Key = scene
			m.Meta["scene"] = scene
		}
	case "unsubscribe":
	case "SCAN":
		m.Event.Key = p.EventKey
		m.Meta["scene"] = p.EventKey
	case "CLICK":
		m.Event.Key = p.EventKey
	case "VIEW", "view_miniprogram":
		m.Event.Key = p.EventKey
		if p.MenuID != "" {
			m.Meta["menu_id"] = p.MenuID
		}
		if p.Event != "VIEW" {
			m.Meta["event"] = p.Event
		}
	case "LOCATION":
		loc, err := point(p.Latitude, p.Longitude)
		if err != nil {
			return err
		}
		m.Location = loc
		if p.Precision != "" {
			m.Meta["precision"] = p.Precision
		}
	default:
		// The custom-menu picks: the key says which button.
		m.Event.Key = p.EventKey
		m.Meta["event"] = p.Event
		if s := p.ScanCodeInfo; s.ScanResult != "" {
			m.Meta["scan_type"] = s.ScanType
			m.Meta["scan_result"] = s.ScanResult
		}
		if c := p.SendPicsInfo.Count; c != "" {
			m.Meta["pic_count"] = c
		}
		if l := p.SendLocationInfo; l.LocationX != "" || l.LocationY != "" {
			loc, err := point(l.LocationX, l.LocationY)
			if err != nil {
				return err
			}
			loc.Label = l.Label
			if l.Poiname != "" {
				loc.Label = l.Poiname
				loc.Address = l.Label
			}
			m.Location = loc
		}
	}
	if p.Ticket != "" {
		m.Meta["ticket"] = p.Ticket
	}
	return nil
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
