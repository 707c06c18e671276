package modemtest

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// memory is one message storage (27.005 <mem>): numbered slots.
type memory struct {
	name  string
	base  int        // index of the first slot
	slots []*message // nil when free
}

// message is a stored PDU.
type message struct {
	stat int
	pdu  string
	tpdu int
}

func newMemory(name string, capacity, base int) *memory {
	return &memory{name: name, base: base, slots: make([]*message, capacity)}
}

// put stores in the lowest free slot, as SIMs do.
func (m *memory) put(stat int, pdu string, tpdu int) (index int, ok bool) {
	for i, sl := range m.slots {
		if sl == nil {
			m.slots[i] = &message{stat: stat, pdu: pdu, tpdu: tpdu}
			return m.base + i, true
		}
	}
	return -1, false
}

// valid reports whether index names a slot, free or not.
func (m *memory) valid(index int) bool {
	return index >= m.base && index < m.base+len(m.slots)
}

// get returns the message at index, nil when the slot is free or invalid.
func (m *memory) get(index int) *message {
	if !m.valid(index) {
		return nil
	}
	return m.slots[index-m.base]
}

// remove frees the slot at index.
func (m *memory) remove(index int) {
	if m.valid(index) {
		m.slots[index-m.base] = nil
	}
}

func (m *memory) used() int {
	n := 0
	for _, sl := range m.slots {
		if sl != nil {
			n++
		}
	}
	return n
}

func (m *memory) total() int { return len(m.slots) }

// each calls fn for the occupied slots in index order.
func (m *memory) each(fn func(index int, msg *message)) {
	for i, sl := range m.slots {
		if sl != nil {
			fn(m.base+i, sl)
		}
	}
}

// TP-MTI values (3GPP TS 23.040 §9.2.3.1) of the TPDUs the modem handles.
const (
	mtiDeliver      = 0 // network to SIM
	mtiSubmit       = 1 // host to network
	mtiStatusReport = 2 // network to SIM
)

// normHex upper-cases hex so transcripts and Stored compare predictably.
func normHex(h string) string { return strings.ToUpper(h) }

// splitPDU checks a PDU-mode frame (3GPP TS 27.005 §3.1 <pdu>): hex whose
// first octet counts the SMSC octets that follow, then at least one TPDU
// octet. It returns both lengths in octets.
func splitPDU(h string) (smscLen, tpduLen int, err error) {
	raw, err := hex.DecodeString(h)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrBadPDU, err)
	}
	if len(raw) < 2 {
		return 0, 0, fmt.Errorf("%w: %d octets", ErrBadPDU, len(raw))
	}
	smscLen = int(raw[0])
	tpduLen = len(raw) - 1 - smscLen
	if tpduLen < 1 {
		return 0, 0, fmt.Errorf("%w: SMSC length %d leaves no TPDU in %d octets", ErrBadPDU, smscLen, len(raw))
	}
	return smscLen, tpduLen, nil
}

// tpMTI returns the message type of the TPDU in a checked frame.
func tpMTI(h string, smscLen int) int {
	raw, _ := hex.DecodeString(h[2*(1+smscLen) : 2*(1+smscLen)+2])
	return int(raw[0] & 0x03)
}

// parseIncoming checks a PDU the test delivers from the network.
func parseIncoming(h string, mti int) (incoming, error) {
	smscLen, tpdu, err := splitPDU(h)
	if err != nil {
		return incoming{}, err
	}
	if got := tpMTI(h, smscLen); got != mti {
		return incoming{}, fmt.Errorf("%w: TP-MTI %d, want %d", ErrBadPDU, got, mti)
	}
	return incoming{pdu: normHex(h), tpdu: tpdu}, nil
}
