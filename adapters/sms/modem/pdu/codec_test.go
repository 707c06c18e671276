package pdu

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTimestamps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		time time.Time
		hex  string
	}{
		// python-messaging test_converting_datetime_to_validity, citing
		// dreamfabric's SCTS page: 12 Feb 1999 05:57:30 in three zones.
		{"GMT+3 is 0x21", ts("1999-02-12T05:57:30+03:00"), "99202150750321"},
		{"UTC is 0x00", ts("1999-02-12T05:57:30Z"), "99202150750300"},
		{"GMT-3 is 0x29", ts("1999-02-12T05:57:30-03:00"), "99202150750329"},
		// P4 (python-messaging test_decoding_ucs2_pdu): GMT+2 is 0x80.
		{"GMT+2 is 0x80", ts("2008-06-24T09:22:04+02:00"), "80604290224080"},
		// Computed per 23.040 §9.2.3.11: +5:45 (Nepal) is 23 quarters,
		// -9:30 is 38 quarters with the sign bit.
		{"quarter hours +5:45", ts("2024-01-31T23:59:59+05:45"), "42101332959532"},
		{"half hours -9:30", ts("2089-12-31T00:00:00-09:30"), "9821130000008B"},
		{"pivot: 90 is 1990", ts("1990-01-01T00:00:00Z"), "09101000000000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := appendTime(nil, tc.time, "scts")
			if err != nil {
				t.Fatalf("appendTime: %v", err)
			}
			if g := strings.ToUpper(hex.EncodeToString(got)); g != tc.hex {
				t.Errorf("appendTime(%v): got %s, want %s", tc.time, g, tc.hex)
			}
			back, err := decodeTime(mustHex(t, tc.hex), "scts")
			if err != nil {
				t.Fatalf("decodeTime: %v", err)
			}
			checkTime(t, "decodeTime", back, tc.time)
		})
	}
}

func TestTimestampDecodeQuirks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		hex  string
		want time.Time
	}{
		{"minus zero is UTC", "20806291731408", ts("2002-08-26T19:37:41Z")},
		{"zone units nibble not BCD reads as UTC", "012090801361A0", ts("2010-02-09T08:31:16Z")},
		{"largest zone -19:45", "9901010000009F", time.Date(1999, 10, 10, 0, 0, 0, 0, time.FixedZone("", -(19*3600+45*60)))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeTime(mustHex(t, tc.hex), "scts")
			if err != nil {
				t.Fatalf("decodeTime: %v", err)
			}
			checkTime(t, "decodeTime", got, tc.want)
		})
	}
}

func TestTimestampErrors(t *testing.T) {
	t.Parallel()
	decodeTests := []struct{ name, hex, want string }{
		{"month not BCD", "02A06291731408", "month octet 0xA0 is not BCD"},
		{"month 13", "20316291731400", "not a calendar time"},
		{"february 30", "42200391731400", "not a calendar time"},
		{"hour 24", "20806242731400", "not a calendar time"},
		{"second 60", "20806291730600", "not a calendar time"},
	}
	for _, tc := range decodeTests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeTime(mustHex(t, tc.hex), "scts")
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("decodeTime(%s): got %v, want ErrInvalid with %q", tc.hex, err, tc.want)
			}
		})
	}
	encodeTests := []struct {
		name string
		time time.Time
	}{
		{"zero time", time.Time{}},
		{"year 2090", ts("2090-01-01T00:00:00Z")},
		{"year 1989", ts("1989-12-31T23:59:59Z")},
		{"offset not a quarter hour", time.Date(2020, 1, 1, 0, 0, 0, 0, time.FixedZone("", 600))},
		{"offset beyond 19:45", time.Date(2020, 1, 1, 0, 0, 0, 0, time.FixedZone("", 20*3600))},
	}
	for _, tc := range encodeTests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := appendTime(nil, tc.time, "scts"); !errors.Is(err, ErrInvalid) {
				t.Errorf("appendTime(%v): got %v, want ErrInvalid", tc.time, err)
			}
		})
	}
}

