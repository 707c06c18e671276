package fallback

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
)

// holdReply publishes a reply to the review queue the way the router does.
func holdReply(t testing.TB, b *bus.Bus, user, text string) envelope.Reply {
	t.Helper()
	in := envelope.NewID(time.Now())
	rep := envelope.Reply{
		ID:           envelope.DeriveID(in, "reply-0"),
		InReplyTo:    in,
		Platform:     "wechat",
		Account:      "oa-main",
		Conversation: envelope.ConversationKey("wechat", "oa-main", user),
		To:           envelope.Party{ID: user},
		Text:         text,
		Lang:         "en",
		Source:       envelope.SourceBot,
		CreatedAt:    time.Now().UTC().Truncate(time.Millisecond),
	}
	if _, err := b.PublishJSON(context.Background(), envelope.SubjectReview, &rep, rep.ID, nil); err != nil {
		t.Fatalf("publish held reply: %v", err)
	}
	return rep
}

// outReplies decodes everything on HOTLINE_OUT.
func outReplies(t testing.TB, b *bus.Bus) []envelope.Reply {
	t.Helper()
	var out []envelope.Reply
	for _, data := range bustest.Messages(t, b, bus.StreamOut, "") {
		var rep envelope.Reply
		if err := envelope.Decode(data, &rep); err != nil {
			t.Fatalf("decode HOTLINE_OUT message: %v", err)
		}
		out = append(out, rep)
	}
	return out
}

func newReview(t testing.TB, b *bus.Bus) *Review {
	t.Helper()
	r, err := NewReview(b, ReviewDeps{})
	if err != nil {
		t.Fatalf("NewReview: %v", err)
	}
	return r
}

func pendingIDs(t testing.TB, r *Review) []string {
	t.Helper()
	reps, err := r.Pending(context.Background(), 0)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	var ids []string
	for _, rep := range reps {
		ids = append(ids, rep.ID)
	}
	return ids
}

func TestReviewApproveEditReject(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newReview(t, b)
	ctx := context.Background()
	a := holdReply(t, b, "u1", "Your refund was sent.")
	e := holdReply(t, b, "u2", "Your account is locked.")
	x := holdReply(t, b, "u3", "Try turning it off and on.")
	// The router publishing a again after the duplicate window (its
	// inbound was redelivered late) stores a second copy; the queue shows
	// it once, where it was held last.
	if _, err := b.PublishJSON(ctx, envelope.SubjectReview, &a, "late-"+a.ID, nil); err != nil {
		t.Fatal(err)
	}

	if got, want := pendingIDs(t, r), []string{e.ID, x.ID, a.ID}; !slices.Equal(got, want) {
		t.Fatalf("Pending: got %v, want %v", got, want)
	}

	sent, err := r.Approve(ctx, a.ID, "alice")
	if err != nil {
		t.Fatalf("Approve: %v", err)
	}
	if sent.ID != a.ID || sent.Text != a.Text || sent.Source != envelope.SourceOperator {
		t.Errorf("approved reply: got %+v, want %s with the bot's text", sent, a.ID)
	}
	edited, err := r.Edit(ctx, e.ID, "bob", "Your account is safe; an agent will call you.")
	if err != nil {
		t.Fatalf("Edit: %v", err)
	}
	if want := envelope.DeriveID(e.ID, "edited"); edited.ID != want || edited.Text != "Your account is safe; an agent will call you." || edited.Source != envelope.SourceOperator || edited.Conversation != e.Conversation {
		t.Errorf("edited reply: got %+v, want id %s, the new text, source operator", edited, want)
	}
	if err := r.Reject(ctx, x.ID, "carol", "wrong advice"); err != nil {
		t.Fatalf("Reject: %v", err)
	}

	// Every second decision is refused, whatever it is.
	for name, decide := range map[string]func() error{
		"approve again":    func() error { _, err := r.Approve(ctx, a.ID, "dave"); return err },
		"edit approved":    func() error { _, err := r.Edit(ctx, a.ID, "dave", "x"); return err },
		"approve rejected": func() error { _, err := r.Approve(ctx, x.ID, "dave"); return err },
		"reject edited":    func() error { return r.Reject(ctx, e.ID, "dave", "") },
		"edit edited anew": func() error { _, err := r.Edit(ctx, e.ID, "dave", "y"); return err },
	} {
		if err := decide(); !errors.Is(err, ErrAlreadyDecided) {
			t.Errorf("%s: got %v, want ErrAlreadyDecided", name, err)
		}
	}
	if _, err := r.Approve(ctx, envelope.NewID(time.Now()), "alice"); !errors.Is(err, ErrReplyNotFound) {
		t.Errorf("Approve unknown id: got %v, want ErrReplyNotFound", err)
	}
	if _, err := r.Approve(ctx, "not-an-id", "alice"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Approve malformed id: got %v, want ErrInvalid", err)
	}

	out := outReplies(t, b)
	if len(out) != 2 || out[0].ID != a.ID || out[1].ID != edited.ID {
		t.Fatalf("HOTLINE_OUT: got %+v, want the approved and the edited reply once each", out)
	}
	if got := pendingIDs(t, r); len(got) != 0 {
		t.Errorf("Pending after deciding all: got %v, want none", got)
	}
	d, ok, err := r.Decision(ctx, e.ID)
	if err != nil || !ok || d.Decision != DecisionEdited || d.By != "bob" || d.SentID != edited.ID {
		t.Errorf("Decision(%s): got %+v, %v, %v, want edited by bob", e.ID, d, ok, err)
	}

	want := []AuditRecord{
		{Action: ActionReviewApprove, By: "alice", ReplyID: a.ID, Text: a.Text},
		{Action: ActionReviewEdit, By: "bob", ReplyID: e.ID, Text: edited.Text},
		{Action: ActionReviewReject, By: "carol", ReplyID: x.ID, Reason: "wrong advice"},
	}
	recs := auditLog(t, b)
	if len(recs) != len(want) {
		t.Fatalf("audit: got %d records %+v, want %d", len(recs), recs, len(want))
	}
	for i, w := range want {
		g := recs[i]
		if g.Action != w.Action || g.By != w.By || g.ReplyID != w.ReplyID || g.Text != w.Text || g.Reason != w.Reason || g.At.IsZero() {
			t.Errorf("audit %d: got %+v, want %+v", i, g, w)
		}
	}
}

