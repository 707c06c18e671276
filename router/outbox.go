package router

import (
	"context"
	"sync"
	"time"

	"hotline/envelope"
	"hotline/passive"
)

// Settling the outbox lazily.
//
// A message's effects are committed to its session's outbox before any
// is carried out (see Effects). Removing the entry once they are out took
// a second session write per message, a sixth of all JetStream writes.
// Now the instance that carried them out remembers it (settledSet) and the
// conversation's next commit drops the entry as part of its own write.
//
// An entry this instance did not see settled may belong to a message
// still being handled, to one whose instance stopped after acknowledging
// it, or to one whose instance stopped before carrying it out (then its
// redelivery resumes it). The next commit cannot tell these apart, so it
// keeps a young entry (its own handler or redelivery settles it) and
// carries out an old one again before dropping it. Carrying out again is
// harmless for what settles lazily: replies are deduplicated by their
// stream within DuplicateWindow and by their sent record after it,
// opt-outs are ordered by the message's time, bindings are states.
// Handoffs and review items are not deduplicated past the window, so a
// message that makes one still settles at once, with a write of its own.

// outboxGrace is how long an entry of unknown fate is left to its own
// handler: past the handler's timeout and a redelivery or two.
const outboxGrace = time.Minute

// outboxCarryLimit is the age past which an entry of unknown fate is
// dropped without being carried out: by then its message was long
// acknowledged or given up, and its replies' sent records (8 days) may be
// gone, so sending them again could send them twice.
const outboxCarryLimit = 7 * 24 * time.Hour

// settlesLazily reports whether e may stay in the outbox until the
// conversation's next commit.
func (e *Effects) settlesLazily() bool { return e.Handoff == nil && len(e.Review) == 0 }

// tidyOutbox removes from sess's outbox what is out, carrying out again
// the entries of unknown fate old enough not to be anyone's work in
// progress. The caller commits sess afterwards; if that commit loses a
// race, it starts over, and carrying out again is harmless.
func (r *Router) tidyOutbox(ctx context.Context, sess *Session, now time.Time) error {
	if len(sess.Outbox) == 0 {
		return nil
	}
	kept := make([]Effects, 0, len(sess.Outbox))
	for i := range sess.Outbox {
		e := &sess.Outbox[i]
		age := now.Sub(e.ReceivedAt)
		switch {
		case r.settled.has(e.InboundID):
		case !e.ReceivedAt.IsZero() && age < outboxGrace:
			kept = append(kept, *e)
		case e.ReceivedAt.IsZero() || age < outboxCarryLimit:
			// Without a time (an entry written before it was kept) the
			// age is unknown: carrying out is the side that loses nothing.
			m := envelope.Message{ID: e.InboundID, Conversation: sess.Conversation, ReceivedAt: e.ReceivedAt}
			if err := r.publish(ctx, &m, e, passive.Invitation{}); err != nil {
				return err
			}
			r.metrics.messages.WithLabelValues("resumed").Inc()
		}
	}
	sess.Outbox = kept
	return nil
}

// maxSettled bounds each generation of settledSet. An id forgotten too
// early only costs carrying its effects out again after outboxGrace.
const maxSettled = 50_000

// settledSet remembers the inbound ids whose effects this instance carried
// out in full, in two generations so that starting over never forgets
// the ids just added.
type settledSet struct {
	mu        sync.Mutex
	cur, prev map[string]struct{}
}

func newSettledSet() *settledSet {
	return &settledSet{cur: map[string]struct{}{}, prev: map[string]struct{}{}}
}

func (s *settledSet) add(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cur) >= maxSettled {
		s.prev, s.cur = s.cur, make(map[string]struct{}, maxSettled)
	}
	s.cur[id] = struct{}{}
}

func (s *settledSet) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.cur[id]
	if !ok {
		_, ok = s.prev[id]
	}
	return ok
}
