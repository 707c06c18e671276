package modemtest

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Message status values of 3GPP TS 27.005 §3.1 <stat> in PDU mode; 4 (ALL)
// exists only as an AT+CMGL argument.
const (
	StatRecUnread = 0
	StatRecRead   = 1
	StatStoUnsent = 2
	StatStoSent   = 3
)

// Defaults applied by New to zero Options fields.
const (
	DefaultSIMCapacity = 30
	DefaultPUK         = "12345678"
	DefaultSMSC        = "+447785016005"
	defaultPINTries    = 3
	defaultPUKTries    = 10
	taBufferSize       = 16
)

// URCTiming says when unsolicited result codes reach the host.
type URCTiming int

const (
	// URCImmediate writes a URC as soon as no response is being written and
	// no AT+CMGS prompt is open, including between a command's echo and a
	// response withheld by Delay or Hold.
	URCImmediate URCTiming = iota
	// URCBeforeFinal holds URCs until the next command's response and writes
	// them between its information lines and its final result code, the
	// case that breaks parsers expecting "OK" right after "+CMGS: <mr>".
	URCBeforeFinal
)

// Errors returned by the test-side API.
var (
	// ErrMemoryFull means Receive found the memory full: the message waits
	// and is delivered when AT+CMGD frees a slot.
	ErrMemoryFull = errors.New("modemtest: memory full")
	// ErrBusy means Serve was called while another connection is served:
	// a modem has one AT port here.
	ErrBusy = errors.New("modemtest: a connection is already being served")
	// ErrBadPDU means the hex handed to Receive or Store is not a PDU-mode
	// frame of the expected TPDU type.
	ErrBadPDU = errors.New("modemtest: bad PDU")
)

// Options configure a Sim. The zero value is a ready SIM with no PIN.
type Options struct {
	// PIN, when set, locks the SIM at start and after each PowerCycle until
	// AT+CPIN gives it.
	PIN string
	// PUK unlocks the SIM after three wrong PINs; DefaultPUK when empty.
	PUK string
	// SIMCapacity is the number of "SM" slots; DefaultSIMCapacity when 0.
	SIMCapacity int
	// ZeroBasedIndex numbers slots from 0 (Quectel) instead of 1 (SIMCom),
	// so tests catch gateways that assume either.
	ZeroBasedIndex bool
	// StatusReportMemory is "SM" (the default: reports are stored with the
	// messages) or "SR" (a separate memory, selected with AT+CPMS="SR").
	StatusReportMemory string
	// SRCapacity is the number of "SR" slots; SIMCapacity when 0.
	SRCapacity int
	// SMSC is the service centre AT+CSCA? reports; DefaultSMSC when empty.
	SMSC string
	// URCTiming is the initial timing; SetURCTiming changes it.
	URCTiming URCTiming
	// OnCommand sees every command line (without its CR) before the
	// simulator does; when it returns handled, reply is written verbatim
	// (include the "\r\n" framing) and the simulator does nothing else.
	// It runs on the serving goroutine and may call the Sim's methods.
	OnCommand func(cmd string) (reply string, handled bool)
	// Logf receives a transcript (t.Logf fits). It must not call the Sim.
	Logf func(format string, args ...any)
}

// Submission is a message the host sent with AT+CMGS.
type Submission struct {
	MR      int       // message reference the modem answered
	PDU     string    // hex as typed, upper case, SMSC part included
	TPDULen int       // octets after the SMSC part
	Time    time.Time // when the modem accepted it
}

// Slot is a stored message, as Stored reports it.
type Slot struct {
	Memory  string // "SM" or "SR"
	Index   int    // as the host addresses it
	Stat    int    // StatRecUnread ... StatStoSent
	PDU     string // hex, upper case, SMSC part included
	TPDULen int    // the <length> AT+CMGL and AT+CMGR report
}

