package modemtest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Handlers of the extended commands. Each runs with s.mu held and follows
// the 3GPP TS 27.007 (equipment) or 27.005 (SMS) section named.

// cmdCMEE: 27.007 §9.1, report mobile termination error.
func (s *Sim) cmdCMEE(c command) result {
	return intSetting(c, "+CMEE", &s.set.cmee, 2, "(0-2)")
}

// cmdCPIN: 27.007 §8.3, enter PIN.
func (s *Sim) cmdCPIN(c command) result {
	switch c.op {
	case opRead:
		switch s.pin {
		case pinReady:
			return okWith("+CPIN: READY")
		case pinWanted:
			return okWith("+CPIN: SIM PIN")
		case pukWanted:
			return okWith("+CPIN: SIM PUK")
		}
		return s.cme(13)
	case opTest:
		return okWith()
	case opSet:
		if len(c.args) == 0 || c.args[0] == "" {
			return fail()
		}
		return s.enterPIN(c.args)
	}
	return fail()
}

// enterPIN checks a PIN, or a PUK and a new PIN. Three wrong PINs ask for
// the PUK; ten wrong PUKs block the SIM for good.
func (s *Sim) enterPIN(args []string) result {
	creg, cereg := s.regSnapshot()
	switch s.pin {
	case pinReady:
		return s.cme(3)
	case simBlocked:
		return s.cme(13)
	case pinWanted:
		if args[0] != s.pinCode {
			if s.pinTries--; s.pinTries <= 0 {
				s.pin = pukWanted
			}
			return s.cme(16)
		}
	case pukWanted:
		if len(args) < 2 || args[1] == "" {
			return s.cme(12)
		}
		if args[0] != s.opts.PUK {
			if s.pukTries--; s.pukTries <= 0 {
				s.pin = simBlocked
			}
			return s.cme(16)
		}
		s.pinCode = args[1]
		s.pukTries = defaultPUKTries
	}
	s.pin = pinReady
	s.pinTries = defaultPINTries
	s.regChanged(creg, cereg)
	return okWith()
}

// cmdCMGF: 27.005 §3.2.3, message format.
func (s *Sim) cmdCMGF(c command) result {
	return intSetting(c, "+CMGF", &s.set.cmgf, 1, "(0,1)")
}

// cmdCSCS: 27.007 §5.5, TE character set; it only matters in text mode.
func (s *Sim) cmdCSCS(c command) result {
	switch c.op {
	case opSet:
		cs := strings.ToUpper(firstArg(c.args))
		if cs != "GSM" && cs != "IRA" && cs != "UCS2" {
			return fail()
		}
		s.set.cscs = cs
		return okWith()
	case opRead:
		return okWith(fmt.Sprintf("+CSCS: %q", s.set.cscs))
	case opTest:
		return okWith(`+CSCS: ("GSM","IRA","UCS2")`)
	}
	return fail()
}

// cmdCSMS: 27.005 §3.2.1, message service (1 asks for +CNMA).
func (s *Sim) cmdCSMS(c command) result {
	switch c.op {
	case opSet:
		n, ok := intArg(c.args, 0, 0)
		if !ok || n < 0 || n > 1 {
			return s.cms(303)
		}
		s.set.csms = n
		return okWith("+CSMS: 1,1,1")
	case opRead:
		return okWith(fmt.Sprintf("+CSMS: %d,1,1,1", s.set.csms))
	case opTest:
		return okWith("+CSMS: (0,1)")
	}
	return fail()
}

// cmdCNMA: 27.005 §3.4.4, acknowledge a routed message. Accepted under
// AT+CSMS=1, not tracked.
func (s *Sim) cmdCNMA(c command) result {
	if c.op == opTest {
		return okWith()
	}
	if s.set.csms != 1 {
		return s.cms(340)
	}
	return okWith()
}

