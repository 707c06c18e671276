package webchat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"hotline/bus"

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

// insert adds e in time order. A visitor's message is stamped before it
// is stored on HOTLINE_IN, and the bot may answer before the message is
// added here: the answer must still come after the question on reload.
func (t *transcript) insert(e entry) {
	i := len(t.Entries)
	for i > 0 && t.Entries[i-1].At.After(e.At) {
		i--
	}
	t.Entries = slices.Insert(t.Entries, i, e)
}

// maxTranscriptBytes keeps a transcript well inside NATS's 1 MB message
// limit, whatever the texts: past it the oldest entries go first.
const maxTranscriptBytes = 256 << 10

// encode writes the transcript as JSON of at most maxTranscriptBytes,
// dropping the oldest entries as needed (always keeping the newest).
// HTML characters are not escaped: the page sets text, never markup, and
// escaping would make "<" cost six bytes.
func (t *transcript) encode() ([]byte, error) {
	for {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(t); err != nil {
			return nil, err
		}
		if buf.Len() <= maxTranscriptBytes || len(t.Entries) <= 1 {
			return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
		}
		// Drop about as many entries as the excess needs, at least one.
		drop := max(1, len(t.Entries)*(buf.Len()-maxTranscriptBytes)/buf.Len())
		t.Entries = t.Entries[min(drop, len(t.Entries)-1):]
	}
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
	return a.appendEntryFrom(ctx, visitor, e, nil)
}

// seenTranscript is a transcript read earlier and the revision it had.
type seenTranscript struct {
	t   transcript
	rev uint64
}

// appendEntryFrom is appendEntry starting from a transcript the caller
// has just read (nil: read it now); a stale one costs one conflict.
func (a *Adapter) appendEntryFrom(ctx context.Context, visitor string, e entry, seen *seenTranscript) (added bool, err error) {
	key := a.transcriptKey(visitor)
	for attempt := 0; attempt < casAttempts; attempt++ {
		var t transcript
		var rev uint64
		if attempt == 0 && seen != nil {
			t, rev = seen.t, seen.rev
		} else if t, rev, err = a.loadTranscript(ctx, visitor); err != nil {
			return false, err
		}
		if t.has(e) {
			return false, nil
		}
		t.insert(e)
		if n := len(t.Entries) - a.cfg.HistoryLimit; n > 0 {
			t.Entries = append([]entry(nil), t.Entries[n:]...)
		}
		data, err := t.encode()
		if err != nil {
			return false, fmt.Errorf("webchat: transcript: encode: %w", err)
		}
		_, err = bus.Swap(ctx, a.kv, key, data, rev)
		if err == nil {
			a.notify(visitor, e)
			return true, nil
		}
		if !bus.IsConflict(err) {
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
