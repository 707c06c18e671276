package modemtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

func TestPINFlow(t *testing.T) {
	s := New(Options{PIN: "1234", PUK: "87654321"})
	c := ready(t, s)
	c.cmd(`AT+CPIN="0000"`, "\r\n+CME ERROR: 16\r\n")
	c.cmd(`AT+CPIN="1111"`, "\r\n+CME ERROR: 16\r\n")
	c.cmd("AT+CPIN?", "\r\n+CPIN: SIM PIN\r\n"+okReply)
	c.cmd(`AT+CPIN="2222"`, "\r\n+CME ERROR: 16\r\n")
	c.cmd("AT+CPIN?", "\r\n+CPIN: SIM PUK\r\n"+okReply)
	if got := s.SIMState(); got != "SIM PUK" {
		t.Errorf("SIMState() = %q after three wrong PINs", got)
	}
	c.cmd(`AT+CPIN="1234"`, "\r\n+CME ERROR: 12\r\n") // the right PIN is too late
	c.cmd("AT+CMGL=4", "\r\n+CMS ERROR: 316\r\n")
	c.cmd("AT+CMGS=23", "\r\n+CMS ERROR: 316\r\n")
	c.cmd(`AT+CPIN="11111111","4321"`, "\r\n+CME ERROR: 16\r\n")
	c.cmd(`AT+CPIN="87654321","4321"`, okReply)
	c.cmd("AT+CPIN?", "\r\n+CPIN: READY\r\n"+okReply)
	c.cmd("AT+CMGL=4", okReply)

	// The new PIN is the one asked after a reboot.
	s.PowerCycle()
	c.cmd("ATE0", "ATE0\r"+okReply)
	c.cmd("AT+CMEE=1", okReply)
	c.cmd("AT+CPIN?", "\r\n+CPIN: SIM PIN\r\n"+okReply)
	c.cmd(`AT+CPIN="1234"`, "\r\n+CME ERROR: 16\r\n")
	c.cmd(`AT+CPIN="4321"`, okReply)
}

func TestPUKExhausted(t *testing.T) {
	s := New(Options{PIN: "1234"})
	c := ready(t, s)
	for range 3 {
		c.cmd(`AT+CPIN="0000"`, "\r\n+CME ERROR: 16\r\n")
	}
	for range 10 {
		c.cmd(`AT+CPIN="00000000","1234"`, "\r\n+CME ERROR: 16\r\n")
	}
	c.cmd("AT+CPIN?", "\r\n+CME ERROR: 13\r\n")
	c.cmd("AT+CMGL=4", "\r\n+CMS ERROR: 313\r\n")
	c.cmd(`AT+CPIN="12345678","1234"`, "\r\n+CME ERROR: 13\r\n")
}

func TestCMGS(t *testing.T) {
	s := New(Options{})
	c := ready(t, s)
	before := time.Now()

	c.cmd("AT+CMGS=23", "\r\n> ")
	c.send(submitPDU + "\x1a")
	c.expect("\r\n+CMGS: 0\r\n" + okReply)

	c.cmd("AT+CMGS=23", "\r\n> ")
	c.send(strings.ToLower(submitPDU) + "\x1a")
	c.expect("\r\n+CMGS: 1\r\n" + okReply)

	sent := s.Sent()
	if len(sent) != 2 {
		t.Fatalf("Sent() = %+v, want 2 submissions", sent)
	}
	for i, sub := range sent {
		if sub.MR != i || sub.PDU != submitPDU || sub.TPDULen != 23 || sub.Time.Before(before) {
			t.Errorf("Sent()[%d] = %+v", i, sub)
		}
	}
}

