package outbound_test

import (
	"context"
	"sync"
)

// fakeModes is the mode store as a loop sees it, for the one account
// under test: sms_fallback set by an operator (set) or engaged by the loop
// itself (EngageAuto), with the change broadcast the real store gives.
type fakeModes struct {
	mu       sync.Mutex
	on, auto bool
	engaged  int // EngageAuto calls that turned the fallback on
	changed  chan struct{}
}

func newModes(on, auto bool) *fakeModes {
	return &fakeModes{on: on, auto: auto, changed: make(chan struct{})}
}

func (m *fakeModes) SMSFallback(string, string) (bool, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.on, m.auto
}

// EngageAuto turns the fallback on unless it is on already: an operator's
// setting wins over the gateway's, as in the real store.
func (m *fakeModes) EngageAuto(context.Context, string, string, string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.on {
		m.on, m.auto = true, true
		m.engaged++
		m.broadcast()
	}
	return nil
}

// ReleaseAuto turns the fallback off if the gateway engaged it.
func (m *fakeModes) ReleaseAuto(context.Context, string, string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.on && m.auto {
		m.on, m.auto = false, false
		m.broadcast()
	}
	return nil
}

func (m *fakeModes) Changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed
}

// set is an operator setting or clearing sms_fallback.
func (m *fakeModes) set(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.on, m.auto = on, false
	m.broadcast()
}

// engagements says how often EngageAuto turned the fallback on.
func (m *fakeModes) engagements() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.engaged
}

// broadcast wakes whoever waits on Changed; m.mu is held.
func (m *fakeModes) broadcast() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// phoneBook binds conversations to phones; nil binds none. It is only
// read once a loop runs.
type phoneBook map[string]string

func (p phoneBook) Phone(_ context.Context, conversation string) (string, bool, error) {
	phone, ok := p[conversation]
	return phone, ok, nil
}
