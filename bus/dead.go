package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"hotline/envelope"
)

// Dead letters, for the operators' view. A dead letter is named by its
// sequence on HOTLINE_DEAD. Sending one again republishes the original
// payload, unchanged, to its original subject: what makes that safe is
// the payload's own idempotency key (a reply's id, checked against
// hotline_sent before any send; an inbound message's id, checked against
// its session), not the stream's duplicate window, which would silently
// drop a retry made within minutes of the original.

// DeadRecord is a dead letter with the sequence that names it.
type DeadRecord struct {
	Seq uint64 `json:"seq"`
	envelope.DeadLetter
}

// MessageID is the id the dead letter's message carries (a reply's, an
// inbound message's), or "" if it has none.
func (d DeadRecord) MessageID() string {
	var v struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(d.Data, &v)
	return v.ID
}

// ErrDeadNotFound: no dead letter has that sequence (never, or dropped).
var ErrDeadNotFound = errors.New("dead letter not found")

// MaxDeadScan bounds how far back DeadLetters reads.
const MaxDeadScan = 10_000

// DeadLetters returns up to limit dead letters, newest first, for which
// keep (nil: all) says yes.
func (b *Bus) DeadLetters(ctx context.Context, limit int, keep func(*DeadRecord) bool) ([]DeadRecord, error) {
	var out []DeadRecord
	err := b.ScanBack(ctx, StreamDead, MaxDeadScan, func(m *jetstream.RawStreamMsg) bool {
		rec, err := decodeDead(m)
		if err == nil && (keep == nil || keep(&rec)) {
			out = append(out, rec)
		}
		return len(out) < limit
	})
	if err != nil {
		return nil, fmt.Errorf("bus: dead letters: %w", err)
	}
	return out, nil
}

// DeadLetter returns the dead letter stored at seq.
func (b *Bus) DeadLetter(ctx context.Context, seq uint64) (DeadRecord, error) {
	st, err := b.js.Stream(ctx, StreamDead)
	if err != nil {
		return DeadRecord{}, fmt.Errorf("bus: dead letter %d: %w", seq, err)
	}
	m, err := st.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return DeadRecord{}, ErrDeadNotFound
	}
	if err != nil {
		return DeadRecord{}, fmt.Errorf("bus: dead letter %d: %w", seq, err)
	}
	return decodeDead(m)
}

func decodeDead(m *jetstream.RawStreamMsg) (DeadRecord, error) {
	rec := DeadRecord{Seq: m.Sequence}
	if err := json.Unmarshal(m.Data, &rec.DeadLetter); err != nil {
		return DeadRecord{}, fmt.Errorf("bus: dead letter %d: %w", m.Sequence, err)
	}
	return rec, nil
}

// RetryDead publishes a dead letter's message again to its original
// subject, with its original headers, and then drops the dead letter: if
// it fails again, it comes back as a new one. A reply starts its attempts
// over. The publish's own dedup id names the dead letter, so retrying one
// twice stores it once.
func (b *Bus) RetryDead(ctx context.Context, seq uint64) (DeadRecord, PubAck, error) {
	rec, err := b.DeadLetter(ctx, seq)
	if err != nil {
		return DeadRecord{}, PubAck{}, err
	}
	if !strings.HasPrefix(rec.Subject, "hotline.") || rec.Subject == envelope.SubjectDead {
		return rec, PubAck{}, fmt.Errorf("bus: dead letter %d: subject %q is not one hotline consumes", seq, rec.Subject)
	}
	if strings.HasPrefix(rec.Subject, "hotline.out.") {
		var rep envelope.Reply
		if err := json.Unmarshal(rec.Data, &rep); err == nil && rep.ID != "" {
			// A reply that used up its attempts would be given up at once.
			if err := b.kv[BucketSent].Delete(ctx, AttemptsKey(rep.ID)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
				return rec, PubAck{}, fmt.Errorf("bus: dead letter %d: reset attempts: %w", seq, err)
			}
		}
	}
	hdr := nats.Header{}
	for k, vs := range rec.Headers {
		// JetStream's own headers (Nats-Msg-Id, Nats-Expected-*) belong
		// to the first publish.
		if strings.HasPrefix(k, "Nats-") {
			continue
		}
		hdr[k] = vs
	}
	orig := nats.Header(rec.Headers).Get(jetstream.MsgIDHeader)
	ack, err := b.Publish(ctx, rec.Subject, rec.Data, orig+":retry-of-dead:"+strconv.FormatUint(seq, 10), hdr)
	if err != nil {
		return rec, PubAck{}, fmt.Errorf("bus: dead letter %d: %w", seq, err)
	}
	if err := b.DropDead(ctx, seq); err != nil && !errors.Is(err, ErrDeadNotFound) {
		return rec, ack, err
	}
	return rec, ack, nil
}

// DropDead removes a dead letter for good.
func (b *Bus) DropDead(ctx context.Context, seq uint64) error {
	st, err := b.js.Stream(ctx, StreamDead)
	if err != nil {
		return fmt.Errorf("bus: drop dead letter %d: %w", seq, err)
	}
	if err := st.DeleteMsg(ctx, seq); err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) || strings.Contains(err.Error(), "no message found") {
			return ErrDeadNotFound
		}
		return fmt.Errorf("bus: drop dead letter %d: %w", seq, err)
	}
	return nil
}

// AttemptsKey is the hotline_sent key counting a reply's failed sends.
func AttemptsKey(replyID string) string { return "a." + replyID }
