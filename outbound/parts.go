package outbound

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Parts is the progress of one reply that goes out as several platform
// messages: how many have left and the platform's id of each. With more
// than one part it is kept in hotline_sent (expiring with the sent marks),
// so the loop's retry, on any instance and after a restart too, sends only
// the parts that have not left, and a retry after the last part sends
// nothing. The worst a lost record costs is a repeated part, never a
// missing one.
type Parts struct {
	kv  jetstream.KeyValue
	key string
	rec partsRecord
}

type partsRecord struct {
	Sent int      `json:"sent"`
	IDs  []string `json:"ids,omitempty"`
}

// LoadParts returns the progress of reply replyID on platform, split into
// total parts. A single part, a nil kv, or a missing or unreadable record
// starts at the first part.
func LoadParts(ctx context.Context, kv jetstream.KeyValue, platform, replyID string, total int) *Parts {
	p := &Parts{key: "parts." + platform + "." + replyID}
	if total <= 1 || kv == nil {
		return p
	}
	p.kv = kv
	if e, err := kv.Get(ctx, p.key); err == nil {
		var rec partsRecord
		if json.Unmarshal(e.Value(), &rec) == nil && rec.Sent >= 0 && rec.Sent <= total {
			p.rec = rec
		}
	}
	return p
}

// Sent is how many parts have left.
func (p *Parts) Sent() int { return p.rec.Sent }

// IDs are the platform's ids of the parts that left, in order ("" where
// the platform gives none).
func (p *Parts) IDs() []string { return p.rec.IDs }

// Record notes that the next part left, with the platform's id. An error
// means the record was not stored and a retry may repeat parts: log it
// and go on with the send.
func (p *Parts) Record(ctx context.Context, id string) error {
	p.rec.Sent++
	p.rec.IDs = append(p.rec.IDs, id)
	if p.kv == nil {
		return nil
	}
	data, err := json.Marshal(p.rec)
	if err != nil {
		return fmt.Errorf("parts record: %w", err)
	}
	if _, err := p.kv.Put(ctx, p.key, data); err != nil {
		return fmt.Errorf("parts record %s: %w", p.key, err)
	}
	return nil
}