func TestDCS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dcs   byte
		want  Alphabet
		class int
		why   string
	}{
		{0x00, GSM7, -1, "general group default"},
		{0x04, Data8, -1, "general group 8-bit"},
		{0x08, UCS2, -1, "general group UCS-2"},
		{0x0C, GSM7, -1, "general group reserved alphabet read as GSM-7"},
		{0x10, GSM7, 0, "class 0 (flash)"},
		{0x18, UCS2, 0, "UCS-2 flash"},
		{0x19, UCS2, 1, "UCS-2 class 1"},
		{0x13, GSM7, 3, "class 3"},
		{0x24, Data8, -1, "compressed GSM-7 handed over as octets"},
		{0x53, GSM7, 3, "automatic deletion group, class 3"},
		{0x48, UCS2, -1, "automatic deletion group, UCS-2"},
		{0x80, GSM7, -1, "reserved group read as GSM-7 (23.038 §4)"},
		{0xB4, GSM7, -1, "reserved group read as GSM-7 (23.038 §4)"},
		{0xC8, GSM7, -1, "message waiting, discard"},
		{0xD0, GSM7, -1, "message waiting, store GSM-7"},
		{0xE0, UCS2, -1, "message waiting, store UCS-2"},
		{0xF0, GSM7, 0, "data coding group GSM-7 class 0"},
		{0xF1, GSM7, 1, "data coding group GSM-7 class 1"},
		{0xF5, Data8, 1, "data coding group 8-bit class 1"},
		{0xF6, Data8, 2, "data coding group 8-bit class 2 (SIM)"},
	}
	for _, tc := range tests {
		a, class := dcsInfo(tc.dcs)
		if a != tc.want || class != tc.class {
			t.Errorf("dcsInfo(0x%02X) %s: got (%v, %d), want (%v, %d)", tc.dcs, tc.why, a, class, tc.want, tc.class)
		}
	}
	for _, tc := range []struct {
		dcs  byte
		a    Alphabet
		want byte
		ok   bool
	}{
		{0, GSM7, 0x00, true}, {0, Data8, 0x04, true}, {0, UCS2, 0x08, true},
		{0x19, UCS2, 0x19, true}, {0x08, GSM7, 0, false}, {0xF5, UCS2, 0, false},
	} {
		got, err := resolveDCS(tc.dcs, tc.a)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("resolveDCS(0x%02X, %v): got (0x%02X, %v), want 0x%02X ok=%v", tc.dcs, tc.a, got, err, tc.want, tc.ok)
		}
	}
}

func TestAddressEncoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		addr Address
		hex  string // length, TOA, value
	}{
		// P3's DA: odd digit count padded with F.
		{"international odd", Address{Number: "+46708251358"}, "0B916407281553F8"},
		{"international even", Address{Number: "+447785016005"}, "0C91447758100650"},
		{"digits are unknown type", Address{Number: "655345678"}, "098156355476F8"},
		{"national given", Address{"0684103777", TOANational}, "0AA16048017377"},
		{"service code", Address{Number: "*100#"}, "05811A00FB"},
		// ofono alnum_sender: "sipgate" is 7 septets, 13 semi-octets.
		{"alphanumeric", Address{Number: "sipgate"}, "0DD0F334FC1CA69701"},
		{"alphanumeric 11 septets", Address{Number: "from_Orange"}, "14D066F9BB1D79CAC3EE7319"},
		{"empty", Address{}, "0081"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := appendAddress(nil, tc.addr, "address", true)
			if err != nil {
				t.Fatalf("appendAddress: %v", err)
			}
			if g := strings.ToUpper(hex.EncodeToString(got)); g != tc.hex {
				t.Errorf("appendAddress(%+v): got %s, want %s", tc.addr, g, tc.hex)
			}
			r := reader{b: got}
			back, err := readAddress(&r, "address")
			if err != nil {
				t.Fatalf("readAddress: %v", err)
			}
			want := Address{tc.addr.Number, tc.addr.resolveTOA()}
			if back != want {
				t.Errorf("readAddress: got %+v, want %+v", back, want)
			}
		})
	}
}

