package pdu

import "fmt"

// dcsInfo reads the alphabet and message class a TP-DCS octet selects
// (3GPP TS 23.038 §4). class is -1 when the octet names none.
//
//   - 00xx xxxx general and 01xx xxxx automatic-deletion groups: bits 3-2
//     give the alphabet (00 GSM-7, 01 8-bit, 10 UCS-2, 11 reserved, read
//     as GSM-7), bit 4 says bits 1-0 are a class. Compressed text (bit 5,
//     23.042) cannot be read here, so it is handed over as Data8 octets;
//     UDL then counts octets, as 23.040 §9.2.3.16 says for it.
//   - 1000-1011 are reserved groups; §4 says a receiver shall assume the
//     GSM 7-bit default alphabet for any reserved coding.
//   - 1100 and 1101 (message waiting, discard or store) carry GSM-7 text,
//     1110 (message waiting, store) UCS-2 text.
//   - 1111: bit 2 chooses GSM-7 or 8-bit, bits 1-0 are always a class.
func dcsInfo(dcs byte) (a Alphabet, class int) {
	switch {
	case dcs < 0x80:
		class = -1
		if dcs&0x10 != 0 {
			class = int(dcs & 0x03)
		}
		if dcs&0x20 != 0 {
			return Data8, class
		}
		switch dcs & 0x0C {
		case 0x04:
			return Data8, class
		case 0x08:
			return UCS2, class
		}
		return GSM7, class
	case dcs >= 0xF0:
		if dcs&0x04 != 0 {
			return Data8, int(dcs & 0x03)
		}
		return GSM7, int(dcs & 0x03)
	case dcs >= 0xE0:
		return UCS2, -1
	}
	return GSM7, -1
}

// resolveDCS returns the DCS to send: zero with a non-GSM7 alphabet
// stands for that alphabet's plain coding, so callers may set Alphabet
// alone; any other DCS must select the alphabet Body is in.
func resolveDCS(dcs byte, a Alphabet) (byte, error) {
	if dcs == 0 {
		switch a {
		case Data8:
			dcs = 0x04
		case UCS2:
			dcs = 0x08
		}
	}
	if got, _ := dcsInfo(dcs); got != a {
		return 0, fmt.Errorf("dcs: %w: 0x%02X selects %v but Alphabet is %v", ErrInvalid, dcs, got, a)
	}
	return dcs, nil
}
