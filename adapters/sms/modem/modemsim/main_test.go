package main

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.bug.st/serial"

	"hotline/adapters/sms/modem/modemtest"
	"hotline/adapters/sms/modem/pdu"
)

// waitLimit bounds every wait for output, so a broken run fails rather
// than hangs.
const waitLimit = 10 * time.Second

func TestFlags(t *testing.T) {
	var usage bytes.Buffer
	if _, err := parseFlags([]string{"-h"}, &usage); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, want := range []string{"-config", "-link", "-from", "-pin", "-reports", "-v", "go run ./cmd/hotline serve",
		"/from", "/signal", "/register", "/vanish", "/back", "/report", "/help", "/quit"} {
		if !strings.Contains(usage.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, usage.String())
		}
	}
	o, err := parseFlags([]string{"-link", "modem", "-pin", "0000", "-reports=false"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(o.link) || o.pin != "0000" || o.reports || o.from != phone || o.config != "" {
		t.Errorf("options %+v", o)
	}
	for _, bad := range [][]string{{"-pin", "12"}, {"-pin", "12a4"}, {"-from", ""}, {"extra"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// output is the terminal the simulator prints to.
type output struct {
	mu      sync.Mutex
	b       strings.Builder
	changed chan struct{}
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.b.Write(p)
	close(o.changed)
	o.changed = make(chan struct{})
	return len(p), nil
}

// waitFor returns once want has been printed.
func (o *output) waitFor(t *testing.T, want string) {
	t.Helper()
	limit := time.NewTimer(waitLimit)
	defer limit.Stop()
	for {
		o.mu.Lock()
		got, changed := o.b.String(), o.changed
		o.mu.Unlock()
		if strings.Contains(got, want) {
			return
		}
		select {
		case <-changed:
		case <-limit.C:
			t.Fatalf("no %q in the output:\n%s", want, got)
		}
	}
}

// host is the gateway's end of the device.
type host struct {
	t    *testing.T
	port serial.Port
	buf  []byte
}

func openHost(t *testing.T, path string) *host {
	t.Helper()
	port, err := serial.Open(path, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatalf("serial.Open(%s): %v", path, err)
	}
	if err := port.SetReadTimeout(100 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	return &host{t: t, port: port}
}

// cmd writes line and reads until the modem has answered want.
func (h *host) cmd(line, want string) {
	h.t.Helper()
	if _, err := h.port.Write([]byte(line)); err != nil {
		h.t.Fatalf("write %q: %v", line, err)
	}
	deadline := time.Now().Add(waitLimit)
	for !bytes.Contains(h.buf, []byte(want)) {
		if time.Now().After(deadline) {
			h.t.Fatalf("after %q: no %q in %q", line, want, h.buf)
		}
		b := make([]byte, 256)
		n, err := h.port.Read(b)
		if err != nil {
			h.t.Fatalf("read: %v", err)
		}
		h.buf = append(h.buf, b[:n]...)
	}
	_, h.buf, _ = bytes.Cut(h.buf, []byte(want))
}

func (h *host) close() {
	if err := h.port.Close(); err != nil {
		h.t.Error(err)
	}
}

func TestOverPTY(t *testing.T) {
	dir := t.TempDir()
	o := options{link: filepath.Join(dir, "modem"), config: filepath.Join(dir, "modem.yaml"), from: phone, reports: true}
	out := newOutput()
	a, err := start(t.Context(), o, out)
	if errors.Is(err, modemtest.ErrNoPTY) {
		t.Skipf("this system gives no pseudo-terminal (/dev/ptmx): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.close() }) // after a failure; the test's own close checks the error
	a.delay = 0
	out.waitFor(t, "go run ./cmd/hotline serve --config "+o.config)
	if _, err := os.Stat(o.config); err != nil {
		t.Error(err)
	}
	stdin, typing := io.Pipe()
	t.Cleanup(func() { _ = typing.Close() })
	done := make(chan error, 1)
	go func() { done <- a.loop(t.Context(), stdin) }()
	typeLine := func(line string) {
		t.Helper()
		if _, err := fmt.Fprintln(typing, line); err != nil {
			t.Fatal(err)
		}
	}

	h := openHost(t, o.link)
	h.cmd("AT\r", "\r\nOK\r\n")

	typeLine("hello")
	out.waitFor(t, "→ from +8613800138000: 1 SMS")
	if slots := a.sim.Stored(); len(slots) != 1 || !delivers(t, slots[0].PDU, phone, "hello") {
		t.Errorf("SIM holds %+v, want hello from %s", slots, phone)
	}

	parts, err := pdu.SubmitParts(pdu.Address{Number: phone}, "see you", 0, pdu.SubmitOptions{StatusReport: true})
	if err != nil {
		t.Fatal(err)
	}
	frame, n, err := pdu.EncodeSubmit(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	h.cmd(fmt.Sprintf("AT+CMGS=%d\r", n), "\r\n> ")
	h.cmd(strings.ToUpper(hex.EncodeToString(frame))+"\x1a", "\r\n+CMGS: 0\r\n\r\nOK\r\n")
	out.waitFor(t, "← +8613800138000: see you  (mr 0)")
	out.waitFor(t, "✓ delivered: status report for mr 0 to +8613800138000")
	var report *pdu.StatusReport
	for _, s := range a.sim.Stored() {
		if f, err := pdu.ParseHex(s.PDU); err == nil {
			if sr, err := pdu.DecodeStatusReport(f); err == nil {
				report = &sr
			}
		}
	}
	if report == nil || report.MR != 0 || report.Recipient.Number != phone || !report.Delivered() {
		t.Errorf("status report %+v", report)
	}

	typeLine("/signal 20")
	out.waitFor(t, "signal 20")
	h.cmd("AT+CSQ\r", "+CSQ: 20,99\r\n\r\nOK\r\n")
	h.close()

	typeLine("/vanish")
	out.waitFor(t, "is gone")
	if _, err := os.Lstat(o.link); !os.IsNotExist(err) {
		t.Errorf("link after /vanish: %v", err)
	}
	typeLine("/back")
	out.waitFor(t, "modem back")
	if got, err := os.Readlink(o.link); err != nil || got != a.pty.Device() {
		t.Errorf("link -> %q, %v; want %s", got, err, a.pty.Device())
	}
	h = openHost(t, o.link)
	h.cmd("AT\r", "\r\nOK\r\n")
	h.close()

	typeLine("/nonsense")
	out.waitFor(t, "! /nonsense: unknown command")
	if err := typing.Close(); err != nil { // EOF, as Ctrl-D
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("loop: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("loop did not end at EOF")
	}
	if err := a.close(); err != nil {
		t.Error(err)
	}
	if _, err := os.Lstat(o.link); !os.IsNotExist(err) {
		t.Errorf("link after close: %v", err)
	}
}

// delivers reports whether hexPDU is an SMS-DELIVER of text from from.
func delivers(t *testing.T, hexPDU, from, text string) bool {
	t.Helper()
	frame, err := pdu.ParseHex(hexPDU)
	if err != nil {
		t.Fatal(err)
	}
	d, err := pdu.DecodeDeliver(frame)
	return err == nil && d.From.Number == from && d.Text == text
}