func TestAddressDecodeQuirks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		hex  string
		want Address
	}{
		{"filler inside the count is skipped", "048121F3", Address{"123", 0x81}},
		{"extra BCD codes", "0581BADCFE", Address{"*#abc", 0x81}},
		{"international type, other plan", "021121", Address{"+12", 0x11}},
		{"international with no digits has no plus", "0091", Address{"", 0x91}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := reader{b: mustHex(t, tc.hex)}
			got, err := readAddress(&r, "address")
			if err != nil {
				t.Fatalf("readAddress: %v", err)
			}
			if got != tc.want {
				t.Errorf("readAddress(%s): got %+v, want %+v", tc.hex, got, tc.want)
			}
		})
	}
}

func TestAddressErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		addr       Address
		allowAlpha bool
		want       string
	}{
		{"alphanumeric destination", Address{Number: "Hotline"}, false, "can only be a sender"},
		{"letter in a number", Address{"12x4", TOAUnknown}, true, `'x' is not a digit`},
		{"plus inside", Address{Number: "+31+6"}, true, `'+' is not a digit`},
		{"21 digits", Address{Number: strings.Repeat("1", 21)}, true, "21 digits"},
		{"12 septets", Address{Number: "HotlineHelp!"}, true, "12 septets"},
		{"not GSM-7", Address{Number: "Café✓"}, true, "no GSM 7-bit form"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := appendAddress(nil, tc.addr, "destination address", tc.allowAlpha)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("appendAddress(%+v): got %v, want ErrInvalid with %q", tc.addr, err, tc.want)
			}
		})
	}
}

func TestSMSCEncoding(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr Address
		hex  string
	}{
		{Address{}, "00"},
		{Address{Number: "+31624000000"}, "07911326040000F0"},
		{Address{"", TOAInternational}, "0191"},
	} {
		got, err := appendSMSC(nil, tc.addr)
		if err != nil {
			t.Fatalf("appendSMSC(%+v): %v", tc.addr, err)
		}
		if g := strings.ToUpper(hex.EncodeToString(got)); g != tc.hex {
			t.Errorf("appendSMSC(%+v): got %s, want %s", tc.addr, g, tc.hex)
		}
	}
}

func TestHeaderSeptets(t *testing.T) {
	t.Parallel()
	// fill = (7 - (8*(UDHL+1))%7) % 7; header septets = (8*(UDHL+1)+fill)/7.
	for _, tc := range []struct{ udhl, fill, septets int }{
		{0, 6, 2}, {5, 1, 7}, {6, 0, 8}, {3, 3, 5}, {11, 2, 14},
	} {
		fill := (7 - (8*(tc.udhl+1))%7) % 7
		if fill != tc.fill {
			t.Errorf("UDHL %d: fill got %d, want %d", tc.udhl, fill, tc.fill)
		}
		if got := headerSeptets(tc.udhl + 1); got != tc.septets || got*7 != 8*(tc.udhl+1)+fill {
			t.Errorf("headerSeptets(UDHL %d): got %d, want %d", tc.udhl, got, tc.septets)
		}
	}
}

func TestPackSeptets(t *testing.T) {
	t.Parallel()
	// dreamfabric / P3: "hellohello" packs to E8 32 9B FD 46 97 D9 EC 37.
	septets := []byte("hellohello")
	packed := packSeptets(nil, 0, septets)
	if g := strings.ToUpper(hex.EncodeToString(packed)); g != "E8329BFD4697D9EC37" {
		t.Errorf("packSeptets: got %s", g)
	}
	if got := unpackSeptets(packed, len(septets)); !bytes.Equal(got, septets) {
		t.Errorf("unpackSeptets: got %q", got)
	}
	// Reading by octet count instead of UDL: 7 septets in 7 octets read
	// as 8, the last an '@'. This is what the UDL rule prevents.
	seven := packSeptets(nil, 0, []byte("1234567"))
	if got := unpackSeptets(seven, len(seven)*8/7); string(got) != "1234567\x00" {
		t.Errorf("unpack by octet count: got %q", got)
	}
}