func TestCMGSRejects(t *testing.T) {
	tests := []struct {
		name  string
		setup func(s *Sim, c *client)
		cmd   string
		pdu   string
		want  string
	}{
		{"TPDU longer than announced", nil, "AT+CMGS=22", submitPDU, "+CMS ERROR: 304"},
		{"TPDU shorter than announced", nil, "AT+CMGS=24", submitPDU, "+CMS ERROR: 304"},
		{"SMSC part longer than the PDU", nil, "AT+CMGS=23", "FF" + submitPDU[2:], "+CMS ERROR: 304"},
		{"not hex", nil, "AT+CMGS=23", "0011000B916407281553F80000AA0AE8329BFD4697D9EC3G", "+CMS ERROR: 304"},
		{"odd number of digits", nil, "AT+CMGS=23", submitPDU + "0", "+CMS ERROR: 304"},
		{"CR inside the hex", nil, "AT+CMGS=23", submitPDU[:10] + "\r" + submitPDU[10:], "+CMS ERROR: 304"},
		{"empty", nil, "AT+CMGS=23", "", "+CMS ERROR: 304"},
		{"an SMS-DELIVER", nil, "AT+CMGS=30", deliverPDU, "+CMS ERROR: 304"},
		{"no stored SMSC", func(s *Sim, c *client) { c.cmd(`AT+CSCA=""`, okReply) },
			"AT+CMGS=23", submitPDU, "+CMS ERROR: 330"},
		{"no network", func(s *Sim, c *client) { s.SetRegistration(0) },
			"AT+CMGS=23", submitPDU, "+CMS ERROR: 331"},
		{"injected network timeout", func(s *Sim, c *client) { s.FailNext("+CMGS", CMSError(332)) },
			"AT+CMGS=23", submitPDU, "+CMS ERROR: 332"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{})
			c := ready(t, s)
			if tt.setup != nil {
				tt.setup(s, c)
			}
			c.cmd(tt.cmd, "\r\n> ")
			c.send(tt.pdu + "\x1a")
			c.expect("\r\n" + tt.want + "\r\n")
			if sent := s.Sent(); len(sent) != 0 {
				t.Errorf("Sent() = %+v after %s", sent, tt.want)
			}
			c.cmd("AT", okReply) // back in command mode
		})
	}
}

func TestCMGSBadLengthArgument(t *testing.T) {
	s := New(Options{})
	c := ready(t, s)
	for _, cmd := range []string{"AT+CMGS=0", "AT+CMGS=165", "AT+CMGS=x", "AT+CMGS=23,1"} {
		c.cmd(cmd, "\r\n+CMS ERROR: 304\r\n")
	}
	c.cmd("AT+CMGS", "\r\nERROR\r\n")
}

func TestCMGSEscapeAborts(t *testing.T) {
	s := New(Options{})
	c := ready(t, s)
	c.cmd("AT+CMGS=23", "\r\n> ")
	c.send(submitPDU[:20] + "\x1b")
	c.expect(okReply)
	if sent := s.Sent(); len(sent) != 0 {
		t.Errorf("Sent() = %+v after ESC", sent)
	}
	c.cmd("AT+CMGS=23", "\r\n> ")
	c.send(submitPDU + "\x1a")
	c.expect("\r\n+CMGS: 0\r\n" + okReply)
}

func TestCMGSEchoesThePDU(t *testing.T) {
	s := New(Options{})
	c := dial(t, s)
	c.cmd("AT+CMGS=23", "AT+CMGS=23\r\r\n> ")
	c.send(submitPDU + "\x1a")
	c.expect(submitPDU + "\r\n+CMGS: 0\r\n" + okReply)
}

func TestMessageReferenceWraps(t *testing.T) {
	s := New(Options{})
	s.nextMR = 254
	c := ready(t, s)
	for _, want := range []int{254, 255, 0, 1} {
		c.cmd("AT+CMGS=23", "\r\n> ")
		c.send(submitPDU + "\x1a")
		c.expect(fmt.Sprintf("\r\n+CMGS: %d\r\n", want) + okReply)
	}
}

