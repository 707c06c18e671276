package pdu

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors, so callers decide with errors.Is whether a frame was
// cut short (often a line split by the AT reader) or is simply wrong.
var (
	// ErrTruncated means the frame ended before a field it announces.
	ErrTruncated = errors.New("frame ends early")
	// ErrInvalid means a field holds a value the codec cannot read or
	// write, such as the wrong TP-MTI, a bad BCD digit in a timestamp or
	// user data too long for one SMS.
	ErrInvalid = errors.New("invalid value")
)

// Alphabet is how the user data is coded, as the TP-DCS octet selects it
// (3GPP TS 23.038 §4). It decides what Body holds and how Text is made.
type Alphabet int

const (
	// GSM7 is the GSM 7-bit default alphabet: Body holds one septet value
	// per byte, unpacked, escape pairs included.
	GSM7 Alphabet = iota
	// Data8 is 8-bit data: Body holds the octets and Text stays empty,
	// since the octets are not text in any alphabet the network defines.
	Data8
	// UCS2 is UTF-16BE in practice (phones send surrogate pairs): Body
	// holds the octets.
	UCS2
)

// String names the alphabet for logs and test failures.
func (a Alphabet) String() string {
	switch a {
	case GSM7:
		return "gsm7"
	case Data8:
		return "8bit"
	case UCS2:
		return "ucs2"
	}
	return "Alphabet(" + strconv.Itoa(int(a)) + ")"
}

// Type-of-address octets (3GPP TS 23.040 §9.1.2.5) that the modem adapter
// meets in practice. Bit 7 is always 1; bits 6-4 are the type of number,
// bits 3-0 the numbering plan.
const (
	TOAInternational byte = 0x91 // international, ISDN plan: shown with "+"
	TOAUnknown       byte = 0x81 // unknown type, ISDN plan
	TOANational      byte = 0xA1 // national, ISDN plan
	TOAAlphanumeric  byte = 0xD0 // alphanumeric sender name, GSM-7 packed
)

// Address is a phone number or sender name as it appears on the wire, so
// that an inbound number can be matched and a stored one re-encoded.
type Address struct {
	// Number is "+31641600986" for an international TOA, the bare digits
	// otherwise (with '*', '#', 'a', 'b', 'c' for the extra BCD codes of
	// 23.040 §9.1.2.3), or the decoded text of an alphanumeric sender.
	Number string
	// TOA is the type-of-address octet. When encoding, zero means choose
	// from Number: a leading "+" gives 0x91, digits (with '*' and '#')
	// 0x81, anything else 0xD0 (alphanumeric, only valid as a DELIVER's
	// sender).
	TOA byte
}

// Concat is the concatenation information element of a part of a long
// message (23.040 §9.2.3.24.1 and .24.8), the key for reassembly.
type Concat struct {
	Ref   uint16 // reference shared by every part of one message
	Total byte   // number of parts, 1-255
	Seq   byte   // this part's number, 1-Total
	Wide  bool   // 16-bit reference (IEI 0x08) instead of 8-bit (IEI 0x00)
}

// IE is a user-data-header information element other than concatenation
// (application ports, national language shifts, EMS formatting, ...).
// They are kept so that a relayed or simulated message keeps them, and so
// that callers can look for the ones they care about.
type IE struct {
	ID   byte   // IEI, 23.040 §9.2.3.24
	Data []byte // the element's octets, without IEI and length
}

// Deliver is an SMS-DELIVER (23.040 §9.2.2.1): a message the network
// hands to the modem.
type Deliver struct {
	SMSC     Address   // service centre that delivered it
	From     Address   // TP-OA, the sender
	PID      byte      // TP-PID, protocol identifier (0 = plain SMS)
	DCS      byte      // TP-DCS as received; Alphabet and Class derive from it
	Alphabet Alphabet  // how Body is coded; encoding checks it against DCS
	Class    int       // message class 0-3 from the DCS, or -1 when it names none
	Time     time.Time // TP-SCTS, in the service centre's zone, which it carries
	// MoreMessages is TP-MMS inverted: the bit is set when NO more
	// messages are waiting, which is easy to get backwards.
	MoreMessages           bool
	ReplyPath              bool    // TP-RP
	StatusReportIndication bool    // TP-SRI: the sender asked for a report
	Concat                 *Concat // nil unless this is one part of a long message
	Elements               []IE    // other UDH elements, in wire order
	Body                   []byte  // user data after the UDH, see Alphabet
	Text                   string  // Body decoded; empty for Data8
}

