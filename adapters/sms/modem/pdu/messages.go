package pdu

import (
	"fmt"
	"time"
)

// First-octet bits (23.040 §9.2.3). Bit 2 is TP-MMS in MT messages and
// TP-RD in a SUBMIT; bits 4-3 of a SUBMIT are TP-VPF.
const (
	foNoMoreMessages = 0x04
	foRejectDup      = 0x04
	foVPFMask        = 0x18
	foVPFRelative    = 0x10
	foVPFEnhanced    = 0x08
	foVPFAbsolute    = 0x18
	foStatusReport   = 0x20 // TP-SRI in a DELIVER, TP-SRR in a SUBMIT
	foUDHI           = 0x40
	foReplyPath      = 0x80
)

// DecodeDeliver reads an SMS-DELIVER frame (SMSC part + TPDU), as +CMT,
// or +CMGR and +CMGL of a received message, give it hex-encoded.
func DecodeDeliver(frame []byte) (Deliver, error) {
	d, err := decodeDeliver(frame)
	if err != nil {
		return Deliver{}, fmt.Errorf("pdu: %w", err)
	}
	return d, nil
}

func decodeDeliver(frame []byte) (Deliver, error) {
	var d Deliver
	r := reader{b: frame}
	var err error
	if d.SMSC, err = readSMSC(&r); err != nil {
		return d, err
	}
	fo, err := r.octet("first octet")
	if err != nil {
		return d, err
	}
	if mti := fo & 0x03; mti != mtiDeliver && mti != mtiReserved {
		return d, fmt.Errorf("first octet: %w: TP-MTI %02b is not SMS-DELIVER", ErrInvalid, mti)
	}
	if d.From, err = readAddress(&r, "originating address"); err != nil {
		return d, err
	}
	if d.PID, err = r.octet("protocol identifier"); err != nil {
		return d, err
	}
	if d.DCS, err = r.octet("data coding scheme"); err != nil {
		return d, err
	}
	d.Alphabet, d.Class = dcsInfo(d.DCS)
	if d.Time, err = readTime(&r, "service centre time stamp"); err != nil {
		return d, err
	}
	u, err := readUserData(&r, fo, d.Alphabet)
	if err != nil {
		return d, err
	}
	d.MoreMessages = fo&foNoMoreMessages == 0
	d.StatusReportIndication = fo&foStatusReport != 0
	d.ReplyPath = fo&foReplyPath != 0
	d.Concat, d.Elements, d.Body, d.Text = u.concat, u.elements, u.body, u.text
	return d, nil
}

// EncodeDeliver writes an SMS-DELIVER frame, for the modem simulator and
// tests. Class is not read: the DCS carries it.
func EncodeDeliver(d Deliver) ([]byte, error) {
	out, err := encodeDeliver(d)
	if err != nil {
		return nil, fmt.Errorf("pdu: %w", err)
	}
	return out, nil
}

func encodeDeliver(d Deliver) ([]byte, error) {
	out, err := appendSMSC(nil, d.SMSC)
	if err != nil {
		return nil, err
	}
	dcs, err := resolveDCS(d.DCS, d.Alphabet)
	if err != nil {
		return nil, err
	}
	udl, ud, udhi, err := encodeUserData(d.Alphabet, d.Concat, d.Elements, d.Body, d.Text)
	if err != nil {
		return nil, err
	}
	fo := byte(mtiDeliver)
	fo |= flag(!d.MoreMessages, foNoMoreMessages) | flag(d.StatusReportIndication, foStatusReport) |
		flag(udhi, foUDHI) | flag(d.ReplyPath, foReplyPath)
	out = append(out, fo)
	if out, err = appendAddress(out, d.From, "originating address", true); err != nil {
		return nil, err
	}
	out = append(out, d.PID, dcs)
	if out, err = appendTime(out, d.Time, "service centre time stamp"); err != nil {
		return nil, err
	}
	return append(append(out, byte(udl)), ud...), nil
}

// DecodeSubmit reads an SMS-SUBMIT frame: what the simulator receives
// from AT+CMGS, or a message the modem stored as sent or unsent. An
// absolute or enhanced TP-VP is skipped; a relative one is kept.
func DecodeSubmit(frame []byte) (Submit, error) {
	s, err := decodeSubmit(frame)
	if err != nil {
		return Submit{}, fmt.Errorf("pdu: %w", err)
	}
	return s, nil
}

func decodeSubmit(frame []byte) (Submit, error) {
	var s Submit
	r := reader{b: frame}
	var err error
	var fo byte
	if s.SMSC, fo, err = readStart(&r, mtiSubmit, "SMS-SUBMIT"); err != nil {
		return s, err
	}
	if s.MR, err = r.octet("message reference"); err != nil {
		return s, err
	}
	if s.To, err = readAddress(&r, "destination address"); err != nil {
		return s, err
	}
	if s.PID, err = r.octet("protocol identifier"); err != nil {
		return s, err
	}
	if s.DCS, err = r.octet("data coding scheme"); err != nil {
		return s, err
	}
	s.Alphabet, _ = dcsInfo(s.DCS)
	switch fo & foVPFMask {
	case foVPFRelative:
		s.ValidityRelative, err = r.octet("validity period")
	case foVPFEnhanced, foVPFAbsolute:
		_, err = r.take(sctsLen, "validity period")
	}
	if err != nil {
		return s, err
	}
	u, err := readUserData(&r, fo, s.Alphabet)
	if err != nil {
		return s, err
	}
	s.RejectDuplicates = fo&foRejectDup != 0
	s.StatusReport = fo&foStatusReport != 0
	s.Concat, s.Elements, s.Body, s.Text = u.concat, u.elements, u.body, u.text
	return s, nil
}

