package modemtest

import (
	"slices"
	"testing"
)

// step is one exchange: an optional action on the Sim, then a command line
// (without CR) and the exact bytes the modem answers.
type step struct {
	do   func(s *Sim)
	send string
	want string
}

func TestCommands(t *testing.T) {
	const e0 = "ATE0\r" + okReply // the first step of most cases
	tests := []struct {
		name  string
		opts  Options
		steps []step
	}{
		{"echo on at power-on", Options{}, []step{
			{send: "AT", want: "AT\r" + okReply},
			{send: "at", want: "at\r" + okReply},
		}},
		{"echo off and on", Options{}, []step{
			{send: "ATE0", want: e0},
			{send: "AT", want: okReply},
			{send: "ATE1", want: okReply},
			{send: "AT", want: "AT\r" + okReply},
		}},
		{"basic command chain", Options{}, []step{
			{send: "ATE0Q0V1", want: "ATE0Q0V1\r" + okReply},
			{send: "ATV0", want: "\r\nERROR\r\n"},
			{send: "ATI", want: "\r\nmodemtest\r\nPDU-SIM\r\nRevision: 1\r\n" + okReply},
		}},
		{"ATZ restores power-on settings", Options{}, []step{
			{send: "ATE0", want: e0},
			{send: "AT+CMEE=2", want: okReply},
			{send: "ATZ", want: okReply},
			{send: "AT+CMEE?", want: "AT+CMEE?\r\r\n+CMEE: 0\r\n" + okReply},
		}},
		{"unknown, malformed and concatenated commands", Options{}, []step{
			{send: "ATE0", want: e0},
			{send: "AT+FOO", want: "\r\nERROR\r\n"},
			{send: "AT+CSQ!", want: "\r\nERROR\r\n"},
			{send: "AT+CMGF=0;+CNMI=2,1", want: "\r\nERROR\r\n"},
			{send: `AT+CSCA="+1`, want: "\r\nERROR\r\n"},
		}},
		{"CMEE selects the error form", Options{}, []step{
			{send: "ATE0", want: e0},
			{send: "AT+CMGR=99", want: "\r\nERROR\r\n"},
			{send: "AT+CMEE=1", want: okReply},
			{send: "AT+CMGR=99", want: "\r\n+CMS ERROR: 321\r\n"},
			{send: "AT+CPIN=\"0000\"", want: "\r\n+CME ERROR: 3\r\n"},
			{send: "AT+CMEE=2", want: okReply},
			{send: "AT+CMGR=99", want: "\r\n+CMS ERROR: invalid memory index\r\n"},
			{send: "AT+CPIN=\"0000\"", want: "\r\n+CME ERROR: operation not allowed\r\n"},
			{send: "AT+CMEE?", want: "\r\n+CMEE: 2\r\n" + okReply},
			{send: "AT+CMEE=3", want: "\r\nERROR\r\n"},
			{send: "AT+CMEE=?", want: "\r\n+CMEE: (0-2)\r\n" + okReply},
		}},
		{"CPIN ready", Options{}, []step{
			{send: "ATE0", want: e0},
			{send: "AT+CPIN?", want: "\r\n+CPIN: READY\r\n" + okReply},
		}},
		{"CMGF text mode refuses message commands", Options{}, []step{
			{send: "ATE0", want: e0},
			{send: "AT+CMEE=1", want: okReply},
			{send: "AT+CMGF?", want: "\r\n+CMGF: 0\r\n" + okReply},
			{send: "AT+CMGF=1", want: okReply},
			{send: "AT+CMGF?", want: "\r\n+CMGF: 1\r\n" + okReply},
			{send: "AT+CMGS=23", want: "\r\n+CMS ERROR: 302\r\n"},
			{send: "AT+CMGR=1", want: "\r\n+CMS ERROR: 302\r\n"},
			{send: "AT+CMGL=4", want: "\r\n+CMS ERROR: 302\r\n"},
			{send: "AT+CMGF=2", want: "\r\nERROR\r\n"},
			{send: "AT+CMGF=?", want: "\r\n+CMGF: (0,1)\r\n" + okReply},
		}},
		{"CPMS", Options{}, []step{
			{send: "ATE0", want: e0},
			{send: "AT+CMEE=1", want: okReply},
			{do: func(s *Sim) { mustStore(t, s, StatRecRead, deliverPDU) }},
			{send: `AT+CPMS="SM","SM","SM"`, want: "\r\n+CPMS: 1,30,1,30,1,30\r\n" + okReply},
			{send: "AT+CPMS?", want: "\r\n+CPMS: \"SM\",1,30,\"SM\",1,30,\"SM\",1,30\r\n" + okReply},
			{send: `AT+CPMS="ME"`, want: "\r\n+CMS ERROR: 302\r\n"},
			{send: `AT+CPMS="SR"`, want: "\r\n+CMS ERROR: 302\r\n"},
			{send: "AT+CPMS=?", want: "\r\n+CPMS: (\"SM\"),(\"SM\"),(\"SM\")\r\n" + okReply},
		}},
		{"CPMS with an SR memory", Options{StatusReportMemory: "SR", SRCapacity: 5}, []step{
			{send: "ATE0", want: e0},
			{send: `AT+CPMS="SR"`, want: "\r\n+CPMS: 0,5,0,30,0,30\r\n" + okReply},
			{send: "AT+CPMS?", want: "\r\n+CPMS: \"SR\",0,5,\"SM\",0,30,\"SM\",0,30\r\n" + okReply},
			{send: `AT+CPMS="SM","SR"`, want: "\r\nERROR\r\n"},
			{send: "AT+CPMS=?", want: "\r\n+CPMS: (\"SM\",\"SR\"),(\"SM\"),(\"SM\")\r\n" + okReply},
		}},
		{"CNMI", Options{}, []step{
			{send: "ATE0", want: e0},
			{send: "AT+CMEE=1", want: okReply},
			{send: "AT+CNMI?", want: "\r\n+CNMI: 0,0,0,0,0\r\n" + okReply},
			{send: "AT+CNMI=2,1,0,2,0", want: okReply},
			{send: "AT+CNMI?", want: "\r\n+CNMI: 2,1,0,2,0\r\n" + okReply},
			{send: "AT+CNMI=2,4", want: "\r\n+CMS ERROR: 303\r\n"},
			{send: "AT+CNMI=?", want: "\r\n+CNMI: (0-3),(0-3),(0-3),(0-2),(0,1)\r\n" + okReply},
		}},
		{"CSMP", Options{}, []step{
			{send: "ATE0", want: e0},
			{send: "AT+CSMP?", want: "\r\n+CSMP: 17,167,0,0\r\n" + okReply},
			{send: "AT+CSMP=49,171,0,8", want: okReply},
			{send: "AT+CSMP?", want: "\r\n+CSMP: 49,171,0,8\r\n" + okReply},
		}},
		{"CSCA", Options{SMSC: "+31653131313"}, []step{
			{send: "ATE0", want: e0},
			{send: "AT+CSCA?", want: "\r\n+CSCA: \"+31653131313\",145\r\n" + okReply},
			{send: `AT+CSCA="0612345678"`, want: okReply},
			{send: "AT+CSCA?", want: "\r\n+CSCA: \"0612345678\",129\r\n" + okReply},
			{send: `AT+CSCA="+447785016005",145`, want: okReply},
			{send: "AT+CSCA?", want: "\r\n+CSCA: \"+447785016005\",145\r\n" + okReply},
		}},
		{"CSQ", Options{}, []step{
			{send: "ATE0", want: e0},
			{send: "AT+CSQ", want: "\r\n+CSQ: 20,99\r\n" + okReply},
			{do: func(s *Sim) { s.SetSignal(99, 99) }},
			{send: "AT+CSQ", want: "\r\n+CSQ: 99,99\r\n" + okReply},
			{send: "AT+CSQ=?", want: "\r\n+CSQ: (0-31,99),(0-7,99)\r\n" + okReply},
		}},
		{"CREG and CEREG", Options{}, []step{
			{send: "ATE0", want: e0},
			{send: "AT+CREG?", want: "\r\n+CREG: 0,1\r\n" + okReply},
			{do: func(s *Sim) { s.SetRegistration(5) }},
			{send: "AT+CREG?", want: "\r\n+CREG: 0,5\r\n" + okReply},
			{send: "AT+CEREG?", want: "\r\n+CEREG: 0,5\r\n" + okReply},
			{do: func(s *Sim) { s.SetEPSRegistration(1) }},
			{send: "AT+CEREG?", want: "\r\n+CEREG: 0,1\r\n" + okReply},
			{send: "AT+CREG=2", want: okReply},
			{send: "AT+CREG?", want: "\r\n+CREG: 2,5,\"00C3\",\"0000A13F\"\r\n" + okReply},
			{send: "AT+CREG=1", want: okReply},
			{do: func(s *Sim) { s.SetRegistration(2) }, want: "\r\n+CREG: 2\r\n"},
			{send: "AT+CREG=?", want: "\r\n+CREG: (0-2)\r\n" + okReply},
		}},
		{"CMGL lists by status and marks read", Options{}, []step{
			{send: "ATE0", want: e0},
			{do: func(s *Sim) {
				mustStore(t, s, StatRecUnread, deliverPDU)
				mustStore(t, s, StatStoSent, submitPDU)
			}},
			{send: "AT+CMGL=0", want: "\r\n+CMGL: 1,0,,30\r\n" + deliverPDU + "\r\n" + okReply},
			{send: "AT+CMGL=0", want: okReply},
			{send: "AT+CMGL=4", want: "\r\n+CMGL: 1,1,,30\r\n" + deliverPDU + "\r\n+CMGL: 2,3,,23\r\n" + submitPDU + "\r\n" + okReply},
			{send: "AT+CMGL=3", want: "\r\n+CMGL: 2,3,,23\r\n" + submitPDU + "\r\n" + okReply},
			{send: "AT+CMGL=?", want: "\r\n+CMGL: (0-4)\r\n" + okReply},
		}},
		{"CMGL defaults to unread", Options{}, []step{
			{send: "ATE0", want: e0},
			{do: func(s *Sim) { mustStore(t, s, StatRecUnread, deliverPDU) }},
			{send: "AT+CMGL", want: "\r\n+CMGL: 1,0,,30\r\n" + deliverPDU + "\r\n" + okReply},
		}},
		{"CMGR reads and marks read", Options{}, []step{
			{send: "ATE0", want: e0},
			{send: "AT+CMEE=1", want: okReply},
			{do: func(s *Sim) { mustStore(t, s, StatRecUnread, deliverPDU) }},
			{send: "AT+CMGR=1", want: "\r\n+CMGR: 0,,30\r\n" + deliverPDU + "\r\n" + okReply},
			{send: "AT+CMGR=1", want: "\r\n+CMGR: 1,,30\r\n" + deliverPDU + "\r\n" + okReply},
			{send: "AT+CMGR=2", want: "\r\n+CMS ERROR: 321\r\n"},
			{send: "AT+CMGR=0", want: "\r\n+CMS ERROR: 321\r\n"},
			{send: "AT+CMGR=x", want: "\r\n+CMS ERROR: 304\r\n"},
		}},
		{"zero-based indexes", Options{ZeroBasedIndex: true}, []step{
			{send: "ATE0", want: e0},
			{do: func(s *Sim) { mustStore(t, s, StatRecUnread, deliverPDU) }},
			{send: "AT+CMGR=0", want: "\r\n+CMGR: 0,,30\r\n" + deliverPDU + "\r\n" + okReply},
			{send: "AT+CMGD=0", want: okReply},
		}},
		{"CMGD one index and by flag", Options{}, []step{
			{send: "ATE0", want: e0},
			{send: "AT+CMEE=1", want: okReply},
			{do: func(s *Sim) {
				mustStore(t, s, StatRecUnread, deliverPDU)
				mustStore(t, s, StatRecRead, deliverPDU)
				mustStore(t, s, StatStoSent, submitPDU)
				mustStore(t, s, StatStoUnsent, submitPDU)
			}},
			{send: "AT+CMGD=?", want: "\r\n+CMGD: (1,2,3,4),(0-4)\r\n" + okReply},
			{send: "AT+CMGD=1", want: okReply},
			{send: "AT+CMGD=1", want: okReply}, // an empty slot
			{send: "AT+CMGD=31", want: "\r\n+CMS ERROR: 321\r\n"},
			{send: "AT+CMGD=1,5", want: "\r\n+CMS ERROR: 304\r\n"},
			{send: "AT+CMGD=0,2", want: okReply},
			{send: "AT+CMGD=?", want: "\r\n+CMGD: (4),(0-4)\r\n" + okReply},
			{send: "AT+CMGD=0,4", want: okReply},
			{send: "AT+CMGL=4", want: okReply},
		}},
		{"identification", Options{}, []step{
			{send: "ATE0", want: e0},
			{send: "AT+CGMI", want: "\r\nmodemtest\r\n" + okReply},
			{send: "AT+CGMM", want: "\r\nPDU-SIM\r\n" + okReply},
			{send: "AT+CGSN", want: "\r\n490154203237518\r\n" + okReply},
			{send: "AT+CIMI", want: "\r\n001010123456789\r\n" + okReply},
		}},
		{"CSCS CSMS CNMA", Options{}, []step{
			{send: "ATE0", want: e0},
			{send: "AT+CMEE=1", want: okReply},
			{send: `AT+CSCS="UCS2"`, want: okReply},
			{send: "AT+CSCS?", want: "\r\n+CSCS: \"UCS2\"\r\n" + okReply},
			{send: "AT+CNMA", want: "\r\n+CMS ERROR: 340\r\n"},
			{send: "AT+CSMS=1", want: "\r\n+CSMS: 1,1,1\r\n" + okReply},
			{send: "AT+CNMA", want: okReply},
		}},
		{"SMS commands wait for the PIN", Options{PIN: "1234"}, []step{
			{send: "ATE0", want: e0},
			{send: "AT+CMEE=1", want: okReply},
			{send: "AT+CPIN?", want: "\r\n+CPIN: SIM PIN\r\n" + okReply},
			{send: "AT+CMGL=4", want: "\r\n+CMS ERROR: 311\r\n"},
			{send: "AT+CPMS?", want: "\r\n+CMS ERROR: 311\r\n"},
			{send: "AT+CMGS=23", want: "\r\n+CMS ERROR: 311\r\n"},
			{send: "AT+CIMI", want: "\r\n+CME ERROR: 11\r\n"},
			{send: "AT+CREG?", want: "\r\n+CREG: 0,0\r\n" + okReply},
			{send: `AT+CPIN="1234"`, want: okReply},
			{send: "AT+CPIN?", want: "\r\n+CPIN: READY\r\n" + okReply},
			{send: "AT+CMGL=4", want: okReply},
			{send: "AT+CREG?", want: "\r\n+CREG: 0,1\r\n" + okReply},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.opts)
			c := dial(t, s)
			for _, st := range tt.steps {
				if st.do != nil {
					st.do(s)
				}
				if st.send != "" {
					c.send(st.send + "\r")
				}
				c.expect(st.want)
			}
		})
	}
}

