package pdu

import (
	"strings"
	"testing"
	"time"
)

// BenchmarkDecodeDeliver decodes one part of a long UCS-2 message, what
// the modem adapter does for every part it reads.
func BenchmarkDecodeDeliver(b *testing.B) {
	parts, err := DeliverParts(Address{Number: "+8613800100500"}, Address{Number: "+8613800138000"},
		strings.Repeat("您好，这是一条很长的短信。", 12), 7, time.Date(2026, 11, 30, 21, 0, 0, 0, time.FixedZone("", 8*3600)))
	if err != nil {
		b.Fatal(err)
	}
	frame, err := EncodeDeliver(parts[1])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeDeliver(frame); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSubmitParts splits and encodes a three-part GSM-7 reply, what
// a send does before AT+CMGS.
func BenchmarkSubmitParts(b *testing.B) {
	text := strings.Repeat("The € sign costs two septets. ", 14)
	b.ReportAllocs()
	for b.Loop() {
		parts, err := SubmitParts(Address{Number: "+8613800138000"}, text, 9, SubmitOptions{StatusReport: true})
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range parts {
			if _, _, err := EncodeSubmit(p); err != nil {
				b.Fatal(err)
			}
		}
	}
}
