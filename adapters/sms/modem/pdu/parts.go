package pdu

import (
	"fmt"
	"time"

	"hotline/adapters/sms/gsm"
)

// SubmitOptions are the per-message choices of SubmitParts.
type SubmitOptions struct {
	SMSC             Address // zero: the modem's stored SMSC
	StatusReport     bool    // ask for a STATUS-REPORT for every part
	ValidityRelative byte    // see Submit.ValidityRelative; 0 = network default
}

// maxParts is the most parts a concatenation element can number.
const maxParts = 255

// SubmitParts turns text into the SMS-SUBMITs that carry it, cut by
// gsm.Split in the encoding gsm.Analyze chooses for the whole text, so the
// part count is the one the HTTP adapters predict and bill. One part goes
// without a header; several carry the 8-bit-reference concatenation
// element (23.040 §9.2.3.24.1) with reference ref&0xFF, the same in every
// part, and Seq 1..n; the caller picks ref, different for each message to
// the same recipient. Under UCS-2 an invalid UTF-8 byte is sent as
// U+FFFD. More than 255 parts is an error.
func SubmitParts(to Address, text string, ref uint16, opts SubmitOptions) ([]Submit, error) {
	if to.Number == "" {
		return nil, fmt.Errorf("pdu: destination address: %w: empty", ErrInvalid)
	}
	parts, err := split(text, ref)
	if err != nil {
		return nil, err
	}
	out := make([]Submit, len(parts))
	for i, p := range parts {
		out[i] = Submit{SMSC: opts.SMSC, To: to, DCS: p.dcs, Alphabet: p.alphabet, ValidityRelative: opts.ValidityRelative,
			StatusReport: opts.StatusReport, Body: p.body, Text: p.text, Concat: p.concat}
	}
	return out, nil
}

// DeliverParts is SubmitParts for the other direction: the SMS-DELIVERs a
// network hands a modem when from sends text, stamped at (whole seconds,
// in a zone of whole quarter hours, as a service centre time stamp
// carries it). It is for the modem simulator and tests.
func DeliverParts(smsc, from Address, text string, ref uint16, at time.Time) ([]Deliver, error) {
	parts, err := split(text, ref)
	if err != nil {
		return nil, err
	}
	out := make([]Deliver, len(parts))
	for i, p := range parts {
		out[i] = Deliver{SMSC: smsc, From: from, DCS: p.dcs, Alphabet: p.alphabet, Class: -1, Time: at,
			Body: p.body, Text: p.text, Concat: p.concat}
	}
	return out, nil
}

// part is one SMS of a text, coded.
type part struct {
	alphabet Alphabet
	dcs      byte
	body     []byte
	text     string
	concat   *Concat
}

// split cuts text as SubmitParts describes.
func split(text string, ref uint16) ([]part, error) {
	texts := gsm.Split(text)
	if len(texts) > maxParts {
		return nil, fmt.Errorf("pdu: user data: %w: text needs %d parts, more than %d", ErrInvalid, len(texts), maxParts)
	}
	a, dcs := GSM7, byte(0x00)
	if gsm.Analyze(text).Encoding == gsm.UCS2 {
		a, dcs = UCS2, 0x08
	}
	out := make([]part, len(texts))
	for i, t := range texts {
		body, err := encodeText(a, t)
		if err != nil {
			return nil, fmt.Errorf("pdu: part %d: %w", i+1, err)
		}
		// What is sent: U+FFFD for an invalid byte.
		out[i] = part{alphabet: a, dcs: dcs, body: body, text: string([]rune(t))}
		if len(texts) > 1 {
			out[i].concat = &Concat{Ref: ref & 0xFF, Total: byte(len(texts)), Seq: byte(i + 1)}
		}
	}
	return out, nil
}