func mustStore(t testing.TB, s *Sim, stat int, pdu string) int {
	t.Helper()
	idx, err := s.Store(stat, pdu)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func TestLineTerminators(t *testing.T) {
	s := New(Options{})
	c := dial(t, s)
	c.send("AT\r\n")
	c.expect("AT\r" + okReply)
	c.send("AT\n")
	c.expect("AT\r" + okReply)
	c.send("\r\n\r\nAT+CSQ\r")
	c.expect("AT+CSQ\r\r\n+CSQ: 20,99\r\n" + okReply)
	// A command split across writes, and noise and ESC before "AT".
	c.send("A")
	c.send("T+CGMI\r\x1bxxAT\r")
	c.expect("AT+CGMI\r\r\nmodemtest\r\n" + okReply + "xxAT\r" + okReply)
	// Lines without "AT" are echoed and otherwise ignored.
	c.send("hello\rAT\r")
	c.expect("hello\rAT\r" + okReply)
	want := []string{"AT", "AT", "AT+CSQ", "AT+CGMI", "xxAT", "hello", "AT"}
	if got := s.Commands(); !slices.Equal(got, want) {
		t.Errorf("Commands() = %q, want %q", got, want)
	}
}

func TestOverlongLine(t *testing.T) {
	s := New(Options{})
	c := ready(t, s)
	long := make([]byte, maxLine+10)
	for i := range long {
		long[i] = 'A'
	}
	c.cmd("AT"+string(long), "\r\nERROR\r\n")
	c.cmd("AT", okReply)
}
