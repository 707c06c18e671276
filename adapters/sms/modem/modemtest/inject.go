package modemtest

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// fault replaces the final result of matching commands.
type fault struct {
	prefix string
	final  string
	once   bool
}

// delay postpones the response of matching commands.
type delay struct {
	prefix string
	d      time.Duration
}

// Held is a command response withheld by Hold until the test releases it.
type Held struct {
	prefix  string
	reached chan struct{}
	release chan struct{}
	once    sync.Once
}

// Reached is closed when a command matched and its response is being
// withheld: the command has taken effect, the host is waiting.
func (h *Held) Reached() <-chan struct{} { return h.reached }

// Release lets the withheld response go (nowhere, if the host has gone).
// It may be called more than once.
func (h *Held) Release() { h.once.Do(func() { close(h.release) }) }

// CMSError is the numeric +CMS ERROR final result (3GPP TS 27.005 §3.2.5),
// for FailNext and FailAlways.
func CMSError(n int) string { return "+CMS ERROR: " + strconv.Itoa(n) }

// CMEError is the numeric +CME ERROR final result (3GPP TS 27.007 §9.2).
func CMEError(n int) string { return "+CME ERROR: " + strconv.Itoa(n) }

// FailNext makes the next command matching prefix answer finalResult
// (e.g. CMSError(332)) without taking effect. A prefix matches the command
// line with or without its "AT", in any case: "+CMGS", "AT+CMGD=3". For
// AT+CMGS the prompt still appears and the failure answers the PDU.
func (s *Sim) FailNext(prefix, finalResult string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{prefix: prefix, final: finalResult, once: true})
}

// FailAlways is FailNext for every matching command until ClearFaults.
func (s *Sim) FailAlways(prefix, finalResult string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{prefix: prefix, final: finalResult})
}

// Delay withholds the response of every command matching prefix for d, to
// make the host time out; d of 0 removes it. The command takes effect at
// once (an AT+CMGS is sent), which is the case a gateway must survive.
func (s *Sim) Delay(prefix string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.delays[:0]
	for _, dl := range s.delays {
		if dl.prefix != prefix {
			kept = append(kept, dl)
		}
	}
	s.delays = kept
	if d > 0 {
		s.delays = append(s.delays, delay{prefix: prefix, d: d})
	}
}

// Hold withholds the response of the next command matching prefix until
// Release, so a test can stop the gateway between two steps (after AT+CMGS
// took effect, before "+CMGS: <mr>" arrives).
func (s *Sim) Hold(prefix string) *Held {
	h := &Held{prefix: prefix, reached: make(chan struct{}), release: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holds = append(s.holds, h)
	return h
}

// ClearFaults removes every fault, delay and hold not yet reached.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults, s.delays = nil, nil
	for _, h := range s.holds {
		h.Release()
	}
	s.holds = nil
}

// takeFault returns the injected final result for line, if any; s.mu is
// held.
func (s *Sim) takeFault(line string) (string, bool) {
	for i, f := range s.faults {
		if !matches(f.prefix, line) {
			continue
		}
		if f.once {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		s.logf("modemtest: injected %q for %q", f.final, line)
		return f.final, true
	}
	return "", false
}

// takeWait returns how the response to line must wait, nil when it need
// not; s.mu is held.
func (s *Sim) takeWait(line string) *pending {
	var p *pending
	for i, h := range s.holds {
		if matches(h.prefix, line) {
			s.holds = append(s.holds[:i:i], s.holds[i+1:]...)
			close(h.reached)
			p = &pending{release: h.release}
			s.logf("modemtest: holding the response to %q", line)
			break
		}
	}
	for _, dl := range s.delays {
		if matches(dl.prefix, line) {
			if p == nil {
				p = &pending{}
			}
			p.delay = dl.d
			s.logf("modemtest: delaying the response to %q by %v", line, dl.d)
			break
		}
	}
	return p
}

// matches compares a command line with an injection prefix, ignoring case
// and the "AT" both may start with.
func matches(prefix, line string) bool {
	return strings.HasPrefix(stripAT(line), stripAT(prefix))
}

func stripAT(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	return strings.TrimPrefix(s, "AT")
}