func TestUDH(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		udh      string // without UDHL
		concat   *Concat
		elements []IE
	}{
		{"8-bit concat", "0003AB0302", &Concat{Ref: 0xAB, Total: 3, Seq: 2}, nil},
		{"16-bit concat", "08041234FF01", &Concat{Ref: 0x1234, Total: 255, Seq: 1, Wide: true}, nil},
		{"elements around concat", "0504158A0000" + "0003010201" + "240101",
			&Concat{Ref: 1, Total: 2, Seq: 1}, []IE{{0x05, []byte{0x15, 0x8A, 0x00, 0x00}}, {0x24, []byte{0x01}}}},
		{"empty element", "7000", nil, []IE{{0x70, []byte{}}}},
		// 23.040 §9.2.3.24.1: a part number of 0 or above the count, or
		// a count of 0, makes the receiver ignore the element.
		{"sequence zero ignored", "00030A0200", nil, []IE{{0x00, []byte{0x0A, 0x02, 0x00}}}},
		{"sequence beyond total ignored", "00030A0203", nil, []IE{{0x00, []byte{0x0A, 0x02, 0x03}}}},
		{"wrong length ignored", "000201" + "02", nil, []IE{{0x00, []byte{0x01, 0x02}}}},
		// 23.040 §9.2.3.24: of repeated elements the last one counts.
		{"last concat wins", "0003010201" + "0003020202", &Concat{Ref: 2, Total: 2, Seq: 2}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, elems, err := parseUDH(mustHexAllowEmpty(t, tc.udh))
			if err != nil {
				t.Fatalf("parseUDH: %v", err)
			}
			if (c == nil) != (tc.concat == nil) || (c != nil && *c != *tc.concat) {
				t.Errorf("concat: got %v, want %v", c, tc.concat)
			}
			if len(elems) != len(tc.elements) {
				t.Fatalf("elements: got %v, want %v", elems, tc.elements)
			}
			for i := range elems {
				if elems[i].ID != tc.elements[i].ID || !bytes.Equal(elems[i].Data, tc.elements[i].Data) {
					t.Errorf("element %d: got %v, want %v", i, elems[i], tc.elements[i])
				}
			}
		})
	}
}

