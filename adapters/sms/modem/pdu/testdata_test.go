package pdu

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// listed is one message of a +CMGL listing.
type listed struct {
	header string // the "+CMGL: ..." line
	stat   int    // <stat>: 0 unread, 1 read, 2 unsent, 3 sent
	length int    // <length>: TPDU octets, SMSC part excluded
	frame  []byte
}

// readListing parses a +CMGL transcript from testdata; '#' lines are
// comments.
func readListing(t testing.TB, name string) []listed {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []listed
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<16)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "+CMGL: "):
			fields := strings.Split(strings.TrimPrefix(line, "+CMGL: "), ",")
			if len(fields) != 4 {
				t.Fatalf("%s: want 4 fields", line)
			}
			stat, err1 := strconv.Atoi(fields[1])
			length, err2 := strconv.Atoi(fields[3])
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: bad number", line)
			}
			out = append(out, listed{header: line, stat: stat, length: length})
		default:
			if len(out) == 0 || out[len(out)-1].frame != nil {
				t.Fatalf("frame %q without a +CMGL line", line)
			}
			out[len(out)-1].frame = mustHex(t, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestModemListing decodes a real +CMGL listing: every received message
// decodes, and <length> is the frame minus its SMSC part (27.005 §3.4.2),
// the same count AT+CMGS takes and EncodeSubmit returns.
func TestModemListing(t *testing.T) {
	t.Parallel()
	msgs := readListing(t, "testdata/cmgl_frontlinesms.txt")
	if len(msgs) != 17 {
		t.Fatalf("messages: got %d, want 17", len(msgs))
	}
	var delivers, reports int
	for _, m := range msgs {
		if smsc := int(m.frame[0]) + 1; len(m.frame)-smsc != m.length {
			t.Errorf("%s: TPDU is %d octets", m.header, len(m.frame)-smsc)
		}
		msg, err := Decode(m.frame)
		if err != nil {
			t.Errorf("%s: %v", m.header, err)
			continue
		}
		switch v := msg.(type) {
		case Deliver:
			delivers++
			if v.From.Number == "" || v.Time.IsZero() {
				t.Errorf("%s: decoded %s", m.header, describe(v))
			}
		case StatusReport:
			reports++
			if !v.Delivered() || !v.Final() {
				t.Errorf("%s: status 0x%02X, want delivered", m.header, v.Status)
			}
		}
	}
	if delivers != 13 || reports != 4 {
		t.Errorf("got %d delivers and %d status reports, want 13 and 4", delivers, reports)
	}
}
