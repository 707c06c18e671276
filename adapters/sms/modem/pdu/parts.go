package pdu

import (
	"fmt"

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
	parts := gsm.Split(text)
	if len(parts) > maxParts {
		return nil, fmt.Errorf("pdu: user data: %w: text needs %d parts, more than %d", ErrInvalid, len(parts), maxParts)
	}
	a, dcs := GSM7, byte(0x00)
	if gsm.Analyze(text).Encoding == gsm.UCS2 {
		a, dcs = UCS2, 0x08
	}
	out := make([]Submit, len(parts))
	for i, p := range parts {
		body, err := encodeText(a, p)
		if err != nil {
			return nil, fmt.Errorf("pdu: part %d: %w", i+1, err)
		}
		out[i] = Submit{
			SMSC:             opts.SMSC,
			To:               to,
			DCS:              dcs,
			Alphabet:         a,
			ValidityRelative: opts.ValidityRelative,
			StatusReport:     opts.StatusReport,
			Body:             body,
			Text:             string([]rune(p)), // what is sent: U+FFFD for an invalid byte
		}
		if len(parts) > 1 {
			out[i].Concat = &Concat{Ref: ref & 0xFF, Total: byte(len(parts)), Seq: byte(i + 1)}
		}
	}
	return out, nil
}