func TestReviewConcurrentApproveSendsOnce(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	rep := holdReply(t, b, "u1", "hello")
	// Two instances, four operators pressing approve at once.
	reviews := []*Review{newReview(t, b), newReview(t, b)}
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = reviews[i%2].Approve(context.Background(), rep.ID, "op")
		})
	}
	wg.Wait()
	ok, dup := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrAlreadyDecided):
			dup++
		default:
			t.Errorf("Approve: unexpected error %v", err)
		}
	}
	if ok != 1 || dup != 3 {
		t.Errorf("concurrent approvals: got %d ok and %d already decided, want 1 and 3", ok, dup)
	}
	if out := outReplies(t, b); len(out) != 1 {
		t.Errorf("HOTLINE_OUT: got %d replies, want 1", len(out))
	}
	if n := countActions(auditLog(t, b), ActionReviewApprove); n != 1 {
		t.Errorf("review.approve records: got %d, want 1", n)
	}
}

func TestReviewPendingLimitKeepsNewest(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newReview(t, b)
	var ids []string
	for range 5 {
		ids = append(ids, holdReply(t, b, "u1", "text").ID)
	}
	reps, err := r.Pending(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 2 || reps[0].ID != ids[3] || reps[1].ID != ids[4] {
		t.Errorf("Pending(2): got %d replies, want the newest two (%v)", len(reps), ids[3:])
	}
	if err := r.Reject(context.Background(), ids[4], "alice", ""); err != nil {
		t.Fatal(err)
	}
	reps, _ = r.Pending(context.Background(), 2)
	if len(reps) != 2 || reps[0].ID != ids[2] || reps[1].ID != ids[3] {
		t.Errorf("Pending(2) after a reject: got %d replies, want %v", len(reps), ids[2:4])
	}
}

func TestReviewEditValidation(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newReview(t, b)
	rep := holdReply(t, b, "u1", "hello")
	ctx := context.Background()
	if _, err := r.Edit(ctx, rep.ID, "alice", " "); !errors.Is(err, ErrInvalid) {
		t.Errorf("Edit with blank text: got %v, want ErrInvalid", err)
	}
	if _, err := r.Approve(ctx, rep.ID, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("Approve without by: got %v, want ErrInvalid", err)
	}
	if got := pendingIDs(t, r); len(got) != 1 {
		t.Errorf("Pending after refused decisions: got %v, want the reply still waiting", got)
	}
}