func TestReceiveIndications(t *testing.T) {
	s := New(Options{})
	c := ready(t, s)

	// mt=0: stored without a word.
	if idx, err := s.Receive(deliverPDU); err != nil || idx != 1 {
		t.Fatalf("Receive() = %d, %v", idx, err)
	}
	c.quiet()

	c.cmd("AT+CNMI=2,1,0,2,0", okReply)
	idx, err := s.Receive(deliverPDU)
	if err != nil || idx != 2 {
		t.Fatalf("Receive() = %d, %v", idx, err)
	}
	c.expect("\r\n+CMTI: \"SM\",2\r\n")
	c.cmd("AT+CMGR=2", "\r\n+CMGR: 0,,30\r\n"+deliverPDU+"\r\n"+okReply)

	idx, err = s.ReceiveStatusReport(reportPDU)
	if err != nil || idx != 3 {
		t.Fatalf("ReceiveStatusReport() = %d, %v", idx, err)
	}
	c.expect("\r\n+CDSI: \"SM\",3\r\n")
	c.cmd("AT+CMGR=3", "\r\n+CMGR: 0,,25\r\n"+reportPDU+"\r\n"+okReply)

	c.cmd("AT+CNMI=2,2,0,1,0", okReply)
	if idx, err := s.Receive(deliverPDU); err != nil || idx != -1 {
		t.Fatalf("Receive() with mt=2 = %d, %v", idx, err)
	}
	c.expect("\r\n+CMT: ,30\r\n" + deliverPDU + "\r\n")
	if idx, err := s.ReceiveStatusReport(reportPDU); err != nil || idx != -1 {
		t.Fatalf("ReceiveStatusReport() with ds=1 = %d, %v", idx, err)
	}
	c.expect("\r\n+CDS: 25\r\n" + reportPDU + "\r\n")
	if n := len(s.Stored()); n != 3 {
		t.Errorf("%d messages stored, want 3 (routed ones are not)", n)
	}
}

func TestReceiveRejectsBadPDUs(t *testing.T) {
	s := New(Options{})
	for _, pdu := range []string{"", "00", "zz11", "0A1122", submitPDU} {
		if _, err := s.Receive(pdu); !errors.Is(err, ErrBadPDU) {
			t.Errorf("Receive(%q) error = %v, want ErrBadPDU", pdu, err)
		}
	}
	if _, err := s.ReceiveStatusReport(deliverPDU); !errors.Is(err, ErrBadPDU) {
		t.Errorf("ReceiveStatusReport(SMS-DELIVER) error = %v, want ErrBadPDU", err)
	}
}

func TestStatusReportsInSR(t *testing.T) {
	s := New(Options{StatusReportMemory: "SR", ZeroBasedIndex: true})
	c := ready(t, s)
	c.cmd("AT+CNMI=2,1,0,2,0", okReply)
	if _, err := s.ReceiveStatusReport(reportPDU); err != nil {
		t.Fatal(err)
	}
	c.expect("\r\n+CDSI: \"SR\",0\r\n")
	c.cmd("AT+CMGR=0", "\r\n+CMS ERROR: 321\r\n") // "SM" is empty
	c.cmd(`AT+CPMS="SR","SM","SM"`, "\r\n+CPMS: 1,30,0,30,0,30\r\n"+okReply)
	c.cmd("AT+CMGR=0", "\r\n+CMGR: 0,,25\r\n"+reportPDU+"\r\n"+okReply)
	c.cmd("AT+CMGD=0", okReply)
	if got := s.Stored(); len(got) != 0 {
		t.Errorf("Stored() = %+v, want nothing", got)
	}
}

func TestCNMIModeZeroBuffers(t *testing.T) {
	s := New(Options{})
	c := ready(t, s)
	c.cmd("AT+CNMI=0,1,0,0,0", okReply)
	if _, err := s.Receive(deliverPDU); err != nil {
		t.Fatal(err)
	}
	c.quiet()
	c.cmd("AT+CNMI=2,1,0,0,0", okReply+"\r\n+CMTI: \"SM\",1\r\n")

	c.cmd("AT+CNMI=0,1,0,0,0", okReply)
	if _, err := s.Receive(deliverPDU); err != nil {
		t.Fatal(err)
	}
	c.cmd("AT+CNMI=2,1,0,0,1", okReply) // bfr=1 clears the buffer
	c.quiet()
}