// Sim is a simulated modem with its SIM. Its methods are safe for
// concurrent use while a connection is being served.
type Sim struct {
	opts Options
	kick chan struct{} // wakes the serving goroutine when URCs are queued

	mu        sync.Mutex
	attached  bool     // a connection is being served
	presence  presence // tells, for a pty, whether its host has it open
	set       settings
	pin       pinState
	pinCode   string
	pinTries  int
	pukTries  int
	smsc      string
	tosca     int
	rssi, ber int
	creg      int
	cereg     int
	mems      map[string]*memory
	mem       [3]string    // <mem1> read/list/delete, <mem2> write/send, <mem3> receive
	waiting   []incoming   // rejected while full, delivered when space frees
	prompt    *promptState // AT+CMGS waiting for its PDU
	urcs      []string     // unsolicited output waiting for the host
	taBuf     []string     // SMS indications buffered under AT+CNMI mode 0
	timing    URCTiming
	nextMR    int
	sent      []Submission
	commands  []string
	faults    []fault
	delays    []delay
	holds     []*Held
}

// settings are what ATZ and a power cycle restore.
type settings struct {
	echo   bool
	cmee   int
	cmgf   int
	cscs   string
	csms   int
	cnmi   [5]int // mode, mt, bm, ds, bfr
	csmp   [4]int // fo, vp, pid, dcs
	cregN  int
	ceregN int
}

func defaultSettings() settings {
	return settings{echo: true, cscs: "GSM", csmp: [4]int{17, 167, 0, 0}}
}

type pinState int

const (
	pinReady pinState = iota
	pinWanted
	pukWanted
	simBlocked
)

// incoming is a message the network delivers.
type incoming struct {
	pdu    string
	tpdu   int
	report bool
}

// New returns a powered-on modem with an empty SIM, registered on its home
// network with a fair signal.
func New(opts Options) *Sim {
	if opts.PUK == "" {
		opts.PUK = DefaultPUK
	}
	if opts.SIMCapacity <= 0 {
		opts.SIMCapacity = DefaultSIMCapacity
	}
	if opts.SRCapacity <= 0 {
		opts.SRCapacity = opts.SIMCapacity
	}
	if opts.StatusReportMemory != "SR" {
		opts.StatusReportMemory = "SM"
	}
	if opts.SMSC == "" {
		opts.SMSC = DefaultSMSC
	}
	base := 1
	if opts.ZeroBasedIndex {
		base = 0
	}
	s := &Sim{
		opts:     opts,
		kick:     make(chan struct{}, 1),
		set:      defaultSettings(),
		pinCode:  opts.PIN,
		pinTries: defaultPINTries,
		pukTries: defaultPUKTries,
		smsc:     opts.SMSC,
		tosca:    tosca(opts.SMSC),
		rssi:     20,
		ber:      99,
		creg:     1,
		cereg:    1,
		mems:     map[string]*memory{"SM": newMemory("SM", opts.SIMCapacity, base)},
		mem:      [3]string{"SM", "SM", "SM"},
		timing:   opts.URCTiming,
	}
	if opts.StatusReportMemory == "SR" {
		s.mems["SR"] = newMemory("SR", opts.SRCapacity, base)
	}
	if opts.PIN != "" {
		s.pin = pinWanted
	}
	return s
}

