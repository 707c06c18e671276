package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"hotline/adapters/sms/gsm"
	"hotline/adapters/sms/modem"
	"hotline/adapters/sms/modem/modemtest"
	"hotline/adapters/sms/modem/pdu"
	"hotline/bus/bustest"
)

// TestServeModemAccount runs serve with a modem account on the simulator,
// as an operator would with a SIM during an outage: with an announcement
// in force, help+zh by SMS is answered by the router through the modem,
// announcement and help in three UCS-2 PDUs sharing one reference, and
// hotline status shows the modem's signal and registration.
func TestServeModemAccount(t *testing.T) {
	t.Parallel()
	sim, pty := modemtest.Start(t, modemtest.Options{})
	sim.SetSignal(18, 0)
	cfg := testConfig(t, t.TempDir())
	addAccount(&cfg, modem.Platform(), &modem.Config{Account: "modem-1", Provider: modem.Provider, Device: pty.Path(),
		DefaultRegion: "CN", StatusReports: true, Poll: time.Second, PartsTimeout: time.Minute, Baud: 115200, Memory: "SM"})
	_, admin, _ := startServe(t, cfg)

	cli := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args = append(args, "--admin-url", "http://"+admin, "--token", testAdminToken)
		if code := run(context.Background(), args, &stdout, &stderr); code != exitOK {
			t.Fatalf("%v exited %d: %s", args, code, stderr.String())
		}
		return stdout.String()
	}
	cli("mode", "set", "announcement", "--scope", "sms", "--reason", "WeChat outage", "--by", "alice",
		"--announce", "zh=微信暂时无法使用，短信服务正常。", "--announce", "en=WeChat is down; SMS works.")

	frame, err := pdu.EncodeDeliver(pdu.Deliver{From: pdu.Address{Number: "+8613800138000"}, Alphabet: pdu.GSM7,
		Time: time.Now(), Body: mustSeptets(t, "help+zh")})
	if err != nil {
		t.Fatal(err)
	}
	bustest.WaitFor(t, "the modem to be opened and started", func() bool {
		for _, c := range sim.Commands() {
			if strings.HasPrefix(c, "AT+CMGL=") {
				return true
			}
		}
		return false
	})
	if _, err := sim.Receive(strings.ToUpper(hex.EncodeToString(frame))); err != nil {
		t.Fatal(err)
	}
	var subs []pdu.Submit
	bustest.WaitFor(t, "the reply's parts", func() bool {
		subs = subs[:0]
		for _, s := range sim.Sent() {
			f, _ := pdu.ParseHex(s.PDU)
			sub, err := pdu.DecodeSubmit(f)
			if err != nil {
				t.Fatal(err)
			}
			subs = append(subs, sub)
		}
		return len(subs) > 0 && (subs[0].Concat == nil || len(subs) == int(subs[0].Concat.Total))
	})
	var bodies [][]byte
	for i, s := range subs {
		if s.Alphabet != pdu.UCS2 || s.Concat == nil || s.Concat.Ref != subs[0].Concat.Ref || int(s.Concat.Seq) != i+1 {
			t.Fatalf("part %d of %d: %+v", i+1, len(subs), s)
		}
		bodies = append(bodies, s.Body)
	}
	text := pdu.JoinText(pdu.UCS2, bodies...)
	if !strings.Contains(text, "转人工客服") {
		t.Fatalf("reply %q is not the Chinese help", text)
	}
	if !strings.Contains(text, "微信暂时无法使用") {
		t.Fatalf("reply %q lacks the announcement", text)
	}
	if want := gsm.Analyze(text).Segments; len(subs) != want || len(subs) != 3 {
		t.Fatalf("%d PDUs, want 3 (%d by the segmenter)", len(subs), want)
	}
	t.Logf("help+zh: %d UTF-16 units sent as %d UCS-2 PDUs with reference %d", gsm.Units(text, gsm.UCS2), len(subs), subs[0].Concat.Ref)

	status := cli("status")
	for _, want := range []string{"sms/modem-1", "ready", "signal -77 dBm", "registration home", "memory 0/30 SM"} {
		if !strings.Contains(status, want) {
			t.Errorf("hotline status lacks %q:\n%s", want, status)
		}
	}
}

func mustSeptets(t *testing.T, text string) []byte {
	t.Helper()
	s, err := gsm.ToSeptets(text)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
