package pdu

import (
	"fmt"
	"strings"

	"hotline/adapters/sms/gsm"
)

// Address length limits. A TP address holds at most 20 digits (10 octets
// after TOA, 23.040 §9.1.2.5); the SMSC part is an RP address of at most
// 11 octets with its TOA (24.011 §8.2.5.1). A larger length octet usually
// means the SMSC part is missing and a TPDU octet is read as its length.
const (
	maxAddressDigits = 20
	maxSMSCOctets    = 11
	maxAlphaSeptets  = 11 // 80 bits of address value hold 11 septets
)

// bcdDigits maps a semi-octet to its character (23.040 §9.1.2.3); 0xF is
// the filler that pads an odd count and is never a digit.
const bcdDigits = "0123456789*#abc"

const fillNibble = 0x0F

// isAlphanumeric reports whether the type-of-number bits (6-4) of a TOA
// say "alphanumeric": the value is GSM-7 packed, not BCD.
func isAlphanumeric(toa byte) bool { return toa&0x70 == 0x50 }

// isInternational reports type of number 001, shown with a leading "+".
func isInternational(toa byte) bool { return toa&0x70 == 0x10 }

// readSMSC reads the SMSC part, whose length octet counts octets.
func readSMSC(r *reader) (Address, error) {
	n, err := r.octet("smsc length")
	if err != nil || n == 0 {
		return Address{}, err
	}
	if n > maxSMSCOctets {
		return Address{}, fmt.Errorf("smsc: %w: length %d octets exceeds %d (is the SMSC part missing?)", ErrInvalid, n, maxSMSCOctets)
	}
	p, err := r.take(int(n), "smsc")
	if err != nil {
		return Address{}, err
	}
	value := p[1:]
	if isAlphanumeric(p[0]) {
		return Address{Number: unpackText(value, len(value)*8/7), TOA: p[0]}, nil
	}
	return Address{Number: decodeDigits(p[0], value, 2*len(value)), TOA: p[0]}, nil
}

// readAddress reads TP-OA, TP-DA or TP-RA, whose length octet counts the
// digits (semi-octets) of the value, not its octets.
func readAddress(r *reader, field string) (Address, error) {
	n, err := r.octet(field + " length")
	if err != nil {
		return Address{}, err
	}
	if n > maxAddressDigits {
		return Address{}, fmt.Errorf("%s: %w: length %d digits exceeds %d", field, ErrInvalid, n, maxAddressDigits)
	}
	toa, err := r.octet(field + " type")
	if err != nil {
		return Address{}, err
	}
	value, err := r.take((int(n)+1)/2, field)
	if err != nil {
		return Address{}, err
	}
	if isAlphanumeric(toa) {
		return Address{Number: unpackText(value, int(n)*4/7), TOA: toa}, nil
	}
	return Address{Number: decodeDigits(toa, value, int(n)), TOA: toa}, nil
}

// decodeDigits reads count semi-octets, low nibble first. A filler nibble
// inside the count is skipped rather than failing, so a sloppy encoder's
// number still yields the digits it has.
func decodeDigits(toa byte, value []byte, count int) string {
	var b strings.Builder
	for i := 0; i < count && i/2 < len(value); i++ {
		nib := value[i/2] >> (4 * (i % 2)) & 0x0F
		if nib != fillNibble {
			b.WriteByte(bcdDigits[nib])
		}
	}
	if isInternational(toa) && b.Len() > 0 {
		return "+" + b.String()
	}
	return b.String()
}

// unpackText decodes an alphanumeric address value of n septets.
func unpackText(value []byte, n int) string {
	return gsm.FromSeptets(unpackSeptets(value, n))
}

// resolveTOA picks the TOA an Address is encoded with (see Address.TOA).
func (a Address) resolveTOA() byte {
	switch {
	case a.TOA != 0:
		return a.TOA
	case strings.HasPrefix(a.Number, "+"):
		return TOAInternational
	case strings.Trim(a.Number, "0123456789*#") == "":
		return TOAUnknown // digits, and the * and # of service codes
	}
	return TOAAlphanumeric
}

// encodeValue returns the TOA, the address value octets and their length
// in semi-octets. allowAlpha is false where 23.040 only allows numbers.
func (a Address) encodeValue(field string, allowAlpha bool) (toa byte, value []byte, semiOctets int, err error) {
	toa = a.resolveTOA()
	if isAlphanumeric(toa) {
		if !allowAlpha {
			return 0, nil, 0, fmt.Errorf("%s: %w: alphanumeric %q can only be a sender", field, ErrInvalid, a.Number)
		}
		septets, err := gsm.ToSeptets(a.Number)
		if err != nil {
			return 0, nil, 0, fmt.Errorf("%s: %w: %w", field, ErrInvalid, err)
		}
		if len(septets) > maxAlphaSeptets {
			return 0, nil, 0, fmt.Errorf("%s: %w: %q is %d septets, more than %d", field, ErrInvalid, a.Number, len(septets), maxAlphaSeptets)
		}
		return toa, packSeptets(nil, 0, septets), (len(septets)*7 + 3) / 4, nil
	}
	digits := strings.TrimPrefix(a.Number, "+")
	if len(digits) > maxAddressDigits {
		return 0, nil, 0, fmt.Errorf("%s: %w: %d digits, more than %d", field, ErrInvalid, len(digits), maxAddressDigits)
	}
	value = make([]byte, (len(digits)+1)/2)
	for i := range value {
		value[i] = 0xFF
	}
	for i := 0; i < len(digits); i++ {
		nib := strings.IndexByte(bcdDigits, toLower(digits[i]))
		if nib < 0 {
			return 0, nil, 0, fmt.Errorf("%s: %w: %q is not a digit in %q (TOA 0x%02X)", field, ErrInvalid, digits[i], a.Number, toa)
		}
		shift := 4 * (i % 2)
		value[i/2] = value[i/2]&^(0x0F<<shift) | byte(nib)<<shift
	}
	return toa, value, len(digits), nil
}

func toLower(c byte) byte {
	if c >= 'A' && c <= 'C' {
		return c + 'a' - 'A'
	}
	return c
}

// appendAddress writes a TP address: digit count, TOA, value.
func appendAddress(out []byte, a Address, field string, allowAlpha bool) ([]byte, error) {
	toa, value, n, err := a.encodeValue(field, allowAlpha)
	if err != nil {
		return nil, err
	}
	return append(append(out, byte(n), toa), value...), nil
}

// appendSMSC writes the SMSC part: octet count (TOA included), TOA,
// value; the zero Address is the single octet 00, "use the stored SMSC".
func appendSMSC(out []byte, a Address) ([]byte, error) {
	if a == (Address{}) {
		return append(out, 0x00), nil
	}
	toa, value, _, err := a.encodeValue("smsc", false)
	if err != nil {
		return nil, err
	}
	return append(append(out, byte(1+len(value)), toa), value...), nil
}