func TestStatePersistsAcrossConnections(t *testing.T) {
	noLeaks(t)
	s := New(Options{})
	c := ready(t, s)
	c.cmd("AT+CNMI=2,1,0,0,0", okReply)
	for want := 1; want <= 2; want++ {
		if _, err := s.Receive(deliverPDU); err != nil {
			t.Fatal(err)
		}
		c.expect(fmt.Sprintf("\r\n+CMTI: \"SM\",%d\r\n", want))
	}
	if err := c.hangup(); err == nil {
		t.Error("Serve returned nil after the host hung up, want the read error")
	}

	// Between gateways: the message is stored, its URC lost.
	if _, err := s.Receive(deliverPDU); err != nil {
		t.Fatal(err)
	}

	c = dial(t, s)
	c.quiet() // echo is still off: the modem was not rebooted
	c.cmd("AT+CMGL=4", "\r\n"+
		"+CMGL: 1,0,,30\r\n"+deliverPDU+"\r\n"+
		"+CMGL: 2,0,,30\r\n"+deliverPDU+"\r\n"+
		"+CMGL: 3,0,,30\r\n"+deliverPDU+"\r\n"+okReply)
	c.cmd("AT+CMGD=2", okReply)
	got := s.Stored()
	if len(got) != 2 || got[0].Index != 1 || got[1].Index != 3 || got[0].Stat != StatRecRead {
		t.Errorf("Stored() = %+v", got)
	}
	if cmds := s.Commands(); cmds[len(cmds)-1] != "AT+CMGD=2" {
		t.Errorf("last command %q", cmds[len(cmds)-1])
	}
}

func TestRoutedMessageStoredWithoutHost(t *testing.T) {
	s := New(Options{})
	c := ready(t, s)
	c.cmd("AT+CNMI=2,2,0,1,0", okReply)
	if err := c.hangup(); err == nil {
		t.Error("Serve returned nil after hang-up")
	}
	if idx, err := s.Receive(deliverPDU); err != nil || idx != 1 {
		t.Errorf("Receive() with no host = %d, %v; want it stored in 1", idx, err)
	}
	if idx, err := s.ReceiveStatusReport(reportPDU); err != nil || idx != 2 {
		t.Errorf("ReceiveStatusReport() with no host = %d, %v; want it stored in 2", idx, err)
	}
}

func TestURCsWaitForTheHostToSpeak(t *testing.T) {
	s := New(Options{})
	c := ready(t, s)
	c.cmd("AT+CNMI=2,1,0,0,0", okReply)
	if err := c.hangup(); err == nil {
		t.Error("Serve returned nil after hang-up")
	}
	c = dial(t, s)
	s.Ring()
	if _, err := s.Receive(deliverPDU); err != nil {
		t.Fatal(err)
	}
	c.cmd("AT", okReply+"\r\nRING\r\n\r\n+CMTI: \"SM\",1\r\n")
}

func TestMemoryFull(t *testing.T) {
	s := New(Options{SIMCapacity: 2})
	c := ready(t, s)
	c.cmd("AT+CNMI=2,1,0,0,0", okReply)
	for want := 1; want <= 2; want++ {
		if _, err := s.Receive(deliverPDU); err != nil {
			t.Fatal(err)
		}
		c.expect(fmt.Sprintf("\r\n+CMTI: \"SM\",%d\r\n", want))
	}
	for range 2 {
		if idx, err := s.Receive(deliverPDU); !errors.Is(err, ErrMemoryFull) || idx != -1 {
			t.Fatalf("Receive() on a full SIM = %d, %v; want ErrMemoryFull", idx, err)
		}
	}
	if _, err := s.Store(StatRecRead, deliverPDU); !errors.Is(err, ErrMemoryFull) {
		t.Errorf("Store() on a full SIM: %v", err)
	}
	if n := s.Waiting(); n != 2 {
		t.Fatalf("Waiting() = %d, want 2", n)
	}
	c.quiet()
	c.cmd("AT+CPMS?", "\r\n+CPMS: \"SM\",2,2,\"SM\",2,2,\"SM\",2,2\r\n"+okReply)

	// Freeing one slot lets one waiting message in, with its indication.
	c.cmd("AT+CMGD=2", okReply+"\r\n+CMTI: \"SM\",2\r\n")
	if n := s.Waiting(); n != 1 {
		t.Errorf("Waiting() = %d after one deletion, want 1", n)
	}
	c.cmd("AT+CMGD=1,4", okReply+"\r\n+CMTI: \"SM\",1\r\n")
	if n := s.Waiting(); n != 0 {
		t.Errorf("Waiting() = %d, want 0", n)
	}
}