// TestMalformed feeds broken frames and checks the error names the field.
func TestMalformed(t *testing.T) {
	t.Parallel()
	p1 := "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07"
	tests := []struct {
		name  string
		hex   string
		field string
		trunc bool
	}{
		{"empty frame", "", "smsc length", true},
		{"smsc cut", "0791132604", "smsc", true},
		{"smsc too long (bare TPDU)", "240B911346610089F60000208062917314080CC8F71D14969741F977FD07", "smsc", false},
		{"address cut", "00040B9113466100", "originating address", true},
		{"address length 32", "000420911346610089F60000", "originating address", false},
		{"no time stamp", "00040B911346610089F60000", "service centre time stamp", true},
		{"UDL beyond data", strings.TrimSuffix(p1, "07"), "user data", true},
		{"UCS-2 UDL beyond data", "0004048121430008208062917314080A00410042", "user data", true},
		{"submit is not a deliver", "0011000B916407281553F80000AA0AE8329BFD4697D9EC37", "first octet", false},
		{"bad BCD in time", "00040B911346610089F600002080A2917314080CC8F71D14969741F977FD07", "service centre time stamp", false},
		{"UDHI but UDL 0", "00440481214300002080629173140800", "user data", false},
		{"UDHL past user data", "004404812143000020806291731408030502000000", "udh", false},
		{"element past header", "00440481214300042080629173140806050005AA0201", "udh", false},
		{"element cut by header end", "004404812143000420806291731408020100", "udh", false},
		{"GSM-7 header longer than UDL", "00440481214300002080629173140803050003AA0201", "udh", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeDeliver(mustHexAllowEmpty(t, tc.hex))
			if err == nil {
				t.Fatalf("DecodeDeliver(%s): no error", tc.hex)
			}
			if !strings.HasPrefix(err.Error(), "pdu: "+tc.field+":") {
				t.Errorf("error %q: want prefix %q", err, "pdu: "+tc.field+":")
			}
			if errors.Is(err, ErrTruncated) != tc.trunc || errors.Is(err, ErrInvalid) == tc.trunc {
				t.Errorf("error %q: truncated=%v, want %v", err, errors.Is(err, ErrTruncated), tc.trunc)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	t.Parallel()
	to := Address{Number: "+46708251358"}
	tests := []struct {
		name string
		s    Submit
		want string
	}{
		{"no destination", Submit{Text: "hi"}, "destination address"},
		{"not GSM-7", Submit{To: to, Text: "ça"}, "no GSM 7-bit form"},
		{"161 septets", Submit{To: to, Text: strings.Repeat("a", 161)}, "161 septets exceed 160"},
		{"154 septets after a header", Submit{To: to, Text: strings.Repeat("a", 154),
			Concat: &Concat{Ref: 1, Total: 2, Seq: 1}}, "161 septets exceed 160"},
		{"71 UCS-2 units", Submit{To: to, Alphabet: UCS2, Text: strings.Repeat("中", 71)}, "142 octets exceed 140"},
		{"septet above 0x7F", Submit{To: to, Body: []byte{0x41, 0x80}}, "septet 1 is 0x80"},
		{"DCS and alphabet disagree", Submit{To: to, DCS: 0x08, Text: "hi"}, "0x08 selects ucs2 but Alphabet is gsm7"},
		{"8-bit from text", Submit{To: to, Alphabet: Data8, Text: "hi"}, "sent from Body"},
		{"8-bit reference above 255", Submit{To: to, Text: "hi", Concat: &Concat{Ref: 256, Total: 2, Seq: 1}}, "reference 256"},
		{"part beyond total", Submit{To: to, Text: "hi", Concat: &Concat{Ref: 1, Total: 2, Seq: 3}}, "part 3 of 2"},
		{"alphanumeric SMSC", Submit{SMSC: Address{Number: "Centre"}, To: to, Text: "hi"}, "smsc"},
		{"unknown alphabet", Submit{To: to, Alphabet: Alphabet(7), DCS: 0x0C, Text: "hi"}, "Alphabet(7)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := EncodeSubmit(tc.s)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "pdu: ") {
				t.Errorf("EncodeSubmit: got %v, want a pdu: ErrInvalid mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := EncodeDeliver(Deliver{From: to, Text: "hi"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("EncodeDeliver without a time: got %v, want ErrInvalid", err)
	}
	if _, err := EncodeStatusReport(StatusReport{Recipient: Address{Number: "Shop"}, Time: ts("2020-01-01T00:00:00Z"),
		Discharge: ts("2020-01-01T00:00:00Z")}); !errors.Is(err, ErrInvalid) {
		t.Errorf("EncodeStatusReport with an alphanumeric recipient: got %v, want ErrInvalid", err)
	}
}

func TestDecodeDispatch(t *testing.T) {
	t.Parallel()
	// 23.040 §9.2.3.1: a reserved TP-MTI 11 is read as a DELIVER.
	reserved := strings.Replace(deliverVectors[0].hex, "F0040B91", "F0070B91", 1)
	msg, err := Decode(mustHex(t, reserved))
	if d, ok := msg.(Deliver); err != nil || !ok || d.Text != "How are you?" {
		t.Errorf("Decode(MTI 11): got %#v, %v", msg, err)
	}
	// MTI 01 towards the modem is a SUBMIT-REPORT.
	if _, err := Decode(mustHex(t, "0011000B916407281553F80000AA0AE8329BFD4697D9EC37")); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "SUBMIT-REPORT") {
		t.Errorf("Decode(MTI 01): got %v", err)
	}
	if _, err := DecodeStatusReport(mustHex(t, deliverVectors[0].hex)); !errors.Is(err, ErrInvalid) {
		t.Errorf("DecodeStatusReport(deliver): got %v", err)
	}
	if _, err := DecodeSubmit(mustHex(t, deliverVectors[0].hex)); !errors.Is(err, ErrInvalid) {
		t.Errorf("DecodeSubmit(deliver): got %v", err)
	}
}

func TestStatusReportOutcome(t *testing.T) {
	t.Parallel()
	// 23.040 §9.2.3.15: 0x00-0x1F completed, 0x20-0x3F temporary and
	// still trying, 0x40-0x5F permanent, 0x60-0x7F temporary but given up.
	for _, tc := range []struct {
		st               byte
		delivered, final bool
	}{
		{0x00, true, true}, {0x02, true, true}, {0x1F, true, true},
		{0x20, false, false}, {0x30, false, false}, {0x3F, false, false},
		{0x40, false, true}, {0x43, false, true}, {0x46, false, true},
		{0x60, false, true}, {0x7F, false, true}, {0xFF, false, true},
	} {
		s := StatusReport{Status: tc.st}
		if s.Delivered() != tc.delivered || s.Final() != tc.final {
			t.Errorf("ST 0x%02X: got delivered=%v final=%v, want %v %v", tc.st, s.Delivered(), s.Final(), tc.delivered, tc.final)
		}
	}
}

func TestParseHex(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string
		err  string
	}{
		{"\r\n0011AbcD \r\n", "0011abcd", ""},
		{"  00  ", "00", ""},
		{"", "", "empty"},
		{" \r\n", "", "empty"},
		{"001", "", "odd length"},
		{"00 11", "", "invalid byte"},
		{"0G", "", "invalid byte"},
	} {
		got, err := ParseHex(tc.in)
		if tc.err != "" {
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseHex(%q): got %v, want error with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || hex.EncodeToString(got) != tc.want {
			t.Errorf("ParseHex(%q): got %x, %v, want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestJoinText(t *testing.T) {
	t.Parallel()
	// Another phone cut '€' (ESC 0x65) after the escape: alone, the parts
	// read "a " and "eb"; joined, "a€b".
	p1, p2 := []byte{'a', 0x1B}, []byte{0x65, 'b'}
	if got := JoinText(GSM7, p1) + JoinText(GSM7, p2); got != "a eb" {
		t.Errorf("parts decoded alone: got %q", got)
	}
	if got := JoinText(GSM7, p1, p2); got != "a€b" {
		t.Errorf("JoinText GSM7: got %q, want %q", got, "a€b")
	}
	// '😀' is D83D DE00; cut between the halves.
	u1, u2 := []byte{0x00, 'a', 0xD8, 0x3D}, []byte{0xDE, 0x00, 0x00, 'b'}
	if got := JoinText(UCS2, u1); got != "a\uFFFD" {
		t.Errorf("lone high surrogate: got %q", got)
	}
	if got := JoinText(UCS2, u1, u2); got != "a😀b" {
		t.Errorf("JoinText UCS2: got %q, want %q", got, "a😀b")
	}
	if got := JoinText(UCS2, []byte{0x00, 'a', 0x00}); got != "a\uFFFD" {
		t.Errorf("odd UCS-2 octet: got %q", got)
	}
	if got := JoinText(Data8, []byte("hi")); got != "" {
		t.Errorf("JoinText Data8: got %q, want empty", got)
	}
}

func TestSubmitParts(t *testing.T) {
	t.Parallel()
	to := Address{Number: "+31641600986"}
	rep := strings.Repeat
	tests := []struct {
		name  string
		text  string
		parts int
		a     Alphabet
	}{
		{"empty is one empty part", "", 1, GSM7},
		{"160 septets fit one", rep("a", 160), 1, GSM7},
		{"161 septets", rep("a", 161), 2, GSM7},
		{"euro 80 fits one", rep("€", 80), 1, GSM7},
		{"euro pair never cut", rep("a", 152) + "€" + rep("b", 10), 2, GSM7},
		{"euro 153 needs three", rep("€", 153), 3, GSM7},
		{"extension table", "{[~]}|^\\ and €5", 1, GSM7},
		{"UCS-2 70 fit one", rep("中", 70), 1, UCS2},
		{"UCS-2 multipart", rep("中", 135), 3, UCS2},
		{"emoji pairs never cut", rep("😀", 67), 3, UCS2},
		{"invalid UTF-8 is sent as U+FFFD", "caf\xe9 " + rep("x", 80), 2, UCS2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parts, err := SubmitParts(to, tc.text, 0x1234, SubmitOptions{StatusReport: true, ValidityRelative: 0xA7})
			if err != nil {
				t.Fatalf("SubmitParts: %v", err)
			}
			if len(parts) != tc.parts {
				t.Fatalf("parts: got %d, want %d", len(parts), tc.parts)
			}
			got := checkParts(t, parts)
			if want := string([]rune(tc.text)); got != want {
				t.Errorf("joined: got %q, want %q", got, want)
			}
			for i, p := range parts {
				if p.Alphabet != tc.a || !p.StatusReport || p.ValidityRelative != 0xA7 || p.To != to {
					t.Errorf("part %d: got %v, SRR %v, VP %d, to %v", i+1, p.Alphabet, p.StatusReport, p.ValidityRelative, p.To)
				}
				if len(parts) > 1 && p.Concat.Ref != 0x34 {
					t.Errorf("part %d: ref got 0x%X, want 0x34 (8-bit)", i+1, p.Concat.Ref)
				}
			}
		})
	}
}

func TestSubmitPartsErrors(t *testing.T) {
	t.Parallel()
	if _, err := SubmitParts(Address{}, "hi", 1, SubmitOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("no destination: got %v", err)
	}
	long := strings.Repeat("a", 153*255+1)
	if _, err := SubmitParts(Address{Number: "+1"}, long, 1, SubmitOptions{}); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "256 parts") {
		t.Errorf("256 parts: got %v", err)
	}
	if parts, err := SubmitParts(Address{Number: "+1"}, long[1:], 1, SubmitOptions{}); err != nil || len(parts) != 255 {
		t.Errorf("255 parts: got %d, %v", len(parts), err)
	}
}

// checkParts encodes and decodes every part, checks what SubmitParts
// promises of them and returns their joined text.
func checkParts(t testing.TB, parts []Submit) string {
	t.Helper()
	bodies := make([][]byte, len(parts))
	var a Alphabet
	for i, p := range parts {
		frame, n, err := EncodeSubmit(p)
		if err != nil {
			t.Fatalf("part %d: EncodeSubmit: %v", i+1, err)
		}
		if smsc := int(frame[0]) + 1; n != len(frame)-smsc {
			t.Errorf("part %d: tpduLen %d, want %d", i+1, n, len(frame)-smsc)
		}
		d, err := DecodeSubmit(frame)
		if err != nil {
			t.Fatalf("part %d: DecodeSubmit: %v", i+1, err)
		}
		if ud := userDataOctets(t, frame); ud > maxUDOctets {
			t.Errorf("part %d: %d octets of user data", i+1, ud)
		}
		switch {
		case len(parts) == 1 && d.Concat != nil:
			t.Errorf("single part has a header: %+v", *d.Concat)
		case len(parts) > 1 && (d.Concat == nil || d.Concat.Seq != byte(i+1) || d.Concat.Total != byte(len(parts)) ||
			d.Concat.Ref != parts[0].Concat.Ref || d.Concat.Wide):
			t.Errorf("part %d: concat %+v", i+1, d.Concat)
		}
		if d.Text != string([]rune(p.Text)) {
			t.Errorf("part %d: decoded %q, want %q", i+1, d.Text, p.Text)
		}
		bodies[i], a = d.Body, d.Alphabet
	}
	return JoinText(a, bodies...)
}

// userDataOctets walks an encoded SUBMIT to TP-UDL and returns how many
// octets of TP-UD follow it.
func userDataOctets(t testing.TB, frame []byte) int {
	t.Helper()
	r := reader{b: frame}
	_, err := readSMSC(&r)
	fo, _ := r.octet("fo")
	_, _ = r.octet("mr")
	if err == nil {
		_, err = readAddress(&r, "da")
	}
	if err == nil {
		_, err = r.take(2, "pid and dcs")
	}
	if err == nil && fo&foVPFMask == foVPFRelative {
		_, err = r.octet("vp")
	}
	if err == nil {
		_, err = r.octet("udl")
	}
	if err != nil {
		t.Fatalf("walking % X: %v", frame, err)
	}
	return len(r.rest())
}

func mustHexAllowEmpty(t *testing.T, s string) []byte {
	t.Helper()
	if s == "" {
		return []byte{}
	}
	return mustHex(t, s)
}

func TestAlphabetString(t *testing.T) {
	t.Parallel()
	for a, want := range map[Alphabet]string{GSM7: "gsm7", Data8: "8bit", UCS2: "ucs2", 9: "Alphabet(9)"} {
		if got := a.String(); got != want {
			t.Errorf("Alphabet(%d): got %q, want %q", int(a), got, want)
		}
	}
}
