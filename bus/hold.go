package bus

import (
	"errors"
	"slices"
	"sync"
	"time"
)

// A held delivery waits for something outside the bus (a platform's
// circuit to close, an operator to clear a mode). JetStream can only
// redeliver a nak'ed message when its delay runs out, so an outage that
// ends early was followed by up to a whole delay of silence. Instead the
// consumer keeps a held message itself: unacknowledged, its ack timer
// restarted while it waits, and handed to the handler again as soon as
// ConsumerConfig.Wake fires or its time is up. The server still owns it:
// if this instance dies, AckWait later another instance gets it, so
// holding never loses a message, and it is never handled twice at once.
//
// Held messages count against the consumer's MaxAckPending, so a
// consumer holds at most half of it and naks the rest with the delay:
// the other half keeps new messages flowing while old ones wait.

type holdError struct {
	err   error
	after time.Duration
}

func (e *holdError) Error() string { return e.err.Error() }
func (e *holdError) Unwrap() error { return e.err }

// Hold asks the consumer to keep the delivery aside, unacknowledged,
// and hand it to the handler again when ConsumerConfig.Wake fires or
// after has passed, whichever comes first. Use it for waits that end on
// an event; Retry is for waits that end on a clock.
func Hold(err error, after time.Duration) error { return &holdError{err: err, after: after} }

func asHold(err error) (*holdError, bool) {
	var h *holdError
	ok := errors.As(err, &h)
	return h, ok
}

// parking keeps one consumer's held messages.
type parking struct {
	limit     int
	heartbeat time.Duration
	kick      chan struct{} // a car came or left: recompute the timer

	mu     sync.Mutex
	cars   []car
	closed bool
}

type car struct {
	q     queued
	seq   uint64
	until time.Time // hand back to the handler then at the latest
	beat  time.Time // last ack-timer restart
}

func newParking(limit int, ackWait time.Duration) *parking {
	return &parking{limit: limit, heartbeat: ackWait / 3, kick: make(chan struct{}, 1)}
}

// park keeps q until wake or after. woken is the wake channel as it was
// when the handler started: if it has fired since, the handler decided
// on a state that is gone, so q is handed back at once. park reports
// false when the lot is full or closed; the caller naks then.
func (p *parking) park(q queued, seq uint64, after time.Duration, woken <-chan struct{}) bool {
	select {
	case <-woken:
		after = 0
	default:
	}
	now := time.Now()
	p.mu.Lock()
	if p.closed || len(p.cars) >= p.limit {
		p.mu.Unlock()
		return false
	}
	q.holds++
	p.cars = append(p.cars, car{q: q, seq: seq, until: now.Add(after), beat: now})
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
	return true
}

// size is how many messages are held now.
func (p *parking) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.cars)
}

// run hands held messages back through release until stop is closed,
// then naks whatever is still held. wake (nil: none) returns a channel
// closed at the next event that may end every hold.
func (p *parking) run(wake func() <-chan struct{}, release func(queued), stop <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	all := false
	var woken <-chan struct{}
	for {
		if wake != nil {
			// Asked before looking at the cars, so an event that
			// comes while they are handed back is not missed; and the
			// last channel is looked at after, so neither is one that
			// came since the select below returned for another reason
			// (a car parked, the timer).
			last := woken
			woken = wake()
			select {
			case <-last:
				all = true
			default:
			}
		}
		due, beat, next := p.sweep(time.Now(), all)
		all = false
		p.handBack(due, release)
		for _, c := range beat {
			_ = c.q.msg.InProgress()
		}
		timer.Reset(time.Until(next))
		select {
		case <-stop:
			p.close()
			return
		case <-woken:
			all = true
		case <-timer.C:
		case <-p.kick:
		}
	}
}

// sweep takes out the cars due at now (all of them if all), marks those
// whose ack timer needs a restart, and says when to look again.
func (p *parking) sweep(now time.Time, all bool) (due, beat []car, next time.Time) {
	next = now.Add(time.Hour)
	p.mu.Lock()
	defer p.mu.Unlock()
	kept := p.cars[:0]
	for _, c := range p.cars {
		if all || !now.Before(c.until) {
			due = append(due, c)
			continue
		}
		if now.Sub(c.beat) >= p.heartbeat {
			c.beat = now
			beat = append(beat, c)
		}
		next = minTime(next, minTime(c.until, c.beat.Add(p.heartbeat)))
		kept = append(kept, c)
	}
	clear(p.cars[len(kept):])
	p.cars = kept
	return due, beat, next
}

// handBack gives the cars to the handler again in stream order, so a
// conversation's held replies go out in the order they were written.
func (p *parking) handBack(cars []car, release func(queued)) {
	slices.SortFunc(cars, func(a, b car) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	for _, c := range cars {
		c.q.at = time.Now()
		release(c.q)
	}
}

// close refuses new cars and hands every held message back to the
// server at once, for another instance or this one after a restart.
func (p *parking) close() {
	p.mu.Lock()
	p.closed = true
	cars := p.cars
	p.cars = nil
	p.mu.Unlock()
	for _, c := range cars {
		_ = c.q.msg.Nak()
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