// Submit is an SMS-SUBMIT (23.040 §9.2.2.2): a message the modem sends.
type Submit struct {
	SMSC     Address  // zero encodes as 00: the modem's stored SMSC (AT+CSCA)
	MR       byte     // TP-MR; the modem usually sets its own and reports it in +CMGS
	To       Address  // TP-DA; alphanumeric is refused, 23.040 only lets those originate
	PID      byte     // TP-PID, 0 for plain SMS
	DCS      byte     // zero with a non-GSM7 Alphabet means that alphabet's plain DCS
	Alphabet Alphabet // how Body is coded, or Text is to be
	// ValidityRelative is TP-VP in the relative format (0-143: (v+1)×5
	// min, 144-167: 12 h + (v-143)×30 min, 168-196: (v-166) days,
	// 197-255: (v-192) weeks). 0 means no TP-VP field, so the network's
	// default applies; the 5-minute value 0 itself cannot be asked for.
	ValidityRelative byte
	StatusReport     bool    // TP-SRR: ask for a STATUS-REPORT
	RejectDuplicates bool    // TP-RD
	Concat           *Concat // written first in the header when set
	Elements         []IE    // written after Concat, in order
	// Body is used when non-nil; otherwise Text is encoded in Alphabet.
	Body []byte
	Text string // Body decoded; what is encoded when Body is nil
}

// StatusReport is an SMS-STATUS-REPORT (23.040 §9.2.2.3): the fate of a
// message sent with TP-SRR, matched to it by MR and Recipient.
type StatusReport struct {
	SMSC      Address   // service centre that sent the report
	MR        byte      // the TP-MR the modem reported in +CMGS
	Recipient Address   // TP-RA
	Time      time.Time // TP-SCTS: when the service centre took the message
	Discharge time.Time // TP-DT: when it was delivered or given up on
	Status    byte      // TP-ST
}

// Delivered reports whether the short message transaction completed
// (TP-ST 0x00-0x1F; 0x00 is "received by the SME"), the moment a sender
// can mark the message delivered.
func (s StatusReport) Delivered() bool { return s.Status < 0x20 }

// Final reports whether no further report will follow: every status but
// the temporary errors 0x20-0x3F, for which the service centre is still
// trying (23.040 §9.2.3.15).
func (s StatusReport) Final() bool { return s.Status < 0x20 || s.Status > 0x3F }

// ParseHex turns the hex line a modem prints into a frame. Surrounding
// white space (the CR LF of the line) is ignored; anything else that is
// not hex is an error saying where.
func ParseHex(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("pdu: hex: %w: empty", ErrInvalid)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("pdu: hex: %w: %w", ErrInvalid, err)
	}
	return b, nil
}

// Decode reads a mobile-terminated frame (what +CMT, +CDS, or +CMGR and
// +CMGL of a received message give) and returns a Deliver or a
// StatusReport. A reserved TP-MTI 11 is read as a DELIVER, as 23.040
// §9.2.3.1 tells a receiver to. TP-MTI 01 is a SUBMIT-REPORT in this
// direction and is not supported; a stored outgoing message is read with
// DecodeSubmit instead.
func Decode(frame []byte) (any, error) {
	r := reader{b: frame}
	if _, err := readSMSC(&r); err != nil {
		return nil, fmt.Errorf("pdu: %w", err)
	}
	fo, err := r.octet("first octet")
	if err != nil {
		return nil, fmt.Errorf("pdu: %w", err)
	}
	switch fo & 0x03 {
	case mtiDeliver, mtiReserved:
		return DecodeDeliver(frame)
	case mtiStatusReport:
		return DecodeStatusReport(frame)
	}
	return nil, fmt.Errorf("pdu: first octet: %w: TP-MTI 01 towards the modem is SMS-SUBMIT-REPORT, not supported", ErrInvalid)
}

// TP-MTI values (23.040 §9.2.3.1). 01 and 10 mean different things in
// each direction; these are the names this package uses them under.
const (
	mtiDeliver      = 0x00 // SMS-DELIVER (MT)
	mtiSubmit       = 0x01 // SMS-SUBMIT (MO)
	mtiStatusReport = 0x02 // SMS-STATUS-REPORT (MT)
	mtiReserved     = 0x03 // read as DELIVER
)

// reader walks a frame and names the field it was reading when the frame
// runs out, so an error says "originating address" rather than "index
// out of range".
type reader struct {
	b   []byte
	off int
}

func (r *reader) take(n int, field string) ([]byte, error) {
	if left := len(r.b) - r.off; n > left {
		return nil, fmt.Errorf("%s: %w: needs %d octets at offset %d, %d left", field, ErrTruncated, n, r.off, left)
	}
	p := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return p, nil
}

func (r *reader) octet(field string) (byte, error) {
	p, err := r.take(1, field)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

// rest returns what is left: the user data, the last field of a TPDU.
func (r *reader) rest() []byte { return r.b[r.off:] }
