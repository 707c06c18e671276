package modemtest

import (
	"context"
	"errors"
	"os"
	"testing"

	"go.bug.st/serial"
)

// openPort opens the device as the gateway does, and a client on it.
func openPort(t *testing.T, path string) *client {
	t.Helper()
	port, err := serial.Open(path, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatalf("serial.Open(%s): %v", path, err)
	}
	c := newClient(t, port)
	t.Cleanup(c.close)
	return c
}

func TestPTYWithSerial(t *testing.T) {
	noLeaks(t)
	s, p := Start(t, Options{})
	mustStore(t, s, StatRecUnread, deliverPDU)

	target, err := os.Readlink(p.Path())
	if err != nil || target != p.Device() {
		t.Fatalf("Path() %s -> %q, %v; want a link to %s", p.Path(), target, err, p.Device())
	}

	// serial.Open puts the tty in raw mode: CR arrives as CR, no tty echo.
	c := openPort(t, p.Path())
	c.cmd("AT", "AT\r"+okReply)
	c.cmd("ATE0", "ATE0\r"+okReply)
	c.cmd("AT+CMGL=4", "\r\n+CMGL: 1,0,,30\r\n"+deliverPDU+"\r\n"+okReply)
	c.cmd("AT+CMGS=23", "\r\n> ")
	c.send(submitPDU + "\x1a")
	c.expect("\r\n+CMGS: 0\r\n" + okReply)

	if err := p.Vanish(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "reads on the vanished port to fail", func() bool { return c.readErr() != nil })
	if _, err := c.rw.Write([]byte("AT\r")); err == nil {
		t.Error("a write to the vanished port succeeded")
	}
	if _, err := os.Lstat(p.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Path() still exists after Vanish: %v", err)
	}
	if port, err := serial.Open(p.Path(), &serial.Mode{BaudRate: 115200}); err == nil {
		port.Close()
		t.Error("serial.Open succeeded on a vanished device")
	}
	if err := p.Vanish(); !errors.Is(err, ErrVanished) {
		t.Errorf("second Vanish() = %v, want ErrVanished", err)
	}

	if err := p.Reappear(); err != nil {
		t.Fatal(err)
	}
	if err := p.Reappear(); !errors.Is(err, ErrVanished) {
		t.Errorf("second Reappear() = %v, want ErrVanished", err)
	}
	c = openPort(t, p.Path())
	c.cmd("AT", "AT\r"+okReply) // it rebooted: echo is back on
	c.cmd("ATE0", "ATE0\r"+okReply)
	c.cmd("AT+CMGL=4", "\r\n+CMGL: 1,1,,30\r\n"+deliverPDU+"\r\n"+okReply)
	if n := len(s.Sent()); n != 1 {
		t.Errorf("Sent() has %d messages, want 1", n)
	}
}

func TestPTYHostReopens(t *testing.T) {
	s, p := Start(t, Options{})
	c := openPort(t, p.Path())
	c.cmd("ATE0", "ATE0\r"+okReply)
	c.cmd("AT+CNMI=2,1,0,0,0", okReply)
	if _, err := s.Receive(deliverPDU); err != nil {
		t.Fatal(err)
	}
	c.expect("\r\n+CMTI: \"SM\",1\r\n")
	c.close()

	// Closed port: stored, indication lost.
	if _, err := s.Receive(deliverPDU); err != nil {
		t.Fatal(err)
	}
	c = openPort(t, p.Path())
	c.quiet()
	c.cmd("AT+CMGL=0", "\r\n"+
		"+CMGL: 1,0,,30\r\n"+deliverPDU+"\r\n"+
		"+CMGL: 2,0,,30\r\n"+deliverPDU+"\r\n"+okReply)
	if _, err := s.Receive(deliverPDU); err != nil {
		t.Fatal(err)
	}
	c.expect("\r\n+CMTI: \"SM\",3\r\n")
}

func TestPTYStopsWithContext(t *testing.T) {
	noLeaks(t)
	s := New(Options{Logf: t.Logf})
	ctx, cancel := context.WithCancel(context.Background())
	p, err := s.StartPTY(ctx)
	if errors.Is(err, ErrNoPTY) {
		t.Skipf("this system gives no pseudo-terminal (/dev/ptmx): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	c := openPort(t, p.Path())
	c.cmd("AT", "AT\r"+okReply)
	cancel()
	eventually(t, "the modem to let go of its connection", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return !s.attached
	})
	c.close()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close() = %v", err)
	}
	if err := p.Reappear(); !errors.Is(err, ErrPTYClosed) {
		t.Errorf("Reappear() after Close = %v", err)
	}
	if _, err := os.Stat(p.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("link survives Close: %v", err)
	}
}
