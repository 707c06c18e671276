package modem

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"hotline/adapters/sms/modem/pdu"
)

// partSet is a long message being put back together in the bucket, under
// partsKey. Its parts are deleted from the SIM once they are in here, so
// a restart in the middle loses none.
type partSet struct {
	From     pdu.Address  `json:"from"`
	Ref      uint16       `json:"ref"`
	Total    int          `json:"total"`
	Alphabet pdu.Alphabet `json:"alphabet"`
	// First is when the first part reached hotline: the set waits
	// parts_timeout from then.
	First time.Time `json:"first"`
	// SentAt is the SMSC timestamp of the lowest part seen.
	SentAt time.Time         `json:"sent_at"`
	Parts  map[string][]byte `json:"parts"` // part number → Body
	// Published is when the set was passed on. The record stays for
	// publishedLife after that, so a part read again (a crash before its
	// AT+CMGD) is known for one already in the message, not the start
	// of a new one.
	Published time.Time `json:"published,omitzero"`
}

// publishedLife is how long a passed-on set is remembered. A part counts
// as read again only if its text is the same too, so a new message
// reusing the reference within it is not mistaken for the old one.
const publishedLife = time.Hour

func (a *Adapter) partsPrefix() string { return "parts." + a.cfg.Account + "." }

// partsKey names the set a part belongs to: sender, reference and count
// (3GPP TS 23.040 §9.2.3.24.1 makes them unique together for a while).
func (a *Adapter) partsKey(d pdu.Deliver) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%d\x00%t", d.From.Number, d.Concat.Ref, d.Concat.Total, d.Concat.Wide)))
	return a.partsPrefix() + hex.EncodeToString(h[:10])
}

// addPart keeps one part; when it completes its set, the whole message
// is published and the set removed. safe means the part is held (in the
// bucket or published), so it may leave the SIM.
func (a *Adapter) addPart(ctx context.Context, d pdu.Deliver) (safe bool, err error) {
	key := a.partsKey(d)
	seq := strconv.Itoa(int(d.Concat.Seq))
	var set partSet
	for range 5 { // compare-and-set: another write may come between
		var rev uint64
		set, rev, err = a.loadSet(ctx, key)
		if err != nil {
			return false, err
		}
		if rev != 0 && !set.Published.IsZero() {
			if body, ok := set.Parts[seq]; ok && bytes.Equal(body, d.Body) && a.now().Sub(set.Published) < publishedLife {
				return true, nil // in a message passed on already
			}
			set = partSet{} // a new message reusing the reference
		}
		if set.Parts == nil {
			set = partSet{From: d.From, Ref: d.Concat.Ref, Total: int(d.Concat.Total), Alphabet: d.Alphabet,
				First: a.now().UTC(), SentAt: d.Time, Parts: map[string][]byte{}}
		}
		if _, dup := set.Parts[seq]; dup {
			break // read twice: held already
		}
		set.Parts[seq] = d.Body
		if d.Concat.Seq == 1 || set.SentAt.IsZero() {
			set.SentAt = d.Time
		}
		data, _ := json.Marshal(set)
		if rev == 0 {
			_, err = a.kv.Create(ctx, key, data)
		} else {
			_, err = a.kv.Update(ctx, key, data, rev)
		}
		if err == nil || !errors.Is(err, jetstream.ErrKeyExists) {
			break
		}
	}
	if err != nil {
		return false, fmt.Errorf("modem: keeping part %s/%d: %w", seq, d.Concat.Total, err)
	}
	if len(set.Parts) < set.Total {
		a.log.Debug("part of a long message kept", "part", seq, "of", set.Total)
		return true, nil
	}
	if err := a.publishSet(ctx, key, set, false); err != nil {
		// The part is in the bucket: it leaves the SIM all the same, and
		// the next poll publishes the set.
		a.log.Warn("long message complete but not stored yet; retried at the next poll", "err", err)
	}
	return true, nil
}

