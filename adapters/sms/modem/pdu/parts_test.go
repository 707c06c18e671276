package pdu

import (
	"strings"
	"testing"
	"time"
)

// TestDeliverParts checks the simulator's side: a long text from a phone
// decodes part by part and joins back, one reference for all parts.
func TestDeliverParts(t *testing.T) {
	at := time.Date(2026, 11, 30, 21, 0, 0, 0, time.FixedZone("", 8*3600))
	for _, text := range []string{"help+zh", strings.Repeat("The € sign. ", 20), strings.Repeat("您好，", 60)} {
		parts, err := DeliverParts(Address{Number: "+8613800100500"}, Address{Number: "+8613800138000"}, text, 0x1234, at)
		if err != nil {
			t.Fatal(err)
		}
		var bodies [][]byte
		for i, p := range parts {
			frame, err := EncodeDeliver(p)
			if err != nil {
				t.Fatal(err)
			}
			d, err := DecodeDeliver(frame)
			if err != nil {
				t.Fatal(err)
			}
			if d.From.Number != "+8613800138000" || !d.Time.Equal(at) || (len(parts) > 1) != (d.Concat != nil) ||
				(d.Concat != nil && (d.Concat.Ref != 0x34 || int(d.Concat.Seq) != i+1 || int(d.Concat.Total) != len(parts))) {
				t.Fatalf("%q part %d: %+v", text, i+1, d)
			}
			bodies = append(bodies, d.Body)
		}
		if got := JoinText(parts[0].Alphabet, bodies...); got != text {
			t.Fatalf("joined %q, want %q", got, text)
		}
	}
}
