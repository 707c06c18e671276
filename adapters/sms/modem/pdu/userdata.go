package pdu

import (
	"bytes"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"

	"hotline/adapters/sms/gsm"
)

// User data limits (23.040 §9.2.3.16 and §9.2.3.24): 140 octets, which is
// 160 septets of packed GSM-7.
const (
	maxUDOctets  = 140
	maxUDSeptets = 160
)

// Concatenation information elements (23.040 §9.2.3.24.1 and .24.8).
const (
	ieiConcat8  = 0x00
	ieiConcat16 = 0x08
)

// userData is the decoded TP-UD of a DELIVER or SUBMIT.
type userData struct {
	concat   *Concat
	elements []IE
	body     []byte
	text     string
}

// decodeUserData reads TP-UD, going by udl (septets for GSM-7, octets
// otherwise), never by len(ud): octets past what udl covers are ignored.
func decodeUserData(ud []byte, udl int, udhi bool, a Alphabet) (userData, error) {
	need := udl
	if a == GSM7 {
		need = (udl*7 + 7) / 8
	}
	if len(ud) < need {
		return userData{}, fmt.Errorf("user data: %w: UDL %d needs %d octets, %d left", ErrTruncated, udl, need, len(ud))
	}
	ud = ud[:need]
	var u userData
	bodyStart := 0 // in septets for GSM-7, octets otherwise
	if udhi {
		var err error
		if u.concat, u.elements, bodyStart, err = readHeader(ud, udl, a); err != nil {
			return userData{}, err
		}
	}
	switch a {
	case GSM7:
		u.body = unpackSeptets(ud, udl)[bodyStart:]
		u.text = gsm.FromSeptets(u.body)
	case UCS2:
		u.body = bytes.Clone(ud[bodyStart:])
		u.text = decodeUCS2(u.body)
	default:
		u.body = bytes.Clone(ud[bodyStart:])
	}
	return u, nil
}

// readHeader parses the UDH at the start of ud and returns where the body
// starts: in septets for GSM-7 (header and fill bits), octets otherwise.
func readHeader(ud []byte, udl int, a Alphabet) (*Concat, []IE, int, error) {
	if len(ud) == 0 {
		return nil, nil, 0, fmt.Errorf("user data: %w: header indicated but UDL is 0", ErrInvalid)
	}
	hdrOctets := 1 + int(ud[0])
	if hdrOctets > len(ud) {
		return nil, nil, 0, fmt.Errorf("udh: %w: UDHL %d runs past the %d octets of user data", ErrInvalid, ud[0], len(ud))
	}
	concat, elements, err := parseUDH(ud[1:hdrOctets])
	if err != nil {
		return nil, nil, 0, err
	}
	if a != GSM7 {
		return concat, elements, hdrOctets, nil
	}
	start := headerSeptets(hdrOctets)
	if start > udl {
		return nil, nil, 0, fmt.Errorf("udh: %w: UDHL %d takes %d septets but UDL is %d", ErrInvalid, ud[0], start, udl)
	}
	return concat, elements, start, nil
}

// headerSeptets is how many septets a UDH of hdrOctets (UDHL included)
// takes in GSM-7 user data: the header plus the fill bits that start the
// text on a septet boundary, fill = (7 - (8*hdrOctets)%7) % 7.
func headerSeptets(hdrOctets int) int { return (hdrOctets*8 + 6) / 7 }

// parseUDH reads the information elements of a header (UDHL excluded).
// A concatenation element that 23.040 §9.2.3.24.1 says to ignore (zero
// parts, a sequence number of zero or beyond the count, wrong length) is
// kept with the other elements but not read as Concat; when several valid
// ones appear the last counts, as §9.2.3.24 says for repeated elements.
func parseUDH(h []byte) (*Concat, []IE, error) {
	var concat *Concat
	var elements []IE
	for i := 0; i < len(h); {
		if len(h)-i < 2 {
			return nil, nil, fmt.Errorf("udh: %w: element at offset %d is cut off by the header end", ErrInvalid, i)
		}
		id, n := h[i], int(h[i+1])
		if i+2+n > len(h) {
			return nil, nil, fmt.Errorf("udh: %w: element 0x%02X of %d octets at offset %d runs past the header's %d", ErrInvalid, id, n, i, len(h))
		}
		data := h[i+2 : i+2+n]
		i += 2 + n
		if c, ok := readConcat(id, data); ok {
			concat = c
			continue
		}
		elements = append(elements, IE{ID: id, Data: bytes.Clone(data)})
	}
	return concat, elements, nil
}

func readConcat(id byte, data []byte) (*Concat, bool) {
	var c Concat
	switch {
	case id == ieiConcat8 && len(data) == 3:
		c = Concat{Ref: uint16(data[0]), Total: data[1], Seq: data[2]}
	case id == ieiConcat16 && len(data) == 4:
		c = Concat{Ref: uint16(data[0])<<8 | uint16(data[1]), Total: data[2], Seq: data[3], Wide: true}
	default:
		return nil, false
	}
	if c.Total == 0 || c.Seq == 0 || c.Seq > c.Total {
		return nil, false
	}
	return &c, true
}