// cmdCPMS: 27.005 §3.2.2, preferred message storage.
func (s *Sim) cmdCPMS(c command) result {
	if r, ok := s.smsAllowed(false); !ok {
		return r
	}
	switch c.op {
	case opRead:
		var parts []string
		for _, name := range s.mem {
			m := s.mems[name]
			parts = append(parts, fmt.Sprintf("%q,%d,%d", name, m.used(), m.total()))
		}
		return okWith("+CPMS: " + strings.Join(parts, ","))
	case opTest:
		mem1 := `("SM")`
		if s.mems["SR"] != nil {
			mem1 = `("SM","SR")`
		}
		return okWith(`+CPMS: ` + mem1 + `,("SM"),("SM")`)
	case opSet:
		return s.selectMemories(c.args)
	}
	return fail()
}

// selectMemories sets <mem1>[,<mem2>[,<mem3>]]; only <mem1> may be "SR".
func (s *Sim) selectMemories(args []string) result {
	if len(args) == 0 || len(args) > 3 {
		return s.cms(302)
	}
	next := s.mem
	for i, a := range args {
		name := strings.ToUpper(a)
		if name == "" && i > 0 {
			continue
		}
		if name != "SM" && (name != "SR" || i != 0 || s.mems["SR"] == nil) {
			return s.cms(302)
		}
		next[i] = name
	}
	s.mem = next
	var parts []string
	for _, name := range s.mem {
		m := s.mems[name]
		parts = append(parts, fmt.Sprintf("%d,%d", m.used(), m.total()))
	}
	return okWith("+CPMS: " + strings.Join(parts, ","))
}

// cmdCNMI: 27.005 §3.4.1, new message indications.
func (s *Sim) cmdCNMI(c command) result {
	switch c.op {
	case opRead:
		n := s.set.cnmi
		return okWith(fmt.Sprintf("+CNMI: %d,%d,%d,%d,%d", n[0], n[1], n[2], n[3], n[4]))
	case opTest:
		return okWith("+CNMI: (0-3),(0-3),(0-3),(0-2),(0,1)")
	case opSet:
		return s.setCNMI(c.args)
	}
	return fail()
}

// setCNMI applies <mode>,<mt>,<bm>,<ds>,<bfr>; omitted values stay. Leaving
// mode 0 flushes (bfr 0) or clears (bfr 1) the indications buffered meanwhile.
func (s *Sim) setCNMI(args []string) result {
	limits := [5]int{3, 3, 3, 2, 1}
	next := s.set.cnmi
	if len(args) > len(next) {
		return s.cms(303)
	}
	for i := range args {
		v, ok := intArg(args, i, next[i])
		if !ok || v < 0 || v > limits[i] {
			return s.cms(303)
		}
		next[i] = v
	}
	s.set.cnmi = next
	if next[0] != 0 {
		if next[4] == 0 {
			for _, u := range s.taBuf {
				s.raise(u)
			}
		}
		s.taBuf = nil
	}
	return okWith()
}

// cmdCSMP: 27.005 §3.3.2, text mode parameters; stored, unused in PDU mode.
func (s *Sim) cmdCSMP(c command) result {
	switch c.op {
	case opSet:
		next := s.set.csmp
		if len(c.args) > len(next) {
			return fail()
		}
		for i := range c.args {
			v, ok := intArg(c.args, i, next[i])
			if !ok || v < 0 || v > 255 {
				return s.cms(305)
			}
			next[i] = v
		}
		s.set.csmp = next
		return okWith()
	case opRead:
		p := s.set.csmp
		return okWith(fmt.Sprintf("+CSMP: %d,%d,%d,%d", p[0], p[1], p[2], p[3]))
	case opTest:
		return okWith()
	}
	return fail()
}

// cmdCSCA: 27.005 §3.3.1, service centre address (kept on the SIM).
func (s *Sim) cmdCSCA(c command) result {
	if r, ok := s.smsAllowed(false); !ok {
		return r
	}
	switch c.op {
	case opRead:
		return okWith(fmt.Sprintf("+CSCA: %q,%d", s.smsc, s.tosca))
	case opSet:
		addr := firstArg(c.args)
		t, ok := intArg(c.args, 1, tosca(addr))
		if !ok || len(c.args) > 2 {
			return fail()
		}
		s.smsc, s.tosca = addr, t
		return okWith()
	case opTest:
		return okWith()
	}
	return fail()
}

