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
	ActionDeadRetry     = "dead.retry"
	ActionDeadDrop      = "dead.drop"
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
	// DeadSeq and Subject name a dead letter sent again or dropped: its
	// sequence on HOTLINE_DEAD and the subject it was on (ReplyID holds
	// the reply's id when it is one).
	DeadSeq uint64 `json:"dead_seq,omitempty"`
	Subject string `json:"subject,omitempty"`
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
	err := b.ScanBack(ctx, bus.StreamAudit, limit*2, func(m *jetstream.RawStreamMsg) bool {
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
