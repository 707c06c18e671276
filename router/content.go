package router

import (
	"fmt"
	"strconv"
	"strings"

	"hotline/envelope"
)

// userTurnText is what the session's history and the handoff an agent
// reads keep of a message: its words and everything else the user sent,
// written out — coordinates with a map link, a contact's phone, a link's
// address, each attachment with the reference the media endpoint and the
// platform know it by — never just "[location]".
func userTurnText(m *envelope.Message) string {
	var parts []string
	if m.Kind == envelope.KindEvent && m.Event != nil {
		parts = append(parts, strings.TrimSpace("["+m.Event.Name+" "+m.Event.Key+"]"))
	}
	if s := m.Meta["sticker"]; s != "" {
		parts = append(parts, "[sticker "+s+"]")
	} else {
		for _, md := range m.Media {
			parts = append(parts, describeMedia(md))
		}
	}
	if l := m.Location; l != nil {
		parts = append(parts, describeLocation(l))
	}
	if c := m.Contact; c != nil {
		parts = append(parts, strings.Join(nonEmpty("[contact", c.Name, c.Phone), " ")+"]")
	}
	if l := m.Link; l != nil {
		parts = append(parts, strings.Join(nonEmpty("[link", l.Title, l.URL), " ")+"]")
	}
	text := m.Text
	if l := m.Link; l != nil && text == l.URL {
		text = ""
	}
	for _, md := range m.Media {
		if md.Caption != "" && md.Caption == text {
			text = "" // the attachment already carries it
		}
	}
	if text != "" {
		parts = append(parts, text)
	}
	if len(parts) == 0 {
		return "[" + string(m.Kind) + "]"
	}
	return strings.Join(parts, " ")
}

func describeMedia(md envelope.Media) string {
	out := nonEmpty("["+string(md.Kind), md.FileName, md.MIME)
	if md.Size > 0 {
		out = append(out, humanSize(md.Size))
	}
	ref := md.URL
	if ref == "" && md.PlatformID != "" {
		ref = "id:" + md.PlatformID
	}
	out = append(out, ref)
	s := strings.Join(nonEmpty(out...), " ") + "]"
	if md.Caption != "" {
		s += " " + md.Caption
	}
	return s
}

func describeLocation(l *envelope.Location) string {
	lat := strconv.FormatFloat(l.Lat, 'f', -1, 64)
	lon := strconv.FormatFloat(l.Lon, 'f', -1, 64)
	out := nonEmpty("[location "+lat+","+lon, l.Label, l.Address)
	out = append(out, fmt.Sprintf("https://www.openstreetmap.org/?mlat=%s&mlon=%s#map=17/%s/%s", lat, lon, lat, lon))
	return strings.Join(out, " ") + "]"
}

func nonEmpty(s ...string) []string {
	out := s[:0:0]
	for _, v := range s {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
