package modemtest

import (
	"strconv"
	"strings"
)

// op is the form of an extended command (ITU-T V.250 §5.4.2).
type op int

const (
	opExec op = iota // AT+X
	opRead           // AT+X?
	opTest           // AT+X=?
	opSet            // AT+X=<args>
)

// command is a parsed extended command line.
type command struct {
	line string   // as received, for fault matching
	name string   // upper case, with its "+": "+CMGS"
	op   op       //
	args []string // unquoted
}

// result is a command's response before framing.
type result struct {
	lines  []string     // information text
	final  string       // final result code
	prompt *promptState // set by AT+CMGS: answer "> " instead
}

// promptState is AT+CMGS waiting for its PDU.
type promptState struct {
	line     string // the AT+CMGS command line
	tpdu     int    // the announced TPDU length
	hex      []byte
	overflow bool
}

// maxPDUHex bounds the hex a prompt accepts: a TPDU is at most 164 octets.
const maxPDUHex = 2 * (1 + 12 + 164)

func okWith(lines ...string) result { return result{lines: lines, final: "OK"} }

func fail() result { return result{final: "ERROR"} }

// exec runs one command line; s.mu is held. It returns false when the line
// is not a command (no "AT"), which a modem ignores.
func (s *Sim) exec(line string) (result, bool) {
	up := strings.ToUpper(line)
	at := strings.Index(up, "AT")
	if at < 0 {
		return result{}, false
	}
	body := strings.TrimRight(line[at+2:], " ")
	if body == "" || body[0] != '+' {
		if r, ok := s.faultFor(line); ok {
			return r, true
		}
		return s.basic(strings.ToUpper(body)), true
	}
	c, ok := parseExtended(line, body)
	if !ok {
		return fail(), true
	}
	if c.name != "+CMGS" {
		if r, ok := s.faultFor(line); ok {
			return r, true
		}
	}
	h := handlerFor(c.name)
	if h == nil {
		return fail(), true
	}
	return h(s, c), true
}

func (s *Sim) faultFor(line string) (result, bool) {
	f, ok := s.takeFault(line)
	return result{final: f}, ok
}

// parseExtended splits "+NAME", "+NAME?", "+NAME=?" and "+NAME=a,b".
func parseExtended(line, body string) (command, bool) {
	if strings.Contains(body, ";") {
		return command{}, false // no command concatenation
	}
	end := strings.IndexAny(body, "=?")
	if end < 0 {
		end = len(body)
	}
	c := command{line: line, name: strings.ToUpper(body[:end])}
	switch rest := body[end:]; {
	case rest == "":
		c.op = opExec
	case rest == "?":
		c.op = opRead
	case rest == "=?":
		c.op = opTest
	case rest[0] == '=':
		c.op = opSet
		args, ok := splitArgs(rest[1:])
		if !ok {
			return command{}, false
		}
		c.args = args
	default:
		return command{}, false
	}
	return c, true
}

// splitArgs splits comma-separated arguments, unquoting "strings".
func splitArgs(s string) ([]string, bool) {
	var args []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '"':
			quoted = !quoted
		case ch == ',' && !quoted:
			args = append(args, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(ch)
		}
	}
	if quoted {
		return nil, false
	}
	return append(args, strings.TrimSpace(cur.String())), true
}

// intArg returns args[i] as a number; missing or empty gives def.
func intArg(args []string, i, def int) (int, bool) {
	if i >= len(args) || args[i] == "" {
		return def, true
	}
	n, err := strconv.Atoi(args[i])
	return n, err == nil
}

// basic runs a chain of V.250 basic commands such as "E0Q0V1"; body is
// upper case.
func (s *Sim) basic(body string) result {
	var lines []string
	for body != "" {
		name := body[:1]
		body = body[1:]
		if name == "&" && body != "" {
			name, body = "&"+body[:1], body[1:]
		}
		n := len(body) - len(strings.TrimLeft(body, "0123456789"))
		arg := body[:n]
		body = body[n:]
		out, ok := s.basicOne(name, arg)
		if !ok {
			return fail()
		}
		lines = append(lines, out...)
	}
	return okWith(lines...)
}

func (s *Sim) basicOne(name, arg string) ([]string, bool) {
	switch {
	case name == "E" && (arg == "" || arg == "0"):
		s.set.echo = false
	case name == "E" && arg == "1":
		s.set.echo = true
	case name == "Q" && (arg == "" || arg == "0"), name == "V" && arg == "1":
		// Result codes on, verbose: the only form simulated.
	case name == "Z" || name == "&F":
		s.set = defaultSettings()
		s.mem = [3]string{"SM", "SM", "SM"}
	case name == "I":
		return []string{"modemtest", "PDU-SIM", "Revision: 1"}, true
	default:
		return nil, false
	}
	return nil, true
}

// handler runs one extended command; s.mu is held.
type handler func(s *Sim, c command) result