func TestURCBeforeFinal(t *testing.T) {
	s := New(Options{URCTiming: URCBeforeFinal})
	c := ready(t, s)
	c.cmd("AT+CNMI=2,1,0,0,0", okReply)
	if _, err := s.Receive(deliverPDU); err != nil {
		t.Fatal(err)
	}
	c.cmd("AT+CMGS=23", "\r\n> ")
	c.send(submitPDU + "\x1a")
	c.expect("\r\n+CMGS: 0\r\n\r\n+CMTI: \"SM\",1\r\n" + okReply)

	s.SetURCTiming(URCImmediate)
	if _, err := s.Receive(deliverPDU); err != nil {
		t.Fatal(err)
	}
	c.expect("\r\n+CMTI: \"SM\",2\r\n")
}

func TestNoURCDuringPrompt(t *testing.T) {
	s := New(Options{})
	c := ready(t, s)
	c.cmd("AT+CNMI=2,1,0,0,0", okReply)
	c.cmd("AT+CMGS=23", "\r\n> ")
	s.URC("+CIEV: 9,1")
	c.send(submitPDU[:10])
	c.send(submitPDU[10:] + "\x1a")
	c.expect("\r\n+CMGS: 0\r\n" + okReply + "\r\n+CIEV: 9,1\r\n")
}

func TestFaultInjection(t *testing.T) {
	s := New(Options{})
	c := ready(t, s)

	s.FailNext("AT+CSQ", CMEError(100))
	c.cmd("AT+CSQ", "\r\n+CME ERROR: 100\r\n")
	c.cmd("AT+CSQ", "\r\n+CSQ: 20,99\r\n"+okReply)

	s.FailAlways("+cmgd", CMSError(320))
	mustStore(t, s, StatRecRead, deliverPDU)
	c.cmd("AT+CMGD=1", "\r\n+CMS ERROR: 320\r\n")
	c.cmd("AT+CMGD=1", "\r\n+CMS ERROR: 320\r\n")
	if n := len(s.Stored()); n != 1 {
		t.Errorf("a failed AT+CMGD deleted the message")
	}
	s.ClearFaults()
	c.cmd("AT+CMGD=1", okReply)

	// A failed send is not sent, and takes no message reference.
	s.FailNext("AT+CMGS", CMSError(332))
	c.cmd("AT+CMGS=23", "\r\n> ")
	c.send(submitPDU + "\x1a")
	c.expect("\r\n+CMS ERROR: 332\r\n")
	c.cmd("AT+CMGS=23", "\r\n> ")
	c.send(submitPDU + "\x1a")
	c.expect("\r\n+CMGS: 0\r\n" + okReply)
}

func TestGarbageAndRing(t *testing.T) {
	s := New(Options{})
	c := ready(t, s)
	s.Garbage("\x00\xff\r\n+CMT")
	s.Ring()
	c.expect("\x00\xff\r\n+CMT\r\nRING\r\n")
	c.cmd("AT", okReply)
}

func TestHoldWithholdsTheResponse(t *testing.T) {
	s := New(Options{})
	c := ready(t, s)
	c.cmd("AT+CNMI=2,1,0,0,0", okReply)
	h := s.Hold("AT+CMGS")
	c.cmd("AT+CMGS=23", "\r\n> ")
	c.send(submitPDU + "\x1a")
	waitReached(t, h)
	if n := len(s.Sent()); n != 1 {
		t.Fatalf("Sent() has %d messages while held, want 1: the send took effect", n)
	}
	// A URC may come between a command and its (held) result.
	if _, err := s.Receive(deliverPDU); err != nil {
		t.Fatal(err)
	}
	c.expect("\r\n+CMTI: \"SM\",1\r\n")
	c.send("AT\r") // buffered: one command at a time
	h.Release()
	h.Release()
	c.expect("\r\n+CMGS: 0\r\n" + okReply + okReply)
}

func TestHoldAcrossAGatewayRestart(t *testing.T) {
	noLeaks(t)
	s := New(Options{})
	c := ready(t, s)
	h := s.Hold("AT+CMGR")
	mustStore(t, s, StatRecUnread, deliverPDU)
	c.send("AT+CMGR=1\r")
	waitReached(t, h)
	if err := c.hangup(); err == nil {
		t.Error("Serve returned nil after hang-up")
	}
	h.Release()

	// The new gateway gets no stale response; the message was read by the
	// modem, so it is no longer REC UNREAD.
	c = dial(t, s)
	c.quiet()
	c.cmd("AT+CMGL=0", okReply)
	c.cmd("AT+CMGL=4", "\r\n+CMGL: 1,1,,30\r\n"+deliverPDU+"\r\n"+okReply)
}