// Receive delivers an SMS-DELIVER from the network, as hex with its SMSC
// part. It returns the slot it was stored in, or -1 when AT+CNMI <mt>=2
// routed it to the connected host with +CMT. A full memory gives
// ErrMemoryFull and the message waits for a free slot.
func (s *Sim) Receive(pduHex string) (index int, err error) {
	in, err := parseIncoming(pduHex, mtiDeliver)
	if err != nil {
		return -1, fmt.Errorf("modemtest: receive: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deliver(in)
}

// ReceiveStatusReport delivers an SMS-STATUS-REPORT, as hex with its SMSC
// part. It returns the slot it was stored in, or -1 when AT+CNMI <ds>=1
// routed it to the connected host with +CDS.
func (s *Sim) ReceiveStatusReport(pduHex string) (index int, err error) {
	in, err := parseIncoming(pduHex, mtiStatusReport)
	if err != nil {
		return -1, fmt.Errorf("modemtest: receive status report: %w", err)
	}
	in.report = true
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deliver(in)
}

// Store puts a message in the SIM without any indication, to prepare a SIM
// that already holds messages (stat is StatRecUnread ... StatStoSent).
func (s *Sim) Store(stat int, pduHex string) (index int, err error) {
	if stat < StatRecUnread || stat > StatStoSent {
		return -1, fmt.Errorf("modemtest: store: stat %d out of range", stat)
	}
	_, tpdu, err := splitPDU(pduHex)
	if err != nil {
		return -1, fmt.Errorf("modemtest: store: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, ok := s.mems["SM"].put(stat, normHex(pduHex), tpdu)
	if !ok {
		return -1, fmt.Errorf("modemtest: store: %w", ErrMemoryFull)
	}
	return idx, nil
}

// Sent returns the messages accepted by AT+CMGS, oldest first.
func (s *Sim) Sent() []Submission {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Submission(nil), s.sent...)
}

// Stored returns the occupied slots of every memory, by memory and index.
func (s *Sim) Stored() []Slot {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.mems))
	for name := range s.mems {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []Slot
	for _, name := range names {
		s.mems[name].each(func(index int, m *message) {
			out = append(out, Slot{Memory: name, Index: index, Stat: m.stat, PDU: m.pdu, TPDULen: m.tpdu})
		})
	}
	return out
}

// Waiting returns how many messages wait for a free slot.
func (s *Sim) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiting)
}

// Commands returns every command line received, without its CR, oldest
// first, so tests can assert orderings such as "AT+CMGD only after the
// message was handed on".
func (s *Sim) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

// SIMState returns what AT+CPIN? would say: "READY", "SIM PIN", "SIM PUK",
// or "BLOCKED" once the PUK is exhausted.
func (s *Sim) SIMState() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.pin {
	case pinReady:
		return "READY"
	case pinWanted:
		return "SIM PIN"
	case pukWanted:
		return "SIM PUK"
	}
	return "BLOCKED"
}

// SetSignal sets what AT+CSQ answers (rssi 0-31 or 99, ber 0-7 or 99).
func (s *Sim) SetSignal(rssi, ber int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rssi, s.ber = rssi, ber
}

// SetRegistration sets the registration <stat> of both +CREG and +CEREG
// (0 not registered, 1 home, 2 searching, 3 denied, 5 roaming) and raises
// their URCs where AT+CREG=1/2 or AT+CEREG=1/2 asked for them.
func (s *Sim) SetRegistration(stat int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.regSnapshot()
	s.creg, s.cereg = stat, stat
	s.regChanged(c, e)
}

// SetEPSRegistration sets the +CEREG <stat> alone, for LTE-only modems
// whose +CREG says "not registered" while SMS works.
func (s *Sim) SetEPSRegistration(stat int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.regSnapshot()
	s.cereg = stat
	s.regChanged(c, e)
}

// SetURCTiming changes when URCs reach the host.
func (s *Sim) SetURCTiming(t URCTiming) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timing = t
	s.wake()
}

// URC raises an arbitrary unsolicited result code, framed "\r\n<line>\r\n"
// (e.g. "^SYSSTART", "+CIEV: 9,1").
func (s *Sim) URC(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.raise(frame(line))
}

// Ring raises the RING URC of an incoming call.
func (s *Sim) Ring() { s.URC("RING") }

// Garbage writes raw bytes as unsolicited output, unframed: line noise, a
// half URC, a boot banner, binary junk.
func (s *Sim) Garbage(raw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.raise(raw)
}

// PowerCycle reboots the modem: settings return to their power-on values
// (echo on, AT+CMEE=0, AT+CNMI=0,0,0,0,0 ...), a PIN-protected SIM locks
// again, an open AT+CMGS prompt and pending URCs are lost. The SIM keeps its
// messages and the message reference counter; injected faults stay.
func (s *Sim) PowerCycle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.set = defaultSettings()
	if s.pin == pinReady && s.pinCode != "" {
		s.pin = pinWanted
	}
	s.mem = [3]string{"SM", "SM", "SM"}
	s.prompt = nil
	s.urcs = nil
	s.taBuf = nil
	s.logf("modemtest: power cycle")
}

