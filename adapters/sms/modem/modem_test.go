package modem

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"hotline/adapters/sms/modem/at"
	"hotline/envelope"
	"hotline/outbound"
)

func TestParseListing(t *testing.T) {
	// The shape of a real listing: cosimo/perl5-device-gsm contrib/pdu.txt
	// shows "+CMGL: 2,1,,31" followed by the PDU; a URC never lands in
	// the answer (package at takes it out).
	lines := []string{
		"+CMGL: 2,1,,31", "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07",
		`+CMGL: 5,3,"alpha",23`, "0011000B916407281553F80000AA0AE8329BFD4697D9EC37",
	}
	got, err := parseListing(lines)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].index != 2 || got[0].stat != 1 || !got[0].received() ||
		got[1].index != 5 || got[1].stat != 3 || got[1].received() || !strings.HasPrefix(got[1].pdu, "0011") {
		t.Fatalf("parsed %+v", got)
	}
	for _, bad := range [][]string{{"+CMGL: x,1,,3", "00"}, {"+CMGL: 1"}, {"+CMGL: 1,0,,5"}} {
		if _, err := parseListing(bad); err == nil {
			t.Errorf("parseListing(%q) = nil error", bad)
		}
	}
}

func TestParseRead(t *testing.T) {
	s, err := parseRead(3, []string{"+CMGR: 0,,24", "0791"})
	if err != nil || s.index != 3 || s.stat != 0 || s.pdu != "0791" {
		t.Fatalf("parseRead = %+v, %v", s, err)
	}
	for _, bad := range [][]string{nil, {"+CMGR: 0,,24"}, {"+CMGR: z,,1", "00"}} {
		if _, err := parseRead(1, bad); err == nil {
			t.Errorf("parseRead(%q) = nil error", bad)
		}
	}
}

func TestClassify(t *testing.T) {
	cms := func(code int) error { return &at.Error{Command: "AT+CMGS=23", Kind: "+CMS ERROR", Code: code} }
	tests := []struct {
		err    error
		kind   outbound.Kind
		reason string
	}{
		{cms(1), outbound.Permanent, "invalid_number"},
		{cms(8), outbound.Permanent, "barred"},
		{cms(21), outbound.Permanent, "barred"},
		{cms(304), outbound.Permanent, "bad_pdu"},
		{cms(42), outbound.Throttled, "throttled"},
		{cms(314), outbound.Throttled, "throttled"},
		{cms(331), outbound.Retryable, "cms_331"},
		{cms(332), outbound.Retryable, "cms_332"},
		{cms(38), outbound.Retryable, "cms_38"},
		{cms(500), outbound.Retryable, "cms_500"},
		{&at.Error{Command: "AT+CMGS=23", Kind: "ERROR", Code: -1}, outbound.Retryable, "modem_error"},
		{fmt.Errorf("send: %w", at.ErrTimeout), outbound.Retryable, "modem_io"},
		{at.ErrClosed, outbound.Retryable, "modem_io"},
	}
	for _, tc := range tests {
		var se *outbound.SendError
		if !errors.As(classify(tc.err), &se) || se.Kind != tc.kind || se.Reason != tc.reason {
			t.Errorf("classify(%v) = %v, want %s %s", tc.err, se, tc.kind, tc.reason)
		}
	}
}

func TestHealthParsers(t *testing.T) {
	for v, want := range map[string]int{"21,99": -71, "0,0": -113, "31,0": -51, "99,99": 0, "x": 0} {
		if got := signalDBm(v); got != want {
			t.Errorf("signalDBm(%q) = %d, want %d", v, got, want)
		}
	}
	for v, want := range map[string]string{"0,1": "home", "0,5": "roaming", "2,2,\"1A2B\",\"0001\"": "searching",
		"0,3": "denied", "0,0": "not registered", "1": "unknown", "0,7": "roaming"} {
		if got := registration(v); got != want {
			t.Errorf("registration(%q) = %q, want %q", v, got, want)
		}
	}
	if used, total := memoryUse(`"SM",3,30,"SM",3,30,"SM",3,30`); used != 3 || total != 30 {
		t.Errorf("memoryUse = %d/%d", used, total)
	}
}

func TestDedupID(t *testing.T) {
	at := time.Date(2026, 11, 30, 8, 0, 0, 0, time.FixedZone("", 8*3600))
	a := dedupID("+8613800000000", at, "", []byte("help"))
	if a != dedupID("+8613800000000", at.UTC(), "", []byte("help")) {
		t.Fatal("the same message in another zone has another id")
	}
	for _, other := range []string{
		dedupID("+8613800000001", at, "", []byte("help")),
		dedupID("+8613800000000", at.Add(time.Second), "", []byte("help")),
		dedupID("+8613800000000", at, "", []byte("help+zh")),
		dedupID("+8613800000000", at, "7/3/1", []byte("help")),
	} {
		if other == a {
			t.Fatalf("two messages share id %s", a)
		}
	}
}

func TestReplyText(t *testing.T) {
	r := envelope.Reply{Text: "see this\n", Media: []envelope.Media{{URL: "https://x.example/a.png"}, {}}}
	if got := replyText(r); got != "see this\nhttps://x.example/a.png" {
		t.Fatalf("replyText = %q", got)
	}
	if got := replyText(envelope.Reply{Media: []envelope.Media{{URL: "https://x.example/a.png"}}}); got != "https://x.example/a.png" {
		t.Fatalf("media only: %q", got)
	}
	if replyRef("r1") != replyRef("r1") || replyRef("r1") == replyRef("r2") {
		t.Fatal("replyRef is not a stable hash of the id")
	}
}

func TestValidate(t *testing.T) {
	good := Config{Account: "modem-1", Provider: Provider, Device: "/dev/ttyUSB2", PIN: "1234", SMSC: "+8613800100500", DefaultRegion: "CN"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := Config{Account: "bad name", Provider: "twilio", Baud: -1, PIN: "12", SMSC: "abc", DefaultRegion: "cn",
		Memory: "XX", PartsTimeout: -1, Poll: -1, SendRate: -1}
	err := bad.Validate()
	for _, key := range []string{"name:", "provider:", "device: required", "baud:", "pin:", "smsc:", "default_region:",
		"memory:", "parts_timeout:", "poll:", "send_rate:"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Validate() = %v, want a problem with %s", err, key)
		}
	}
	if strings.Contains(err.Error(), "12") {
		t.Errorf("the PIN is quoted in %v", err)
	}
}