// cmdCSQ: 27.007 §8.5, signal quality.
func (s *Sim) cmdCSQ(c command) result {
	switch c.op {
	case opExec:
		return okWith(fmt.Sprintf("+CSQ: %d,%d", s.rssi, s.ber))
	case opTest:
		return okWith("+CSQ: (0-31,99),(0-7,99)")
	}
	return fail()
}

// cmdReg: 27.007 §7.2 (+CREG) and §10.1.22 (+CEREG), registration.
func (s *Sim) cmdReg(c command) result {
	creg, cereg := s.regSnapshot()
	n, stat := &s.set.cregN, creg
	if c.name == "+CEREG" {
		n, stat = &s.set.ceregN, cereg
	}
	switch c.op {
	case opSet:
		v, ok := intArg(c.args, 0, 0)
		if !ok || v < 0 || v > 2 {
			return fail()
		}
		*n = v
		return okWith()
	case opRead:
		line := fmt.Sprintf("%s: %d,%d", c.name, *n, stat)
		if *n == 2 {
			line += `,"00C3","0000A13F"`
		}
		return okWith(line)
	case opTest:
		return okWith(c.name + ": (0-2)")
	}
	return fail()
}

// cmdCMGL: 27.005 §3.4.2, list messages of a status (4 = all) in <mem1>.
// Listed REC UNREAD messages become REC READ.
func (s *Sim) cmdCMGL(c command) result {
	if r, ok := s.smsAllowed(true); !ok {
		return r
	}
	switch c.op {
	case opTest:
		return okWith("+CMGL: (0-4)")
	case opRead:
		return fail()
	}
	stat, ok := intArg(c.args, 0, StatRecUnread)
	if !ok || stat < 0 || stat > 4 || len(c.args) > 1 {
		return s.cms(304)
	}
	var lines []string
	s.mems[s.mem[0]].each(func(index int, m *message) {
		if stat != 4 && m.stat != stat {
			return
		}
		lines = append(lines, fmt.Sprintf("+CMGL: %d,%d,,%d", index, m.stat, m.tpdu), m.pdu)
		if m.stat == StatRecUnread {
			m.stat = StatRecRead
		}
	})
	return okWith(lines...)
}

// cmdCMGR: 27.005 §3.4.3, read a message of <mem1>; it becomes REC READ.
func (s *Sim) cmdCMGR(c command) result {
	if r, ok := s.smsAllowed(true); !ok {
		return r
	}
	switch c.op {
	case opTest:
		return okWith()
	case opSet:
	default:
		return fail()
	}
	index, ok := intArg(c.args, 0, -1)
	if !ok || len(c.args) != 1 {
		return s.cms(304)
	}
	m := s.mems[s.mem[0]].get(index)
	if m == nil {
		return s.cms(321)
	}
	line := fmt.Sprintf("+CMGR: %d,,%d", m.stat, m.tpdu)
	if m.stat == StatRecUnread {
		m.stat = StatRecRead
	}
	return okWith(line, m.pdu)
}

// cmdCMGD: 27.005 §3.5.4, delete from <mem1> one index or, with <delflag>
// 1-4, every read / read+sent / read+sent+unsent / message. Freed slots let
// waiting messages in.
func (s *Sim) cmdCMGD(c command) result {
	if r, ok := s.smsAllowed(false); !ok {
		return r
	}
	mem := s.mems[s.mem[0]]
	switch c.op {
	case opTest:
		var used []string
		mem.each(func(index int, _ *message) { used = append(used, strconv.Itoa(index)) })
		return okWith(fmt.Sprintf("+CMGD: (%s),(0-4)", strings.Join(used, ",")))
	case opSet:
	default:
		return fail()
	}
	index, ok1 := intArg(c.args, 0, -1)
	flag, ok2 := intArg(c.args, 1, 0)
	if !ok1 || !ok2 || flag < 0 || flag > 4 || len(c.args) > 2 {
		return s.cms(304)
	}
	if flag == 0 {
		if !mem.valid(index) {
			return s.cms(321)
		}
		mem.remove(index)
	} else {
		mem.each(func(i int, m *message) {
			if deletedBy(flag, m.stat) {
				mem.remove(i)
			}
		})
	}
	s.deliverWaiting()
	return okWith()
}