// buildUDH returns UDHL and the elements, Concat first, or nil when
// there is nothing to send.
func buildUDH(c *Concat, elements []IE) ([]byte, error) {
	if c == nil && len(elements) == 0 {
		return nil, nil
	}
	h := []byte{0}
	if c != nil {
		if c.Total == 0 || c.Seq == 0 || c.Seq > c.Total {
			return nil, fmt.Errorf("udh: %w: concat part %d of %d", ErrInvalid, c.Seq, c.Total)
		}
		if c.Wide {
			h = append(h, ieiConcat16, 4, byte(c.Ref>>8), byte(c.Ref), c.Total, c.Seq)
		} else if c.Ref > 0xFF {
			return nil, fmt.Errorf("udh: %w: 8-bit concat reference %d > 255", ErrInvalid, c.Ref)
		} else {
			h = append(h, ieiConcat8, 3, byte(c.Ref), c.Total, c.Seq)
		}
	}
	for _, e := range elements {
		if len(e.Data) > maxUDOctets {
			return nil, fmt.Errorf("udh: %w: element 0x%02X has %d octets", ErrInvalid, e.ID, len(e.Data))
		}
		h = append(append(h, e.ID, byte(len(e.Data))), e.Data...)
	}
	if len(h) > maxUDOctets {
		return nil, fmt.Errorf("udh: %w: %d octets exceed %d", ErrInvalid, len(h), maxUDOctets)
	}
	h[0] = byte(len(h) - 1)
	return h, nil
}

// encodeUserData returns TP-UDL, TP-UD and whether TP-UDHI must be set.
// body is used when non-nil, else text is encoded in a.
func encodeUserData(a Alphabet, c *Concat, elements []IE, body []byte, text string) (udl int, ud []byte, udhi bool, err error) {
	if body == nil {
		if body, err = encodeText(a, text); err != nil {
			return 0, nil, false, err
		}
	}
	hdr, err := buildUDH(c, elements)
	if err != nil {
		return 0, nil, false, err
	}
	if a != GSM7 {
		if n := len(hdr) + len(body); n > maxUDOctets {
			return 0, nil, false, fmt.Errorf("user data: %w: %d octets exceed %d", ErrInvalid, n, maxUDOctets)
		}
		return len(hdr) + len(body), append(hdr, body...), hdr != nil, nil
	}
	for i, s := range body {
		if s > 0x7F {
			return 0, nil, false, fmt.Errorf("user data: %w: septet %d is 0x%02X, above 0x7F", ErrInvalid, i, s)
		}
	}
	start := 0
	if hdr != nil {
		start = headerSeptets(len(hdr))
	}
	if n := start + len(body); n > maxUDSeptets {
		return 0, nil, false, fmt.Errorf("user data: %w: %d septets exceed %d", ErrInvalid, n, maxUDSeptets)
	}
	return start + len(body), packSeptets(hdr, start, body), hdr != nil, nil
}

// encodeText turns text into Body for alphabet a. Data8 has no text form.
func encodeText(a Alphabet, text string) ([]byte, error) {
	switch a {
	case GSM7:
		s, err := gsm.ToSeptets(text)
		if err != nil {
			return nil, fmt.Errorf("user data: %w: %w", ErrInvalid, err)
		}
		return s, nil
	case UCS2:
		return encodeUCS2(text), nil
	case Data8:
		if text != "" {
			return nil, fmt.Errorf("user data: %w: 8-bit data is sent from Body, not Text", ErrInvalid)
		}
		return []byte{}, nil
	}
	return nil, fmt.Errorf("user data: %w: unknown %v", ErrInvalid, a)
}

// packSeptets packs septets LSB first (23.038 §6.1.2.1.1) after prefix,
// starting at septet position start, which leaves the fill bits between
// a header and the text zero.
func packSeptets(prefix []byte, start int, septets []byte) []byte {
	bits := (start + len(septets)) * 7
	out := make([]byte, (bits+7)/8)
	copy(out, prefix)
	for i, s := range septets {
		bit := (start + i) * 7
		idx, shift := bit/8, uint(bit%8)
		out[idx] |= s << shift
		if shift > 1 {
			out[idx+1] |= s >> (8 - shift)
		}
	}
	return out
}

// unpackSeptets reads n septets from packed, one per byte. Septets the
// data does not reach read as zero, so callers check lengths first.
func unpackSeptets(packed []byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		bit := i * 7
		idx, shift := bit/8, uint(bit%8)
		if idx >= len(packed) {
			break
		}
		v := packed[idx] >> shift
		if shift > 1 && idx+1 < len(packed) {
			v |= packed[idx+1] << (8 - shift)
		}
		out[i] = v & 0x7F
	}
	return out
}

// encodeUCS2 writes text as UTF-16BE. An invalid UTF-8 byte becomes
// U+FFFD, as ranging over the string yields it.
func encodeUCS2(text string) []byte {
	out := make([]byte, 0, 2*len(text))
	for _, r := range text {
		for _, u := range utf16.Encode([]rune{r}) {
			out = append(out, byte(u>>8), byte(u))
		}
	}
	return out
}

// decodeUCS2 reads UTF-16BE. A lone surrogate, as when another phone cut
// a pair across parts, and an odd trailing octet decode as U+FFFD;
// JoinText decodes the parts together to rebuild such pairs.
func decodeUCS2(b []byte) string {
	units := make([]uint16, len(b)/2)
	for i := range units {
		units[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	s := string(utf16.Decode(units))
	if len(b)%2 != 0 {
		s += string(utf8.RuneError)
	}
	return s
}

// JoinText decodes the Bodies of a concatenated message's parts, in order,
// as one text. Decoding them joined rebuilds what a sender's phone may
// have cut across parts: an escape pair of the GSM-7 extension table or a
// UTF-16 surrogate pair, which each part decoded alone shows as a space
// or U+FFFD. Data8 has no text and gives "".
func JoinText(a Alphabet, bodies ...[]byte) string {
	joined := bytes.Join(bodies, nil)
	switch a {
	case GSM7:
		return gsm.FromSeptets(joined)
	case UCS2:
		return decodeUCS2(joined)
	}
	return ""
}