func (a *Adapter) loadSet(ctx context.Context, key string) (partSet, uint64, error) {
	e, err := a.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return partSet{}, 0, nil
	}
	if err != nil {
		return partSet{}, 0, fmt.Errorf("modem: reading parts %s: %w", key, err)
	}
	var set partSet
	if err := json.Unmarshal(e.Value(), &set); err != nil || set.Parts == nil {
		// Unreadable: start again rather than block the set forever.
		return partSet{}, e.Revision(), nil
	}
	return set, e.Revision(), nil
}

// publishSet publishes what a set holds and marks it published. An incomplete
// set is marked so (meta incomplete, parts), the gaps shown as "[…]".
func (a *Adapter) publishSet(ctx context.Context, key string, set partSet, incomplete bool) error {
	var bodies [][]byte
	var have []string
	var all []byte
	var text strings.Builder
	flush := func() {
		text.WriteString(pdu.JoinText(set.Alphabet, bodies...))
		bodies = nil
	}
	for i := 1; i <= set.Total; i++ {
		body, ok := set.Parts[strconv.Itoa(i)]
		if !ok {
			flush()
			if !strings.HasSuffix(text.String(), "[…]") {
				text.WriteString("[…]")
			}
			continue
		}
		have = append(have, strconv.Itoa(i))
		bodies = append(bodies, body)
		all = append(all, body...)
	}
	flush()
	meta := map[string]string{"parts": strconv.Itoa(set.Total)}
	if incomplete {
		meta["incomplete"] = "true"
		meta["parts_received"] = strings.Join(have, ",")
	}
	if set.Alphabet == pdu.Data8 {
		meta["body_hex"] = hex.EncodeToString(all)
	}
	id := dedupID(set.From.Number, set.SentAt, fmt.Sprintf("%d/%d/%s", set.Ref, set.Total, strings.Join(have, ",")), all)
	if _, err := a.publish(ctx, set.From, text.String(), set.SentAt, id, meta); err != nil {
		var bad *badPDU
		if !errors.As(err, &bad) {
			return err
		}
		// It cannot be a message (no sender, say): stored raw, since
		// its parts have left the SIM.
		if err := a.deliverRaw(ctx, hex.EncodeToString(all), err); err != nil {
			return err
		}
	}
	set.Published = a.now().UTC()
	data, _ := json.Marshal(set)
	if _, err := a.kv.Put(ctx, key, data); err != nil {
		// Published: a second publish of the same set is a duplicate.
		a.log.Warn("marking a long message passed on", "err", err)
	}
	return nil
}

// flushParts publishes the sets that are complete (their publish failed
// before) or have waited parts_timeout, as far as they go.
func (a *Adapter) flushParts(ctx context.Context) {
	keys, err := a.kv.ListKeysFiltered(ctx, a.partsPrefix()+">")
	if err != nil {
		a.log.Warn("listing waiting message parts", "err", err)
		return
	}
	for key := range keys.Keys() {
		set, rev, err := a.loadSet(ctx, key)
		if err != nil || rev == 0 {
			continue
		}
		if set.Total == 0 {
			a.log.Error("unreadable record of message parts removed", "key", key)
			_ = a.kv.Delete(ctx, key)
			continue
		}
		if !set.Published.IsZero() {
			if a.now().Sub(set.Published) >= publishedLife {
				_ = a.kv.Delete(ctx, key)
			}
			continue
		}
		complete := len(set.Parts) >= set.Total && set.Total > 0
		if !complete && a.now().Sub(set.First) < a.cfg.PartsTimeout {
			continue
		}
		if err := a.publishSet(ctx, key, set, !complete); err != nil {
			a.log.Warn("waiting message parts not stored yet", "err", err)
			continue
		}
		if !complete {
			a.log.Info("long message passed on incomplete", "parts", len(set.Parts), "of", set.Total)
		}
	}
}