// EncodeSubmit writes an SMS-SUBMIT frame for AT+CMGS. tpduLen is the
// <length> AT+CMGS=<length> needs: the frame without its SMSC part.
func EncodeSubmit(s Submit) (frame []byte, tpduLen int, err error) {
	frame, tpduLen, err = encodeSubmit(s)
	if err != nil {
		return nil, 0, fmt.Errorf("pdu: %w", err)
	}
	return frame, tpduLen, nil
}

func encodeSubmit(s Submit) ([]byte, int, error) {
	out, err := appendSMSC(nil, s.SMSC)
	if err != nil {
		return nil, 0, err
	}
	smscLen := len(out)
	if s.To.Number == "" {
		return nil, 0, fmt.Errorf("destination address: %w: empty", ErrInvalid)
	}
	dcs, err := resolveDCS(s.DCS, s.Alphabet)
	if err != nil {
		return nil, 0, err
	}
	udl, ud, udhi, err := encodeUserData(s.Alphabet, s.Concat, s.Elements, s.Body, s.Text)
	if err != nil {
		return nil, 0, err
	}
	fo := byte(mtiSubmit)
	fo |= flag(s.RejectDuplicates, foRejectDup) | flag(s.ValidityRelative != 0, foVPFRelative) |
		flag(s.StatusReport, foStatusReport) | flag(udhi, foUDHI)
	out = append(out, fo, s.MR)
	if out, err = appendAddress(out, s.To, "destination address", false); err != nil {
		return nil, 0, err
	}
	out = append(out, s.PID, dcs)
	if s.ValidityRelative != 0 {
		out = append(out, s.ValidityRelative)
	}
	out = append(append(out, byte(udl)), ud...)
	return out, len(out) - smscLen, nil
}

// DecodeStatusReport reads an SMS-STATUS-REPORT frame, as +CDS, or +CMGR
// of a stored report, give it. Optional fields after TP-ST (TP-PI and
// what it announces) are ignored.
func DecodeStatusReport(frame []byte) (StatusReport, error) {
	s, err := decodeStatusReport(frame)
	if err != nil {
		return StatusReport{}, fmt.Errorf("pdu: %w", err)
	}
	return s, nil
}

func decodeStatusReport(frame []byte) (StatusReport, error) {
	var s StatusReport
	r := reader{b: frame}
	var err error
	if s.SMSC, _, err = readStart(&r, mtiStatusReport, "SMS-STATUS-REPORT"); err != nil {
		return s, err
	}
	if s.MR, err = r.octet("message reference"); err != nil {
		return s, err
	}
	if s.Recipient, err = readAddress(&r, "recipient address"); err != nil {
		return s, err
	}
	if s.Time, err = readTime(&r, "service centre time stamp"); err != nil {
		return s, err
	}
	if s.Discharge, err = readTime(&r, "discharge time"); err != nil {
		return s, err
	}
	s.Status, err = r.octet("status")
	return s, err
}

// EncodeStatusReport writes an SMS-STATUS-REPORT frame, for the modem
// simulator and tests: no more messages waiting, a report on a SUBMIT,
// no optional fields.
func EncodeStatusReport(s StatusReport) ([]byte, error) {
	out, err := encodeStatusReport(s)
	if err != nil {
		return nil, fmt.Errorf("pdu: %w", err)
	}
	return out, nil
}

func encodeStatusReport(s StatusReport) ([]byte, error) {
	out, err := appendSMSC(nil, s.SMSC)
	if err != nil {
		return nil, err
	}
	out = append(out, mtiStatusReport|foNoMoreMessages, s.MR)
	if out, err = appendAddress(out, s.Recipient, "recipient address", false); err != nil {
		return nil, err
	}
	if out, err = appendTime(out, s.Time, "service centre time stamp"); err != nil {
		return nil, err
	}
	if out, err = appendTime(out, s.Discharge, "discharge time"); err != nil {
		return nil, err
	}
	return append(out, s.Status), nil
}

func readTime(r *reader, field string) (time.Time, error) {
	p, err := r.take(sctsLen, field)
	if err != nil {
		return time.Time{}, err
	}
	return decodeTime(p, field)
}

// readUserData reads TP-UDL and TP-UD, the last fields of the TPDU.
func readUserData(r *reader, fo byte, a Alphabet) (userData, error) {
	udl, err := r.octet("user data length")
	if err != nil {
		return userData{}, err
	}
	return decodeUserData(r.rest(), int(udl), fo&foUDHI != 0, a)
}

func flag(on bool, bit byte) byte {
	if on {
		return bit
	}
	return 0
}

// readStart reads the SMSC part and the first octet of a frame, and
// checks that the octet's TP-MTI is the one expected.
func readStart(r *reader, mti byte, name string) (Address, byte, error) {
	smsc, err := readSMSC(r)
	if err != nil {
		return smsc, 0, err
	}
	fo, err := r.octet("first octet")
	if err != nil {
		return smsc, 0, err
	}
	if got := fo & 0x03; got != mti {
		return smsc, 0, fmt.Errorf("first octet: %w: TP-MTI %02b is not %s", ErrInvalid, got, name)
	}
	return smsc, fo, nil
}
