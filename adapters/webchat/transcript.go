package webchat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// transcript is the hotline_webchat value of one visitor.
type transcript struct {
	Entries []entry `json:"entries"`
}

// has reports whether e is in t already: the same id, or the same client
// id for a visitor's message sent again.
func (t *transcript) has(e entry) bool {
	for _, x := range t.Entries {
		if x.ID == e.ID || e.ClientID != "" && x.Role == roleUser && x.ClientID == e.ClientID {
			return true
		}
	}
	return false
}

// casAttempts bounds the optimistic-concurrency retries of one append.
const casAttempts = 8

func (a *Adapter) transcriptKey(visitor string) string { return a.cfg.Account + "." + visitor }

// loadTranscript returns a visitor's entries and the value's revision (0:
// none yet). A value that does not decode counts as empty, so one bad
// write cannot lock a visitor out of their chat.
func (a *Adapter) loadTranscript(ctx context.Context, visitor string) (transcript, uint64, error) {
	kve, err := a.kv.Get(ctx, a.transcriptKey(visitor))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return transcript{}, 0, nil
	case err != nil:
		return transcript{}, 0, fmt.Errorf("webchat: transcript: get: %w", err)
	}
	var t transcript
	if err := json.Unmarshal(kve.Value(), &t); err != nil {
		a.log.Warn("transcript does not decode; starting afresh", "key", a.transcriptKey(visitor), "err", err)
		t = transcript{}
	}
	return t, kve.Revision(), nil
}

// appendEntry adds e to the visitor's transcript, keeping the newest
// HistoryLimit entries, and then pushes it to the visitor's sockets here
// and (through NATS) on other instances. An entry already there is left
// alone and pushed nowhere: added is false. Concurrent appends are
// serialized by the value's revision.
func (a *Adapter) appendEntry(ctx context.Context, visitor string, e entry) (added bool, err error) {
	key := a.transcriptKey(visitor)
	for attempt := 0; attempt < casAttempts; attempt++ {
		t, rev, err := a.loadTranscript(ctx, visitor)
		if err != nil {
			return false, err
		}
		if t.has(e) {
			return false, nil
		}
		t.Entries = append(t.Entries, e)
		if n := len(t.Entries) - a.cfg.HistoryLimit; n > 0 {
			t.Entries = append([]entry(nil), t.Entries[n:]...)
		}
		data, err := json.Marshal(t)
		if err != nil {
			return false, fmt.Errorf("webchat: transcript: encode: %w", err)
		}
		if rev == 0 {
			_, err = a.kv.Create(ctx, key, data)
		} else {
			_, err = a.kv.Update(ctx, key, data, rev)
		}
		if err == nil {
			a.notify(visitor, e)
			return true, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return false, fmt.Errorf("webchat: transcript: write: %w", err)
		}
		// Someone else wrote meanwhile: read again.
	}
	return false, fmt.Errorf("webchat: transcript: still conflicting after %d attempts", casAttempts)
}

// notify pushes e to this instance's sockets of the visitor and tells the
// other instances. The push is best effort: the transcript has the entry.
func (a *Adapter) notify(visitor string, e entry) {
	frame := messageFrame(e)
	a.hub.broadcast(visitor, frame)
	data, err := json.Marshal(e)
	if err != nil {
		return
	}
	msg := &nats.Msg{Subject: notifySubject(a.cfg.Account, visitor), Data: data, Header: nats.Header{}}
	msg.Header.Set(headerOrigin, a.instance)
	if err := a.bus.Conn().PublishMsg(msg); err != nil {
		a.log.Warn("notifying other instances", "err", err)
	}
}