// deliver stores or routes an incoming message; s.mu is held.
func (s *Sim) deliver(in incoming) (int, error) {
	if s.routeDirect(in) {
		return -1, nil
	}
	memName := s.mem[2]
	if in.report {
		memName = s.opts.StatusReportMemory
	}
	idx, ok := s.mems[memName].put(StatRecUnread, in.pdu, in.tpdu)
	if !ok {
		s.waiting = append(s.waiting, in)
		return -1, ErrMemoryFull
	}
	s.indicateStored(in, memName, idx)
	return idx, nil
}

// routeDirect sends +CMT or +CDS when AT+CNMI asks for it and a host is
// there to take it; s.mu is held.
func (s *Sim) routeDirect(in incoming) bool {
	if !s.hostThere() {
		return false
	}
	switch {
	case !in.report && s.set.cnmi[1] == 2:
		s.indicate(frame(fmt.Sprintf("+CMT: ,%d", in.tpdu)) + in.pdu + "\r\n")
		return true
	case in.report && s.set.cnmi[3] == 1:
		s.indicate(frame(fmt.Sprintf("+CDS: %d", in.tpdu)) + in.pdu + "\r\n")
		return true
	}
	return false
}

// indicateStored raises +CMTI or +CDSI as AT+CNMI asks; s.mu is held.
func (s *Sim) indicateStored(in incoming, memName string, idx int) {
	switch {
	case !in.report && (s.set.cnmi[1] == 1 || s.set.cnmi[1] == 3):
		s.indicate(frame(fmt.Sprintf("+CMTI: %q,%d", memName, idx)))
	case in.report && s.set.cnmi[3] == 2:
		s.indicate(frame(fmt.Sprintf("+CDSI: %q,%d", memName, idx)))
	}
}

// deliverWaiting hands waiting messages to the memory once slots are free,
// as the network retries after the SIM signals free memory; s.mu is held.
func (s *Sim) deliverWaiting() {
	queue := s.waiting
	s.waiting = nil
	for i, in := range queue {
		if _, err := s.deliver(in); err != nil {
			// deliver queued it again: keep the rest behind it, in order.
			s.waiting = append(s.waiting, queue[i+1:]...)
			return
		}
	}
}

// indicate queues an SMS indication, or buffers it in the modem under
// AT+CNMI mode 0; s.mu is held.
func (s *Sim) indicate(out string) {
	if s.set.cnmi[0] == 0 {
		if len(s.taBuf) == taBufferSize {
			s.taBuf = s.taBuf[1:] // 27.005: the oldest indication may be discarded
		}
		s.taBuf = append(s.taBuf, out)
		return
	}
	s.raise(out)
}

// raise queues unsolicited output for the connected host, or drops it when
// there is none; s.mu is held.
func (s *Sim) raise(out string) {
	if !s.hostThere() {
		s.logf("modemtest: no host, dropped %q", out)
		return
	}
	s.urcs = append(s.urcs, out)
	s.wake()
}

// hostThere reports whether a host would receive output now; s.mu is held.
func (s *Sim) hostThere() bool {
	return s.attached && (s.presence == nil || s.presence.hostPresent())
}

// wake nudges the serving goroutine without blocking.
func (s *Sim) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// registered reports whether the modem can reach the SMSC; s.mu is held.
func (s *Sim) registered() bool {
	c, e := s.regSnapshot()
	return c == 1 || c == 5 || e == 1 || e == 5
}

// regSnapshot returns the <stat> values the host sees: nothing registers
// without a ready SIM; s.mu is held.
func (s *Sim) regSnapshot() (creg, cereg int) {
	if s.pin != pinReady {
		return 0, 0
	}
	return s.creg, s.cereg
}

// regChanged raises +CREG/+CEREG URCs for visible changes; s.mu is held.
func (s *Sim) regChanged(beforeCreg, beforeCereg int) {
	creg, cereg := s.regSnapshot()
	if creg != beforeCreg && s.set.cregN > 0 {
		s.raise(frame("+CREG: " + regURC(s.set.cregN, creg)))
	}
	if cereg != beforeCereg && s.set.ceregN > 0 {
		s.raise(frame("+CEREG: " + regURC(s.set.ceregN, cereg)))
	}
}

// logf writes to the transcript, if any.
func (s *Sim) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}
