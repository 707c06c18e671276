package main

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline/adapters/sms/gsm"
	"hotline/adapters/sms/modem"
	"hotline/adapters/sms/modem/modemtest"
	"hotline/adapters/sms/modem/pdu"
	"hotline/config"
	"hotline/envelope"
	"hotline/platform"
)

const phone = "+8613800138000"

func TestDeliverPDUs(t *testing.T) {
	zh := []rune(strings.Repeat("您好，我的账户登录不了，请帮我看看是怎么回事。", 10))[:150]
	at := time.Date(2026, 3, 14, 15, 9, 26, 0, time.FixedZone("CST", 8*3600))
	for _, tc := range []struct {
		name, text string
		alphabet   pdu.Alphabet
		parts      int
	}{
		{"200 GSM-7 characters", strings.Repeat("Where is my parcel? ", 10), pdu.GSM7, 2},
		{"keyword", "help+zh", pdu.GSM7, 1},
		{"extension characters", "price: 5€ [or] {so}", pdu.GSM7, 1},
		{"150 Chinese characters", string(zh), pdu.UCS2, 3},
		{"emoji", "ok 👍", pdu.UCS2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hexes, err := deliverPDUs(phone, tc.text, 0x2A, at)
			if err != nil {
				t.Fatal(err)
			}
			if len(hexes) != tc.parts {
				t.Fatalf("%d parts, want %d", len(hexes), tc.parts)
			}
			var bodies [][]byte
			for i, h := range hexes {
				if h != strings.ToUpper(h) {
					t.Errorf("part %d: hex %q is not upper case", i+1, h)
				}
				frame, err := pdu.ParseHex(h)
				if err != nil {
					t.Fatal(err)
				}
				d, err := pdu.DecodeDeliver(frame)
				if err != nil {
					t.Fatalf("part %d: %v", i+1, err)
				}
				if d.From.Number != phone || d.From.TOA != pdu.TOAInternational || d.SMSC.Number != modemtest.DefaultSMSC {
					t.Errorf("part %d: from %+v via %+v", i+1, d.From, d.SMSC)
				}
				if !d.Time.Equal(at) || d.Alphabet != tc.alphabet {
					t.Errorf("part %d: time %v, %v; want %v, %v", i+1, d.Time, d.Alphabet, at, tc.alphabet)
				}
				want := &pdu.Concat{Ref: 0x2A, Total: byte(tc.parts), Seq: byte(i + 1)}
				if tc.parts == 1 {
					want = nil
				}
				if (d.Concat == nil) != (want == nil) || d.Concat != nil && *d.Concat != *want {
					t.Errorf("part %d: concat %+v, want %+v", i+1, d.Concat, want)
				}
				bodies = append(bodies, d.Body)
			}
			if got := pdu.JoinText(tc.alphabet, bodies...); got != tc.text {
				t.Errorf("joined %q, want %q", got, tc.text)
			}
		})
	}
}

func TestDeliverPDUsBadSender(t *testing.T) {
	if _, err := deliverPDUs("+86138001380001234567890", "hi", 0, time.Now()); err == nil {
		t.Error("a 23-digit sender was encoded")
	}
}

