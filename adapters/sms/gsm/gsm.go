// Package gsm counts and splits SMS text the way the network carries it:
// in the GSM 7-bit default alphabet when every character fits, otherwise in
// UCS-2 (3GPP TS 23.038), and in parts of 160/153 septets or 70/67 UTF-16
// units (3GPP TS 23.040). Both the HTTP provider adapters (to predict
// segments and cost) and the GSM-modem adapter (to build the parts it
// sends) use it. ToSeptets and FromSeptets convert text to and from the
// septet values the modem's PDU codec packs, so the alphabet tables have
// one source of truth.
//
// Every function is pure, safe for concurrent use, and total: any string,
// including invalid UTF-8, gives an answer and never a panic. An invalid
// byte counts as one U+FFFD, as ranging over the string yields it, so text
// containing one is UCS-2.
package gsm

import (
	"strconv"
	"unicode/utf8"
)

// Encoding is the alphabet a message is sent in, as selected by the TP-DCS
// octet (3GPP TS 23.038 §4).
type Encoding int

const (
	// GSM7 is the GSM 7-bit default alphabet with its extension table:
	// 160 septets fit one SMS.
	GSM7 Encoding = iota
	// UCS2 is UTF-16BE in practice (phones send surrogate pairs for emoji):
	// 70 UTF-16 code units fit one SMS.
	UCS2
)

// String returns "gsm7" or "ucs2", the names used in logs and config.
func (e Encoding) String() string {
	switch e {
	case GSM7:
		return "gsm7"
	case UCS2:
		return "ucs2"
	}
	return "Encoding(" + strconv.Itoa(int(e)) + ")"
}

// Segment limits from 3GPP TS 23.040 §9.2.3.16 and §9.2.3.24.1: the user
// data of one SMS is 140 octets (160 septets, or 70 UCS-2 units); in a
// concatenated message each part carries the 6-octet UDH of IEI 0x00 (8-bit
// reference), which with its fill bit takes 7 septets, leaving 153 septets,
// or 3 UCS-2 units, leaving 67. The 16-bit reference (IEI 0x08) would leave
// 152/66; this package counts with the 8-bit one, the common choice
// (SMS providers also bill 153/67 per segment).
const (
	gsm7Single = 160
	gsm7Multi  = 153
	ucs2Single = 70
	ucs2Multi  = 67
)

// limits returns the single-part and per-part capacity of enc; any value
// other than GSM7 is treated as UCS2.
func limits(enc Encoding) (single, multi int) {
	if enc == GSM7 {
		return gsm7Single, gsm7Multi
	}
	return ucs2Single, ucs2Multi
}

// Septets reports how many septets r takes in the GSM 7-bit default
// alphabet: 1 for a character of the default table, 2 for one of the
// extension table (ESC 0x1B followed by its code, 3GPP TS 23.038 §6.2.1.1),
// and ok=false when r is in neither and the text must be sent as UCS-2.
func Septets(r rune) (n int, ok bool) {
	if r >= 0 && int(r) < len(septetCost) {
		n := int(septetCost[r])
		return n, n != 0
	}
	if r == euro {
		return 2, true
	}
	return 0, false
}

// Choose returns GSM7 when every rune of text is in the default alphabet or
// its extension table, and UCS2 otherwise. There is no lossy substitution
// (a small 'ç' is not folded into 'Ç'): a message is sent as written or in
// UCS-2. The empty text is GSM7.
func Choose(text string) Encoding {
	for _, r := range text {
		if _, ok := Septets(r); !ok {
			return UCS2
		}
	}
	return GSM7
}

// Units returns the length of text in enc's units: septets for GSM7 (an
// extension character counts two) and UTF-16 code units for UCS2 (a rune
// outside the Basic Multilingual Plane is a surrogate pair and counts two).
// Under GSM7 a rune that has no GSM-7 form counts one septet, as an encoder
// that substitutes one character for it would send. Any Encoding other than
// GSM7 counts as UCS2.
func Units(text string, enc Encoding) int {
	n := 0
	for _, r := range text {
		n += cost(r, enc)
	}
	return n
}

// cost is what one rune takes under enc, following the rules of Units.
func cost(r rune, enc Encoding) int {
	if enc == GSM7 {
		if n, ok := Septets(r); ok {
			return n
		}
		return 1
	}
	if r >= 0x10000 && r <= utf8.MaxRune {
		return 2
	}
	return 1
}

// Info describes how a text is sent as SMS.
type Info struct {
	// Encoding is the alphabet the whole text is sent in.
	Encoding Encoding
	// Units is the length of the text in septets (GSM7) or UTF-16 code
	// units (UCS2).
	Units int
	// Segments is the number of SMS the text is sent as, which is also
	// len(Split(text)). It is at least 1: an empty text is one empty SMS.
	Segments int
	// PerSegment is the capacity of each part in Units: 160 or 70 when the
	// text fits one SMS, 153 or 67 when it is concatenated.
	PerSegment int
}

// Analyze returns the encoding, length and number of SMS parts of text.
//
// Segments is not simply Units divided by the per-part capacity: an
// extension character (ESC + code) and a surrogate pair may not be cut
// across parts, because each part is a short message the handset decodes
// on its own before reassembly (3GPP TS 23.040 §9.2.3.24.1), so a part may
// end one unit short. For example 153 '€' are
// 306 septets but need three parts of at most 76 '€' each. Segments is the
// fewest parts possible under that rule, which is what Split produces.
func Analyze(text string) Info {
	septets, utf16, gsmOK := 0, 0, true
	for _, r := range text {
		if n, ok := Septets(r); ok {
			septets += n
		} else {
			gsmOK = false
		}
		utf16 += cost(r, UCS2)
	}
	info := Info{Encoding: GSM7, Units: septets}
	if !gsmOK {
		info = Info{Encoding: UCS2, Units: utf16}
	}
	single, multi := limits(info.Encoding)
	if info.Units <= single {
		info.Segments, info.PerSegment = 1, single
		return info
	}
	info.Segments, info.PerSegment = 1, multi
	used := 0
	for _, r := range text {
		c := cost(r, info.Encoding)
		if used+c > multi {
			info.Segments++
			used = 0
		}
		used += c
	}
	return info
}