func handlerFor(name string) handler {
	switch name {
	case "+CMEE":
		return (*Sim).cmdCMEE
	case "+CPIN":
		return (*Sim).cmdCPIN
	case "+CMGF":
		return (*Sim).cmdCMGF
	case "+CSCS":
		return (*Sim).cmdCSCS
	case "+CSMS":
		return (*Sim).cmdCSMS
	case "+CNMA":
		return (*Sim).cmdCNMA
	case "+CPMS":
		return (*Sim).cmdCPMS
	case "+CNMI":
		return (*Sim).cmdCNMI
	case "+CSMP":
		return (*Sim).cmdCSMP
	case "+CSCA":
		return (*Sim).cmdCSCA
	case "+CSQ":
		return (*Sim).cmdCSQ
	case "+CREG", "+CEREG":
		return (*Sim).cmdReg
	case "+CMGL":
		return (*Sim).cmdCMGL
	case "+CMGR":
		return (*Sim).cmdCMGR
	case "+CMGD":
		return (*Sim).cmdCMGD
	case "+CMGS":
		return (*Sim).cmdCMGS
	case "+CGMI", "+CGMM", "+CGMR", "+CGSN", "+CIMI":
		return (*Sim).cmdIdentity
	}
	return nil
}

// smsAllowed returns the +CMS ERROR an SMS command gets from the SIM state
// and, for message commands, the text mode; s.mu is held.
func (s *Sim) smsAllowed(pduOnly bool) (result, bool) {
	switch s.pin {
	case pinWanted:
		return s.cms(311), false
	case pukWanted:
		return s.cms(316), false
	case simBlocked:
		return s.cms(313), false
	}
	if pduOnly && s.set.cmgf != 0 {
		return s.cms(302), false
	}
	return result{}, true
}

// cms is a +CMS ERROR final result in the form AT+CMEE chose.
func (s *Sim) cms(n int) result {
	return result{final: errorText("+CMS ERROR: ", n, cmsText, s.set.cmee)}
}

// cme is a +CME ERROR final result in the form AT+CMEE chose.
func (s *Sim) cme(n int) result {
	return result{final: errorText("+CME ERROR: ", n, cmeText, s.set.cmee)}
}

func errorText(prefix string, n int, texts func(int) string, cmee int) string {
	switch cmee {
	case 1:
		return prefix + strconv.Itoa(n)
	case 2:
		if t := texts(n); t != "" {
			return prefix + t
		}
		return prefix + strconv.Itoa(n)
	}
	return "ERROR"
}

// cmsText is the verbose form of 3GPP TS 27.005 §3.2.5 <err>.
func cmsText(n int) string {
	switch n {
	case 300:
		return "ME failure"
	case 301:
		return "SMS service of ME reserved"
	case 302:
		return "operation not allowed"
	case 303:
		return "operation not supported"
	case 304:
		return "invalid PDU mode parameter"
	case 305:
		return "invalid text mode parameter"
	case 310:
		return "SIM not inserted"
	case 311:
		return "SIM PIN required"
	case 313:
		return "SIM failure"
	case 314:
		return "SIM busy"
	case 316:
		return "SIM PUK required"
	case 320:
		return "memory failure"
	case 321:
		return "invalid memory index"
	case 322:
		return "memory full"
	case 330:
		return "SMSC address unknown"
	case 331:
		return "no network service"
	case 332:
		return "network timeout"
	case 340:
		return "no +CNMA acknowledgement expected"
	case 500:
		return "unknown error"
	}
	return ""
}

// cmeText is the verbose form of 3GPP TS 27.007 §9.2 <err>.
func cmeText(n int) string {
	switch n {
	case 0:
		return "phone failure"
	case 3:
		return "operation not allowed"
	case 4:
		return "operation not supported"
	case 10:
		return "SIM not inserted"
	case 11:
		return "SIM PIN required"
	case 12:
		return "SIM PUK required"
	case 13:
		return "SIM failure"
	case 14:
		return "SIM busy"
	case 16:
		return "incorrect password"
	case 20:
		return "memory full"
	case 21:
		return "invalid index"
	case 22:
		return "not found"
	case 30:
		return "no network service"
	case 31:
		return "network timeout"
	case 100:
		return "unknown"
	}
	return ""
}

// frame wraps information text as a modem sends it.
func frame(lines ...string) string {
	return "\r\n" + strings.Join(lines, "\r\n") + "\r\n"
}

// tosca is the type of address AT+CSCA assumes (27.005 §3.3.1).
func tosca(addr string) int {
	if strings.HasPrefix(addr, "+") {
		return 145
	}
	return 129
}

// regURC is the +CREG/+CEREG URC body for <n> 1 or 2 (27.007 §7.2).
func regURC(n, stat int) string {
	if n == 2 {
		return strconv.Itoa(stat) + `,"00C3","0000A13F"`
	}
	return strconv.Itoa(stat)
}
