package pdu

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzSubmitText checks the round trip the modem adapter relies on: for
// any string, SubmitParts, EncodeSubmit, DecodeSubmit and JoinText give
// back string([]rune(text)), which is text itself when it is valid UTF-8
// (an invalid byte is sent as U+FFFD under UCS-2). Every part shares one
// reference, is numbered 1..n, and has at most 140 octets of user data.
func FuzzSubmitText(f *testing.F) {
	rep := strings.Repeat
	for _, s := range []string{
		"", "hellohello", "How are you?", "1234567", "BÄRÇA äñ@", "{[~]}|^\\€\f",
		rep("a", 160), rep("a", 161), rep("€", 80), rep("€", 153), rep("a", 152) + "€b",
		rep("中", 71), rep("😀", 67), rep("a", 66) + "😀", "caf\xe9", rep("\xff", 80),
		"\xed\xa0\x80", "line 1\r\nline 2", rep("word ", 70),
	} {
		f.Add(s)
	}
	for _, v := range deliverVectors {
		f.Add(v.want.Text)
	}
	to := Address{Number: "+31641600986"}
	f.Fuzz(func(t *testing.T, text string) {
		parts, err := SubmitParts(to, text, 0xBEEF, SubmitOptions{StatusReport: true})
		if errors.Is(err, ErrInvalid) && len(text) > 150*255 {
			return // more than 255 parts
		}
		if err != nil {
			t.Fatalf("SubmitParts(%q): %v", text, err)
		}
		if got, want := checkParts(t, parts), string([]rune(text)); got != want {
			t.Errorf("round trip of %q: got %q", text, got)
		}
	})
}

// FuzzDecode feeds any bytes to every decoder: none may panic, every
// error wraps ErrTruncated or ErrInvalid, and a frame that decodes and
// re-encodes must decode to the same message again.
func FuzzDecode(f *testing.F) {
	for _, h := range vectorFrames() {
		b, err := ParseHex(h)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	for _, m := range readListing(f, "testdata/cmgl_frontlinesms.txt") {
		f.Add(m.frame)
	}
	f.Add([]byte{})
	f.Add([]byte{0x00})
	f.Fuzz(func(t *testing.T, frame []byte) {
		checkErr := func(name string, err error) {
			if err != nil && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: error %v wraps neither sentinel", name, err)
			}
		}
		msg, err := Decode(frame)
		checkErr("Decode", err)
		if d, ok := msg.(Deliver); ok {
			if enc, err := EncodeDeliver(d); err == nil {
				again, err := DecodeDeliver(enc)
				if err != nil {
					t.Fatalf("DecodeDeliver(EncodeDeliver(% X)): %v", frame, err)
				}
				if !sameDeliver(normalDeliver(again), normalDeliver(d)) {
					t.Errorf("re-encoded deliver differs:\ngot  %s\nwant %s", describe(again), describe(d))
				}
			}
		}
		if r, ok := msg.(StatusReport); ok {
			if enc, err := EncodeStatusReport(r); err == nil {
				again, err := DecodeStatusReport(enc)
				if err != nil || !sameTimes(again.Time, r.Time) || !sameTimes(again.Discharge, r.Discharge) ||
					again.MR != r.MR || again.Status != r.Status ||
					normalAddr(again.Recipient) != normalAddr(r.Recipient) || normalAddr(again.SMSC) != normalAddr(r.SMSC) {
					t.Errorf("re-encoded report differs: got %+v, %v, want %+v", again, err, r)
				}
			}
		}
		_, err = DecodeDeliver(frame)
		checkErr("DecodeDeliver", err)
		_, err = DecodeStatusReport(frame)
		checkErr("DecodeStatusReport", err)
		s, err := DecodeSubmit(frame)
		checkErr("DecodeSubmit", err)
		if err == nil {
			if enc, _, err := EncodeSubmit(s); err == nil {
				again, err := DecodeSubmit(enc)
				if err != nil {
					t.Fatalf("DecodeSubmit(EncodeSubmit(% X)): %v", frame, err)
				}
				if !reflect.DeepEqual(normalSubmit(again), normalSubmit(s)) {
					t.Errorf("re-encoded submit differs:\ngot  %s\nwant %s", describe(again), describe(s))
				}
			}
		}
	})
}