func TestStamps(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	now := time.Date(2026, 3, 14, 15, 9, 26, 700_000_000, cst)
	whole := time.Date(2026, 3, 14, 15, 9, 26, 0, cst)
	for _, tc := range []struct {
		name      string
		now, last time.Time
		want      time.Time
	}{
		{"first", now, time.Time{}, whole},
		{"same second", now, whole, whole.Add(time.Second)},
		{"ahead of the clock", now, whole.Add(3 * time.Second), whole.Add(4 * time.Second)},
		{"zone without quarter hours", time.Date(2026, 3, 14, 15, 9, 26, 0, time.FixedZone("LMT", 8*3600+5*60)), time.Time{},
			time.Date(2026, 3, 14, 7, 4, 26, 0, time.UTC)},
	} {
		got := nextStamp(tc.now, tc.last)
		if !got.Equal(tc.want) || got.Nanosecond() != 0 {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		if _, off := got.Zone(); off%900 != 0 {
			t.Errorf("%s: zone offset %ds", tc.name, off)
		}
	}
}

// submission is what the simulator records when the gateway sends s.
func submission(t *testing.T, mr int, s pdu.Submit) modemtest.Submission {
	t.Helper()
	frame, n, err := pdu.EncodeSubmit(s)
	if err != nil {
		t.Fatal(err)
	}
	return modemtest.Submission{MR: mr, PDU: strings.ToUpper(hex.EncodeToString(frame)), TPDULen: n, Time: time.Now()}
}

func submits(t *testing.T, text string, ref uint16) []pdu.Submit {
	t.Helper()
	parts, err := pdu.SubmitParts(pdu.Address{Number: phone}, text, ref, pdu.SubmitOptions{StatusReport: true})
	if err != nil {
		t.Fatal(err)
	}
	return parts
}

func TestDescribe(t *testing.T) {
	long := strings.Repeat("Your ticket is open. ", 20) // 420 septets: 3 parts
	for _, tc := range []struct {
		name string
		mr   int
		s    pdu.Submit
		want string
	}{
		{"one part", 0, submits(t, "Hello!", 1)[0], "← +8613800138000: Hello!  (mr 0)"},
		{"part 2/3", 5, submits(t, long, 0x1A)[1], "← +8613800138000: " + gsm.Split(long)[1] + "  (part 2/3, ref 0x1A, mr 5)"},
		{"lines", 7, submits(t, "Menu:\n1 account\n2 payments\n", 1)[0], "← +8613800138000: Menu:\n    1 account\n    2 payments  (mr 7)"},
		{"chinese", 255, submits(t, "您好", 1)[0], "← +8613800138000: 您好  (mr 255)"},
		{"8-bit", 1, pdu.Submit{To: pdu.Address{Number: phone}, Alphabet: pdu.Data8, Body: []byte{1, 0xAB}}, "← +8613800138000: <8-bit data: 01AB>  (mr 1)"},
	} {
		s, err := decodeSubmission(submission(t, tc.mr, tc.s))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := describe(tc.mr, s); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
	if _, err := decodeSubmission(modemtest.Submission{PDU: "0001"}); err == nil {
		t.Error("a truncated submission decoded")
	}
}

func TestAssembler(t *testing.T) {
	text := strings.Repeat("您的工单已经创建，客服稍后联系您。", 10)
	parts := submits(t, text, 0x33)
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3", len(parts))
	}
	as := assembler{}
	if _, ok := as.add(submits(t, "short", 0x33)[0]); ok {
		t.Error("a single part was joined")
	}
	for i, seq := range []int{3, 1, 3, 2} { // part 3 sent twice, as after a retry
		s, err := decodeSubmission(submission(t, i, parts[seq-1]))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := as.add(s)
		if ok != (i == 3) {
			t.Fatalf("after part %d: joined %v", seq, ok)
		}
		if ok && got != text {
			t.Errorf("joined %q, want %q", got, text)
		}
		if ok {
			if want := "← +8613800138000: " + text + "  (all 3 parts of ref 0x33)"; describeJoined(s, got) != want {
				t.Errorf("describeJoined = %q, want %q", describeJoined(s, got), want)
			}
		}
	}
	if len(as) != 0 {
		t.Errorf("%d sets left after joining", len(as))
	}
}

func TestStatusReportPDU(t *testing.T) {
	sent := time.Date(2026, 3, 14, 15, 9, 26, 500, time.Local)
	h, err := statusReportPDU(5, pdu.Address{Number: phone}, sent, sent.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	frame, err := pdu.ParseHex(h)
	if err != nil {
		t.Fatal(err)
	}
	m, err := pdu.Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	sr, ok := m.(pdu.StatusReport)
	if !ok || sr.MR != 5 || sr.Recipient.Number != phone || !sr.Delivered() || sr.Status != 0 ||
		!sr.Time.Equal(sent.Truncate(time.Second)) || !sr.Discharge.Equal(sent.Add(time.Second).Truncate(time.Second)) {
		t.Errorf("decoded %#v", m)
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	path, link := filepath.Join(dir, "modem.yaml"), filepath.Join(dir, "hotline modem")
	for _, pin := range []string{"", "1234"} {
		if err := writeConfig(path, link, pin); err != nil { // the second run rewrites its own
			t.Fatal(err)
		}
		cfg, _, err := config.Load(config.Options{File: path, Platforms: []platform.Platform{modem.Platform()},
			LookupEnv: func(string) (string, bool) { return "", false }})
		if err != nil {
			t.Fatalf("hotline refuses the config: %v\n%s", err, configYAML(link, pin))
		}
		acct, ok := cfg.Find(envelope.PlatformSMS, "modem-1")
		if !ok {
			t.Fatalf("no account modem-1 in %+v", cfg.Accounts)
		}
		mc := acct.Settings.(*modem.Config)
		if mc.Device != link || mc.PIN.Reveal() != pin || mc.DefaultRegion != "CN" || mc.Poll != 5*time.Second || !mc.StatusReports {
			t.Errorf("account %+v", mc)
		}
		if cfg.NATS.StoreDir != config.Default().NATS.StoreDir {
			t.Errorf("store_dir %q, want hotline's default", cfg.NATS.StoreDir)
		}
	}
	theirs := filepath.Join(dir, "hotline.yaml")
	if err := os.WriteFile(theirs, []byte("log: {level: debug}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeConfig(theirs, link, ""); err == nil {
		t.Error("overwrote a config modemsim did not write")
	}
	if b, _ := os.ReadFile(theirs); string(b) != "log: {level: debug}\n" {
		t.Errorf("their config now holds %q", b)
	}
}

func TestLinks(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "modem")
	for _, target := range []string{"/dev/pts/98", "/dev/pts/99"} { // a stale link is replaced
		if err := placeLink(link, target); err != nil {
			t.Fatal(err)
		}
		if got, err := os.Readlink(link); err != nil || got != target {
			t.Fatalf("link -> %q, %v; want %s", got, err, target)
		}
	}
	if err := removeLink(link, "/dev/pts/98"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(link); err != nil {
		t.Error("removed a link pointing elsewhere")
	}
	if err := removeLink(link, "/dev/pts/99"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Errorf("link still there: %v", err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := placeLink(file, "/dev/pts/99"); err == nil {
		t.Error("replaced a regular file with a link")
	}
}
