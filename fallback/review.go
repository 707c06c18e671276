package fallback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"hotline/bus"
	"hotline/envelope"
)

// Errors of the review queue.
var (
	// ErrAlreadyDecided is returned when a held reply was approved,
	// edited or rejected before: two operators never both send it.
	ErrAlreadyDecided = errors.New("fallback: reply already decided")
	// ErrReplyNotFound is returned for an id not in the review queue.
	ErrReplyNotFound = errors.New("fallback: no held reply with that id")
)

// Review decisions, as stored in hotline_review.
const (
	DecisionApproved = "approved"
	DecisionEdited   = "edited"
	DecisionRejected = "rejected"
)

// Bounds of Pending's limit and of how far back the queue is searched.
const (
	DefaultReviewLimit = 50
	MaxReviewLimit     = 500
	// reviewScan bounds how many held replies one call looks at: far
	// more than an operator team can review while review_first is on
	// (the stream keeps 14 days).
	reviewScan = 50_000
)

// ReviewDeps are the review queue's collaborators.
type ReviewDeps struct {
	Logger *slog.Logger
	Now    func() time.Time // nil: time.Now
}

// Review is the queue of replies held while review_first is on. The
// router publishes them to hotline.review (stream HOTLINE_REVIEW); each
// decision is a key in hotline_review created once, so a reply is decided
// exactly once however many operators press the button.
type Review struct {
	b   *bus.Bus
	kv  jetstream.KeyValue
	log *slog.Logger
	now func() time.Time
}

// ReviewDecision is what was decided about one held reply.
type ReviewDecision struct {
	ReplyID  string    `json:"reply_id"`
	Decision string    `json:"decision"`
	By       string    `json:"by"`
	Reason   string    `json:"reason,omitempty"`
	Text     string    `json:"text,omitempty"`    // the edited text
	SentID   string    `json:"sent_id,omitempty"` // id of the reply sent, if any
	At       time.Time `json:"at"`
}

// NewReview returns the review queue on b.
func NewReview(b *bus.Bus, deps ReviewDeps) (*Review, error) {
	kv := b.KV(bus.BucketReview)
	if kv == nil {
		return nil, fmt.Errorf("fallback: review: bucket %s missing", bus.BucketReview)
	}
	r := &Review{b: b, kv: kv, log: deps.Logger, now: deps.Now}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	return r, nil
}