// deletedBy reports whether <delflag> 1-4 covers a message of stat.
func deletedBy(flag, stat int) bool {
	switch flag {
	case 1:
		return stat == StatRecRead
	case 2:
		return stat == StatRecRead || stat == StatStoSent
	case 3:
		return stat != StatRecUnread
	}
	return true
}

// cmdCMGS: 27.005 §3.5.1, send a message: AT+CMGS=<length> opens the
// prompt; submit handles the PDU.
func (s *Sim) cmdCMGS(c command) result {
	if r, ok := s.smsAllowed(true); !ok {
		return r
	}
	switch c.op {
	case opTest:
		return okWith()
	case opSet:
	default:
		return fail()
	}
	n, ok := intArg(c.args, 0, -1)
	if !ok || len(c.args) != 1 || n < 1 || n > 164 {
		return s.cms(304)
	}
	return result{prompt: &promptState{line: c.line, tpdu: n}}
}

// submit checks the PDU typed at the prompt and "sends" it.
func (s *Sim) submit(p *promptState) result {
	if r, ok := s.faultFor(p.line); ok {
		return r
	}
	h := string(p.hex)
	if p.overflow {
		s.logf("modemtest: AT+CMGS rejected: more than %d hex digits", maxPDUHex)
		return s.cms(304)
	}
	smscLen, tpdu, err := splitPDU(h)
	switch {
	case err != nil:
		s.logf("modemtest: AT+CMGS rejected: %v", err)
		return s.cms(304)
	case tpdu != p.tpdu:
		s.logf("modemtest: AT+CMGS rejected: TPDU is %d octets, command said %d", tpdu, p.tpdu)
		return s.cms(304)
	case tpMTI(h, smscLen) != mtiSubmit:
		s.logf("modemtest: AT+CMGS rejected: TP-MTI %d is not SMS-SUBMIT", tpMTI(h, smscLen))
		return s.cms(304)
	case smscLen == 0 && s.smsc == "":
		return s.cms(330)
	case !s.registered():
		return s.cms(331)
	}
	mr := s.nextMR
	s.nextMR = (mr + 1) % 256
	s.sent = append(s.sent, Submission{MR: mr, PDU: normHex(h), TPDULen: tpdu, Time: time.Now()})
	return okWith(fmt.Sprintf("+CMGS: %d", mr))
}

// cmdIdentity: 27.007 §5.1-5.4 and §5.6, identification.
func (s *Sim) cmdIdentity(c command) result {
	if c.op == opTest {
		return okWith()
	}
	if c.op != opExec {
		return fail()
	}
	switch c.name {
	case "+CGMI":
		return okWith("modemtest")
	case "+CGMM":
		return okWith("PDU-SIM")
	case "+CGMR":
		return okWith("Revision: 1")
	case "+CGSN":
		return okWith("490154203237518")
	}
	switch s.pin { // +CIMI reads the SIM
	case pinWanted:
		return s.cme(11)
	case pukWanted:
		return s.cme(12)
	case simBlocked:
		return s.cme(13)
	}
	return okWith("001010123456789")
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// intSetting serves a command that sets, reads and lists one number from
// 0 to max, such as AT+CMEE and AT+CMGF.
func intSetting(c command, name string, v *int, max int, listed string) result {
	switch c.op {
	case opSet:
		n, ok := intArg(c.args, 0, 0)
		if !ok || n < 0 || n > max {
			return fail()
		}
		*v = n
		return okWith()
	case opRead:
		return okWith(fmt.Sprintf("%s: %d", name, *v))
	case opTest:
		return okWith(name + ": " + listed)
	}
	return fail()
}
