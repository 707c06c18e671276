package pdu

import (
	"fmt"
	"time"
)

// Timestamps (TP-SCTS, TP-DT and the absolute TP-VP) are seven octets of
// nibble-swapped BCD, YY MM DD hh mm ss TZ (23.040 §9.2.3.11). The year
// has two digits; this package reads 90-99 as 1990-1999 (GSM SMS began in
// 1992, so those can only be the 1990s) and 00-89 as 2000-2089, and can
// only encode those years.
const (
	sctsLen   = 7
	yearPivot = 90
)

// bcd reads one nibble-swapped BCD octet: the low nibble is the tens.
func bcd(b byte) (int, bool) {
	tens, units := b&0x0F, b>>4
	if tens > 9 || units > 9 {
		return 0, false
	}
	return int(tens)*10 + int(units), true
}

func toBCD(v int) byte { return byte(v/10) | byte(v%10)<<4 }

// decodeTime reads a timestamp. Date and time fields must be valid BCD
// and a real calendar time, or it is an error naming the field. The zone
// octet is more forgiving, because real service centres send garbage
// there (frontlinesms/smslib's status-report tests carry 0xE1): a zone
// that is not BCD is read as UTC rather than losing the whole message.
func decodeTime(p []byte, field string) (time.Time, error) {
	var v [6]int
	names := [6]string{"year", "month", "day", "hour", "minute", "second"}
	for i := range v {
		n, ok := bcd(p[i])
		if !ok {
			return time.Time{}, fmt.Errorf("%s: %w: %s octet 0x%02X is not BCD", field, ErrInvalid, names[i], p[i])
		}
		v[i] = n
	}
	year := 2000 + v[0]
	if v[0] >= yearPivot {
		year = 1900 + v[0]
	}
	t := time.Date(year, time.Month(v[1]), v[2], v[3], v[4], v[5], 0, zone(p[6]))
	if v[1] < 1 || v[1] > 12 || t.Day() != v[2] || v[3] > 23 || v[4] > 59 || v[5] > 59 {
		return time.Time{}, fmt.Errorf("%s: %w: % X is not a calendar time", field, ErrInvalid, p[:6])
	}
	return t, nil
}

// zone reads the TZ octet: quarter hours in BCD, the sign in bit 3 (the
// top bit of the low nibble, which holds the tens digit).
func zone(b byte) *time.Location {
	tens, units := int(b&0x07), int(b>>4)
	if units > 9 {
		return time.FixedZone("", 0)
	}
	offset := (tens*10 + units) * 15 * 60
	if b&0x08 != 0 {
		offset = -offset
	}
	return time.FixedZone("", offset)
}

// appendTime writes t as a timestamp in t's own zone, which must be a
// whole number of quarter hours within ±19:45 (what the octet can hold).
// Sub-second precision is dropped.
func appendTime(out []byte, t time.Time, field string) ([]byte, error) {
	if y := t.Year(); y < 1900+yearPivot || y >= 2000+yearPivot {
		return nil, fmt.Errorf("%s: %w: year %d outside %d-%d", field, ErrInvalid, y, 1900+yearPivot, 1999+yearPivot)
	}
	_, offset := t.Zone()
	sign := byte(0)
	if offset < 0 {
		sign, offset = 0x08, -offset
	}
	quarters := offset / (15 * 60)
	if offset%(15*60) != 0 || quarters > 79 {
		return nil, fmt.Errorf("%s: %w: zone offset %v is not a quarter hour within ±19:45", field, ErrInvalid, time.Duration(offset)*time.Second)
	}
	return append(out,
		toBCD(t.Year()%100), toBCD(int(t.Month())), toBCD(t.Day()),
		toBCD(t.Hour()), toBCD(t.Minute()), toBCD(t.Second()),
		toBCD(quarters)|sign), nil
}