// Pending returns the newest limit held replies without a decision,
// oldest first; a reply held twice is listed once, where it was held
// last. limit <= 0 means DefaultReviewLimit; it is capped at
// MaxReviewLimit.
func (r *Review) Pending(ctx context.Context, limit int) ([]envelope.Reply, error) {
	if limit <= 0 {
		limit = DefaultReviewLimit
	}
	limit = min(limit, MaxReviewLimit)
	decided, err := r.decided(ctx)
	if err != nil {
		return nil, err
	}
	var out []envelope.Reply
	seen := map[string]bool{}
	err = r.b.ScanBack(ctx, bus.StreamReview, reviewScan, func(m *jetstream.RawStreamMsg) bool {
		if hid := m.Header.Get(envelope.HeaderMsgID); hid != "" && decided[hid] {
			return true // decided: no need to decode it
		}
		var rep envelope.Reply
		if envelope.Decode(m.Data, &rep) != nil {
			return true
		}
		// The router may publish a reply again after the duplicate
		// window (a redelivered inbound); show it once.
		if decided[rep.ID] || seen[rep.ID] {
			return true
		}
		seen[rep.ID] = true
		out = append(out, rep)
		return len(out) < limit
	})
	if err != nil {
		return nil, fmt.Errorf("fallback: review pending: %w", err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// decided returns the ids of every reply with a decision.
func (r *Review) decided(ctx context.Context) (map[string]bool, error) {
	ids := map[string]bool{}
	keys, err := r.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("fallback: review decisions: %w", err)
	}
	defer func() { _ = keys.Stop() }()
	for k := range keys.Keys() {
		ids[k] = true
	}
	return ids, nil
}

// Decision returns what was decided about reply id; ok is false while it
// waits.
func (r *Review) Decision(ctx context.Context, id string) (d ReviewDecision, ok bool, err error) {
	if _, err := envelope.ParseIDTime(id); err != nil {
		return ReviewDecision{}, false, &InvalidError{Field: "id", Msg: fmt.Sprintf("id %q: %v", id, err), Err: err}
	}
	e, err := r.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return ReviewDecision{}, false, nil
	}
	if err != nil {
		return ReviewDecision{}, false, fmt.Errorf("fallback: review decision %s: %w", id, err)
	}
	if err := json.Unmarshal(e.Value(), &d); err != nil {
		return ReviewDecision{}, false, fmt.Errorf("fallback: review decision %s: %w", id, err)
	}
	return d, true, nil
}

// Approve sends held reply id as the bot wrote it.
func (r *Review) Approve(ctx context.Context, id, by string) (envelope.Reply, error) {
	return r.decide(ctx, id, ReviewDecision{Decision: DecisionApproved, By: by})
}

// Edit sends text instead of what the bot wrote, as a new reply (id
// derived from the held one) written by the operator.
func (r *Review) Edit(ctx context.Context, id, by, text string) (envelope.Reply, error) {
	if err := validText("text", text, envelope.MaxTextLen); err != nil {
		return envelope.Reply{}, err
	}
	return r.decide(ctx, id, ReviewDecision{Decision: DecisionEdited, By: by, Text: text})
}

// Reject drops held reply id; nothing is sent. reason is optional and goes
// to the audit trail.
func (r *Review) Reject(ctx context.Context, id, by, reason string) error {
	if len(reason) > maxReasonLen {
		return invalid("reason", "%d bytes, at most %d", len(reason), maxReasonLen)
	}
	_, err := r.decide(ctx, id, ReviewDecision{Decision: DecisionRejected, By: by, Reason: reason})
	return err
}

// decide records d for reply id, then sends what it says. The decision
// is claimed first (KV create) and released again if sending fails, so a
// reply is never sent twice and never marked sent when it was not.
func (r *Review) decide(ctx context.Context, id string, d ReviewDecision) (envelope.Reply, error) {
	if _, err := envelope.ParseIDTime(id); err != nil {
		return envelope.Reply{}, &InvalidError{Field: "id", Msg: fmt.Sprintf("id %q: %v", id, err), Err: err}
	}
	if err := validBy("by", d.By); err != nil {
		return envelope.Reply{}, err
	}
	if _, done, err := r.Decision(ctx, id); err != nil {
		return envelope.Reply{}, err
	} else if done {
		return envelope.Reply{}, fmt.Errorf("%w: %s", ErrAlreadyDecided, id)
	}
	held, err := r.find(ctx, id)
	if err != nil {
		return envelope.Reply{}, err
	}
	now := r.now()
	d.ReplyID, d.At = id, now.UTC()
	send := held
	switch d.Decision {
	case DecisionApproved:
		send.Source = envelope.SourceOperator
	case DecisionEdited:
		send.ID = envelope.DeriveID(held.ID, "edited")
		send.Text = d.Text
		send.Source = envelope.SourceOperator
		send.CreatedAt = now.UTC()
	}
	if d.Decision != DecisionRejected {
		d.SentID = send.ID
	}
	data, err := json.Marshal(d)
	if err != nil {
		return envelope.Reply{}, fmt.Errorf("fallback: review %s: encode: %w", id, err)
	}
	rev, err := r.kv.Create(ctx, id, data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return envelope.Reply{}, fmt.Errorf("%w: %s", ErrAlreadyDecided, id)
	}
	if err != nil {
		return envelope.Reply{}, fmt.Errorf("fallback: review %s: record decision: %w", id, err)
	}
	if d.Decision != DecisionRejected {
		if err := r.publish(ctx, &send); err != nil {
			// Release the claim so the operator can try again; if
			// even that fails the reply stays decided but unsent,
			// which the error says.
			if derr := r.kv.Delete(ctx, id, jetstream.LastRevision(rev)); derr != nil {
				err = errors.Join(err, fmt.Errorf("release decision: %w", derr))
			}
			return envelope.Reply{}, fmt.Errorf("fallback: review %s: send: %w", id, err)
		}
	}
	r.log.Info("fallback: review decided", "reply_id", id, "decision", d.Decision, "by", d.By,
		"platform", held.Platform, "account", held.Account)
	rec := AuditRecord{By: d.By, Reason: d.Reason, At: d.At, ReplyID: id}
	switch d.Decision {
	case DecisionApproved:
		rec.Action, rec.Text = ActionReviewApprove, send.Text
	case DecisionEdited:
		rec.Action, rec.Text = ActionReviewEdit, send.Text
	case DecisionRejected:
		rec.Action = ActionReviewReject
	}
	if err := WriteAudit(ctx, r.b, rec, rec.Action+":"+id); err != nil {
		return send, err
	}
	if d.Decision == DecisionRejected {
		return envelope.Reply{}, nil
	}
	return send, nil
}

// publish puts an approved reply on hotline.out.<platform>.<account> like
// the router does: the reply id is the dedup id and the conversation
// travels as a header.
func (r *Review) publish(ctx context.Context, rep *envelope.Reply) error {
	subject, err := envelope.OutSubject(rep.Platform, rep.Account)
	if err != nil {
		return err
	}
	h := nats.Header{}
	h.Set(envelope.HeaderConversation, rep.Conversation)
	_, err = r.b.PublishJSON(ctx, subject, rep, rep.ID, h)
	return err
}

// find returns held reply id from the stream, newest first.
func (r *Review) find(ctx context.Context, id string) (envelope.Reply, error) {
	var found *envelope.Reply
	err := r.b.ScanBack(ctx, bus.StreamReview, reviewScan, func(m *jetstream.RawStreamMsg) bool {
		// The router publishes each held reply with its id as
		// Nats-Msg-Id, which spares decoding the others.
		if hid := m.Header.Get(envelope.HeaderMsgID); hid != "" && hid != id {
			return true
		}
		var rep envelope.Reply
		if envelope.Decode(m.Data, &rep) == nil && rep.ID == id {
			found = &rep
			return false
		}
		return true
	})
	if err != nil {
		return envelope.Reply{}, fmt.Errorf("fallback: review %s: %w", id, err)
	}
	if found == nil {
		return envelope.Reply{}, fmt.Errorf("%w: %s", ErrReplyNotFound, id)
	}
	return *found, nil
}
