package at

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Errors a command can end with besides the modem's own refusal.
var (
	// ErrTimeout: no final result within the command's time. The modem
	// may still answer later, and that late answer would be read as the
	// next command's, so the Conn is broken from then on: close the port
	// and open it again.
	ErrTimeout = errors.New("at: no final result in time")
	// ErrBroken is returned for every command after a timeout.
	ErrBroken = errors.New("at: connection broken by an earlier timeout; reopen the port")
	// ErrClosed: the port failed or was closed (the reader stopped).
	ErrClosed = errors.New("at: port closed")
)

// Error is the modem's refusal of a command: ERROR, +CMS ERROR (message
// service, 3GPP TS 27.005 §3.2.5) or +CME ERROR (equipment, TS 27.007
// §9.2). With AT+CMEE=1 the code is numeric; with =2 the modem sends text
// instead, kept in Text with Code -1.
type Error struct {
	Command string
	// Kind is "ERROR", "+CMS ERROR" or "+CME ERROR".
	Kind string
	Code int
	Text string
}

// Error names the command, the code and what the code means.
func (e *Error) Error() string {
	switch {
	case e.Kind == "ERROR":
		return fmt.Sprintf("at: %s: ERROR", e.Command)
	case e.Code < 0:
		return fmt.Sprintf("at: %s: %s: %s", e.Command, e.Kind, e.Text)
	}
	return fmt.Sprintf("at: %s: %s %d (%s)", e.Command, e.Kind, e.Code, e.Meaning())
}

// CMS reports whether this is a +CMS ERROR with the given code.
func (e *Error) CMS(code int) bool { return e.Kind == "+CMS ERROR" && e.Code == code }

// CME reports whether this is a +CME ERROR with the given code.
func (e *Error) CME(code int) bool { return e.Kind == "+CME ERROR" && e.Code == code }

// Meaning is the standard meaning of the code, or a range's description.
func (e *Error) Meaning() string {
	switch e.Kind {
	case "+CMS ERROR":
		return CMSMeaning(e.Code)
	case "+CME ERROR":
		if m, ok := cmeMeanings[e.Code]; ok {
			return m
		}
		return "unlisted equipment error"
	}
	return ""
}

// cmsMeanings are the +CMS ERROR codes of 3GPP TS 27.005 §3.2.5.
var cmsMeanings = map[int]string{
	300: "ME failure", 301: "SMS service of ME reserved", 302: "operation not allowed",
	303: "operation not supported", 304: "invalid PDU mode parameter", 305: "invalid text mode parameter",
	310: "SIM not inserted", 311: "SIM PIN required", 312: "PH-SIM PIN required", 313: "SIM failure",
	314: "SIM busy", 315: "SIM wrong", 316: "SIM PUK required", 317: "SIM PIN2 required", 318: "SIM PUK2 required",
	320: "memory failure", 321: "invalid memory index", 322: "memory full", 330: "SMSC address unknown",
	331: "no network service", 332: "network timeout", 340: "no +CNMA acknowledgement expected", 500: "unknown error",
}

// rpCauses are the network's RP causes (3GPP TS 24.011 Annex E-2) that
// come back as +CMS ERROR 0–127 and that hotline acts on.
var rpCauses = map[int]string{
	1: "unassigned number", 8: "operator determined barring", 10: "call barred", 17: "network failure",
	21: "short message transfer rejected", 22: "memory capacity exceeded", 27: "destination out of order",
	28: "unidentified subscriber", 29: "facility rejected", 30: "unknown subscriber", 38: "network out of order",
	41: "temporary failure", 42: "congestion", 47: "resources unavailable", 50: "requested facility not subscribed",
	69: "requested facility not implemented", 81: "invalid short message transfer reference value",
	95: "invalid message", 96: "invalid mandatory information", 97: "message type non-existent",
	98: "message not compatible with protocol state", 99: "information element non-existent",
	111: "protocol error", 127: "interworking",
}

// CMSMeaning names a +CMS ERROR code.
func CMSMeaning(code int) string {
	if m, ok := cmsMeanings[code]; ok {
		return m
	}
	switch {
	case code >= 0 && code <= 127:
		if m, ok := rpCauses[code]; ok {
			return "network: " + m
		}
		return "network RP cause"
	case code >= 128 && code <= 255:
		return "TP failure cause (3GPP TS 23.040 §9.2.3.22)"
	case code >= 512:
		return "manufacturer specific"
	}
	return "unlisted"
}

// cmeMeanings are the +CME ERROR codes of 3GPP TS 27.007 §9.2 a modem
// gives during start-up and SMS work.
var cmeMeanings = map[int]string{
	0: "phone failure", 3: "operation not allowed", 4: "operation not supported", 5: "PH-SIM PIN required",
	10: "SIM not inserted", 11: "SIM PIN required", 12: "SIM PUK required", 13: "SIM failure", 14: "SIM busy",
	15: "SIM wrong", 16: "incorrect password", 17: "SIM PIN2 required", 18: "SIM PUK2 required",
	20: "memory full", 21: "invalid index", 22: "not found", 23: "memory failure", 30: "no network service",
	31: "network timeout", 32: "network not allowed - emergency calls only", 100: "unknown",
}

// parseFinal recognizes a final result code (V.250 §5.7, TS 27.005/27.007);
// ok is false for any other line. A refusal comes back as *Error.
func parseFinal(command, line string) (err error, ok bool) {
	switch line {
	case "OK":
		return nil, true
	case "ERROR", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE":
		return &Error{Command: command, Kind: "ERROR", Code: -1, Text: line}, true
	}
	for _, kind := range []string{"+CMS ERROR", "+CME ERROR"} {
		rest, found := strings.CutPrefix(line, kind+":")
		if !found {
			continue
		}
		rest = strings.TrimSpace(rest)
		code, convErr := strconv.Atoi(rest)
		if convErr != nil {
			return &Error{Command: command, Kind: kind, Code: -1, Text: rest}, true
		}
		return &Error{Command: command, Kind: kind, Code: code}, true
	}
	return nil, false
}