func TestDelay(t *testing.T) {
	s := New(Options{})
	c := ready(t, s)
	h := s.Hold("AT+CSQ")
	s.Delay("+CSQ", 20*time.Millisecond)
	c.send("AT+CSQ\rAT+CGMI\r")
	waitReached(t, h)
	start := time.Now()
	h.Release()
	c.expect("\r\n+CSQ: 20,99\r\n" + okReply + "\r\nmodemtest\r\n" + okReply)
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("response came after %v, want the 20ms delay after the release", d)
	}
	s.Delay("+CSQ", 0)
	c.cmd("AT+CSQ", "\r\n+CSQ: 20,99\r\n"+okReply)
}

func waitReached(t *testing.T, h *Held) {
	t.Helper()
	select {
	case <-h.Reached():
	case <-time.After(testTimeout):
		t.Fatal("held command never reached")
	}
}

func TestPromptSurvivesTheHost(t *testing.T) {
	s := New(Options{})
	c := ready(t, s)
	c.cmd("AT+CMGS=23", "\r\n> ")
	if err := c.hangup(); err == nil {
		t.Error("Serve returned nil after hang-up")
	}
	// The next gateway's "AT" is taken as PDU text until it sends ESC.
	c = dial(t, s)
	c.send("AT\r")
	c.send("\x1b")
	c.expect(okReply)
	c.cmd("AT", okReply)
	if n := len(s.Sent()); n != 0 {
		t.Errorf("Sent() has %d messages", n)
	}
}

func TestPowerCycle(t *testing.T) {
	s := New(Options{PIN: "1234"})
	c := ready(t, s)
	c.cmd(`AT+CPIN="1234"`, okReply)
	c.cmd("AT+CNMI=2,1,0,0,0", okReply)
	mustStore(t, s, StatRecRead, deliverPDU)
	c.cmd("AT+CMGS=23", "\r\n> ")
	s.PowerCycle()
	c.send("AT\r")
	c.expect("AT\r" + okReply) // prompt gone, echo back on
	c.cmd("AT+CNMI?", "AT+CNMI?\r\r\n+CNMI: 0,0,0,0,0\r\n"+okReply)
	c.cmd("AT+CPIN?", "AT+CPIN?\r\r\n+CPIN: SIM PIN\r\n"+okReply)
	if n := len(s.Stored()); n != 1 {
		t.Errorf("the SIM lost its messages in a power cycle")
	}
}

func TestOnCommand(t *testing.T) {
	s := New(Options{OnCommand: func(cmd string) (string, bool) {
		if cmd == "AT+QINISTAT" {
			return "\r\n+QINISTAT: 7\r\n\r\nOK\r\n", true
		}
		return "", false
	}})
	c := ready(t, s)
	c.cmd("AT+QINISTAT", "\r\n+QINISTAT: 7\r\n"+okReply)
	c.cmd("AT+CSQ", "\r\n+CSQ: 20,99\r\n"+okReply)
}

func TestServeBusy(t *testing.T) {
	s := New(Options{})
	c := dial(t, s)
	c.cmd("AT", "AT\r"+okReply)
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if err := s.Serve(context.Background(), a); !errors.Is(err, ErrBusy) {
		t.Errorf("second Serve() = %v, want ErrBusy", err)
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	noLeaks(t)
	s := New(Options{})
	modemSide, hostSide := net.Pipe()
	defer hostSide.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, modemSide) }()

	// The modem is blocked writing a response nobody reads.
	if _, err := hostSide.Write([]byte("AT\r")); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Serve() = %v after cancel, want nil", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Serve did not return after cancel")
	}
	// The deadline was reset: the connection can be served again.
	c := newClient(t, hostSide)
	ctx, cancel = context.WithCancel(context.Background())
	go func() { errc <- s.Serve(ctx, modemSide) }()
	c.cmd("AT", "AT\r"+okReply)
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Serve() = %v", err)
	}
	c.close()
}