// FuzzDeliverRoundTrip builds a Deliver from fuzzed fields, encodes and
// decodes it, and wants the same message back. The fields are shaped so
// that most inputs are encodable; an encoding error is only accepted for
// user data that does not fit one SMS.
func FuzzDeliverRoundTrip(f *testing.F) {
	f.Add("+31641600986", byte(0), byte(0x00), byte(0x00), int64(1030390661), int8(0), []byte("How are you?"), uint16(0), byte(0), byte(0), false, byte(0x04))
	f.Add("sipgate", byte(0xD0), byte(0x00), byte(0x00), int64(1218625642), int8(4), []byte("Testmail"), uint16(0), byte(0), byte(0), false, byte(0x04))
	f.Add("12220", byte(0x85), byte(0x39), byte(0xF1), int64(1274886737), int8(8), []byte("3,45 \x1be"), uint16(25), byte(2), byte(1), false, byte(0x44))
	f.Add("+447794134883", byte(0), byte(0), byte(0x08), int64(1234441667), int8(-12), []byte{0xD8, 0x3D, 0xDE, 0x00}, uint16(0xB9DB), byte(2), byte(2), true, byte(0x64))
	f.Add("0702597711", byte(0x81), byte(0), byte(0xF5), int64(1324467199), int8(79), []byte{0, 1, 2, 0xFF}, uint16(7), byte(1), byte(1), false, byte(0xA4))
	f.Fuzz(func(t *testing.T, from string, toa, pid, dcs byte, unix int64, quarters int8, body []byte,
		ref uint16, total, seq byte, wide bool, fo byte) {
		d := Deliver{
			SMSC:                   Address{Number: "+31624000000"},
			From:                   Address{Number: from, TOA: toa},
			PID:                    pid,
			DCS:                    dcs,
			Time:                   fuzzTime(unix, quarters),
			MoreMessages:           fo&0x04 == 0,
			StatusReportIndication: fo&0x20 != 0,
			ReplyPath:              fo&0x80 != 0,
		}
		d.Alphabet, d.Class = dcsInfo(dcs)
		if total > 0 && seq > 0 && seq <= total {
			d.Concat = &Concat{Ref: ref, Total: total, Seq: seq, Wide: wide}
			if !wide {
				d.Concat.Ref &= 0xFF
			}
		}
		if fo&0x40 != 0 {
			d.Elements = []IE{{ID: 0x05, Data: []byte{byte(ref >> 8), byte(ref), 0, 0}}}
		}
		d.Body = body
		if d.Alphabet == GSM7 {
			d.Body = make([]byte, len(body))
			for i, b := range body {
				d.Body[i] = b & 0x7F
			}
		}
		enc, err := EncodeDeliver(d)
		if err != nil {
			if errors.Is(err, ErrInvalid) && (len(body) > 120 || strings.Contains(err.Error(), "address")) {
				return // too long for one SMS, or an address the wire cannot hold
			}
			t.Fatalf("EncodeDeliver(%s): %v", describe(d), err)
		}
		got, err := DecodeDeliver(enc)
		if err != nil {
			t.Fatalf("DecodeDeliver(% X): %v", enc, err)
		}
		d.Text = JoinText(d.Alphabet, d.Body)
		d.From.TOA = d.From.resolveTOA()
		d.SMSC.TOA = d.SMSC.resolveTOA()
		if !isAlphanumeric(d.From.TOA) {
			d.From.Number = strings.ToLower(strings.TrimPrefix(d.From.Number, "+"))
			if isInternational(d.From.TOA) && d.From.Number != "" {
				d.From.Number = "+" + d.From.Number
			}
		}
		if !sameDeliver(got, d) {
			t.Errorf("round trip:\ngot  %s\nwant %s", describe(got), describe(d))
		}
	})
}

// fuzzTime maps any input to a time the timestamp can carry: 1990-2089,
// whole seconds, a zone of -79..79 quarter hours.
func fuzzTime(unix int64, quarters int8) time.Time {
	const span = int64(100 * 365.25 * 24 * 3600)
	base := time.Date(1990, 1, 2, 0, 0, 0, 0, time.UTC).Unix()
	if unix < 0 {
		unix = -(unix + 1)
	}
	q := int(quarters) % 80
	return time.Unix(base+unix%(span-2*86400), 0).In(time.FixedZone("", q*15*60))
}

func sameTimes(a, b time.Time) bool {
	_, ao := a.Zone()
	_, bo := b.Zone()
	return a.Equal(b) && ao == bo
}

// sameDeliver compares two messages as the wire carries them.
func sameDeliver(a, b Deliver) bool {
	if !sameTimes(a.Time, b.Time) || !bytes.Equal(a.Body, b.Body) {
		return false
	}
	a.Time, b.Time, a.Body, b.Body = time.Time{}, time.Time{}, nil, nil
	if len(a.Elements) == 0 && len(b.Elements) == 0 {
		a.Elements, b.Elements = nil, nil
	}
	for i := range a.Elements {
		if len(a.Elements[i].Data) == 0 {
			a.Elements[i].Data = nil
		}
	}
	for i := range b.Elements {
		if len(b.Elements[i].Data) == 0 {
			b.Elements[i].Data = nil
		}
	}
	return reflect.DeepEqual(a, b)
}

// normalAddr gives a TOA of 0 the value the encoder picks for it: bit 7
// of a TOA is always 1 on a well-formed wire, so 0 means "choose".
func normalAddr(a Address) Address {
	if a.TOA == 0 {
		a.TOA = a.resolveTOA()
	}
	return a
}

func normalDeliver(d Deliver) Deliver {
	d.SMSC, d.From = normalAddr(d.SMSC), normalAddr(d.From)
	return d
}

// normalSubmit clears what a SUBMIT may not carry through a re-encoding
// unchanged: nil versus empty slices, a TOA of 0.
func normalSubmit(s Submit) Submit {
	s.SMSC, s.To = normalAddr(s.SMSC), normalAddr(s.To)
	if len(s.Body) == 0 {
		s.Body = nil
	}
	if len(s.Elements) == 0 {
		s.Elements = nil
	}
	for i := range s.Elements {
		if len(s.Elements[i].Data) == 0 {
			s.Elements[i].Data = nil
		}
	}
	return s
}
