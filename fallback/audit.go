package fallback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"hotline/bus"
	"hotline/envelope"
)

// Audit actions.
const (
	ActionModeSet       = "mode.set"
	ActionModeClear     = "mode.clear"
	ActionModeExpire    = "mode.expire"
	ActionReviewApprove = "review.approve"
	ActionReviewEdit    = "review.edit"
	ActionReviewReject  = "review.reject"
)

// ByExpiry is the By of a mode.expire record: nobody cleared the setting,
// its time ran out.
const ByExpiry = "expiry"

// AuditRecord is one change, appended to hotline.audit (stream
// HOTLINE_AUDIT), so "who switched read-only on, and why" can be answered
// long after the setting is gone.
type AuditRecord struct {
	Action string    `json:"action"`
	Mode   string    `json:"mode,omitempty"`
	Scope  string    `json:"scope,omitempty"`
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
	// Setting is the setting made, or the one cleared or expired.
	Setting *Setting `json:"setting,omitempty"`
	// ReplyID and Text describe a review decision: the held reply and
	// the text sent (the edited text for review.edit).
	ReplyID string `json:"reply_id,omitempty"`
	Text    string `json:"text,omitempty"`
}

// ErrAudit is wrapped when a change was made but its audit record could not
// be written. The change stands; the caller should report the failure.
var ErrAudit = errors.New("fallback: audit record not written")

// WriteAudit appends rec to the audit trail (hotline.audit). dedupID must
// be unique per change (action, key and KV revision, say), so a change
// retried by the caller is recorded once.
func WriteAudit(ctx context.Context, b *bus.Bus, rec AuditRecord, dedupID string) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("%w: %s: encode: %w", ErrAudit, rec.Action, err)
	}
	if _, err := b.Publish(ctx, envelope.SubjectAudit, data, dedupID, nil); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrAudit, rec.Action, err)
	}
	return nil
}

// Bounds of ReadAudit's limit.
const (
	DefaultAuditLimit = 50
	MaxAuditLimit     = 1000
)

// ReadAudit returns the last limit records of HOTLINE_AUDIT, oldest first
// (like tail). limit <= 0 means DefaultAuditLimit; it is capped at
// MaxAuditLimit. Records that do not decode are skipped: the stream is
// append-only and a bad record must not hide the others.
func ReadAudit(ctx context.Context, b *bus.Bus, limit int) ([]AuditRecord, error) {
	if limit <= 0 {
		limit = DefaultAuditLimit
	}
	limit = min(limit, MaxAuditLimit)
	var out []AuditRecord
	err := scanBack(ctx, b.JetStream(), bus.StreamAudit, limit*2, func(m *jetstream.RawStreamMsg) bool {
		var rec AuditRecord
		if json.Unmarshal(m.Data, &rec) == nil && rec.Action != "" {
			out = append(out, rec)
		}
		return len(out) < limit
	})
	if err != nil {
		return nil, fmt.Errorf("fallback: read audit: %w", err)
	}
	// Collected newest first; hand them back in the order they happened.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// scanBack hands a stream's messages to visit from the newest back, until
// visit returns false, the first message is passed, or maxScan sequences
// were looked at. Sequences removed by limits or by hand are skipped.
func scanBack(ctx context.Context, js jetstream.JetStream, stream string, maxScan int, visit func(*jetstream.RawStreamMsg) bool) error {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream %s: info: %w", stream, err)
	}
	first, last := info.State.FirstSeq, info.State.LastSeq
	if info.State.Msgs == 0 || last == 0 {
		return nil
	}
	for seq, n := last, 0; seq >= first && seq > 0 && n < maxScan; seq, n = seq-1, n+1 {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("stream %s: get %d: %w", stream, seq, err)
		}
		if !visit(m) {
			return nil
		}
	}
	return nil
}
