// Package modemtest simulates a GSM modem in SMS PDU mode, for tests, the
// way net/http/httptest simulates a server: the code under test talks to it
// over a pseudo-terminal it opens with go.bug.st/serial exactly as it would
// open /dev/ttyUSB2, or over any io.ReadWriter such as one end of a
// net.Pipe.
//
// # Dialect
//
// The simulator speaks the AT command set of 3GPP TS 27.007 and the SMS
// commands of 3GPP TS 27.005 in PDU mode, the way Quectel or SIMCom modules
// do:
//
//   - Command lines start with "AT" (any case; bytes before it, ESC and
//     Ctrl-Z are ignored) and end with CR, LF or CRLF. One command per line:
//     extended commands cannot be chained with ";", basic ones can
//     ("ATE0Q0V1").
//   - Responses are framed "\r\n<line>\r\n"; the final result code is OK,
//     ERROR, +CMS ERROR or +CME ERROR, numeric after AT+CMEE=1, verbose after
//     AT+CMEE=2 and a plain ERROR under AT+CMEE=0, the power-on default.
//   - Echo is on at power-on: a command line is echoed followed by CR, as is
//     the hex typed after the AT+CMGS prompt.
//   - Commands: AT, ATE, ATZ, AT&F, ATI, ATQ0, ATV1, +CMEE, +CPIN (PIN and
//     PUK), +CMGF, +CSCS, +CSMS, +CPMS, +CNMI, +CNMA, +CSMP, +CSCA, +CSQ,
//     +CREG, +CEREG, +CMGL, +CMGR, +CMGD, +CMGS, +CGMI, +CGMM, +CGMR, +CGSN
//     and +CIMI, with their read ("?") and test ("=?") forms where a modem
//     has them. Anything else is ERROR.
//   - AT+CMGS=<n> answers the four-byte prompt "\r\n> ", then reads hex up to
//     Ctrl-Z (ESC aborts with OK). It answers +CMS ERROR: 304 unless the hex
//     is well formed, the TPDU (the octets after the SMSC part) is n octets
//     long and is an SMS-SUBMIT; 330 when the PDU relies on a stored SMSC and
//     none is set; 331 when the modem is registered neither in CS (+CREG)
//     nor in EPS (+CEREG). Otherwise it assigns the next message reference
//     (0 to 255, wrapping) and answers "+CMGS: <mr>".
//   - SMS commands answer +CMS ERROR: 311 while the SIM wants its PIN, 316
//     while it wants its PUK, 313 once the PUK is exhausted, and 302 in text
//     mode (AT+CMGF=1), which is accepted but not otherwise simulated.
//
// # Storage and indications
//
// The SIM ("SM") has Options.SIMCapacity slots numbered from 1 (from 0 with
// Options.ZeroBasedIndex, as on Quectel modules), and keeps its messages
// across connections, gateway restarts and power cycles. Incoming messages
// are stored REC UNREAD and announced per AT+CNMI <mt>: nothing (0),
// +CMTI: "SM",<index> (1 and 3), or routed unstored as
// +CMT: ,<length> and the PDU (2). Status reports follow <ds>: +CDS (1) or,
// like all reports under 0 and 2, stored and announced with
// +CDSI: <mem>,<index> (2). They are stored in "SM" with the messages unless
// Options.StatusReportMemory is "SR", in which case they go to a separate
// "SR" memory that the host selects for reading with AT+CPMS="SR".
// AT+CMGL and AT+CMGR turn REC UNREAD into REC READ, as 27.005 requires.
//
// When the memory is full, Receive fails with ErrMemoryFull and the message
// waits, as the network keeps a message the SIM rejected: it is delivered,
// with its indication, as soon as AT+CMGD frees a slot.
//
// Unsolicited result codes are written only while a host is connected and
// once it has sent its first byte (so that nothing reaches a tty before its
// opener has put it in raw mode); those raised while no host is connected
// are lost, as bytes a modem writes to a closed port are. A message that
// would be routed with +CMT or +CDS while no host is connected is stored
// instead. Under AT+CNMI <mode> 0 SMS indications are buffered in the modem
// and flushed when <mode> becomes non-zero with <bfr> 0. With URCBeforeFinal
// they are held until the next response and written just before its final
// result code, which real modems do and parsers get wrong.
//
// # Faults
//
// Tests inject failures (FailNext, FailAlways), slow or held responses
// (Delay, Hold: the command has taken effect, only its response waits),
// noise (Garbage, URC, Ring), signal and registration changes, a modem
// reboot (PowerCycle) and, through PTY, a USB modem that disappears and
// re-enumerates (Vanish, Reappear). A connection that ends in the middle of
// AT+CMGS leaves the modem waiting for the PDU, as a real one does: the next
// host should send ESC first.
//
// # Not simulated
//
// The simulator never decodes SMS content: it checks PDU framing only, does
// not answer in text mode, does not route class 0, 2 or 3 messages
// differently, and does not generate status reports by itself. There is no
// +CNMA acknowledgement timeout, no AT+CMGW/CMSS, no "ME" or "MT" memory, no
// cell broadcast, no voice or data calls (RING is only a URC), no baud rate
// or flow control, and no character-level timing.
package modemtest
