// Package passive is the passive-reply protocol, both of its sides: a
// webhook that may answer a user inside its HTTP response (many platforms
// accept a reply in the body of their webhook's response; see
// docs/protocols.md) and the router that has the answer.
//
// The webhook opens a Window before it stores the inbound message and
// sends the window's inbox and deadline with it as headers. The router,
// once it has the replies, reads those headers back (InvitationFrom) and,
// while the deadline has not passed, offers the replies to the inbox with
// a core NATS request (Invitation.Offer). The window accepts at most one
// offer while it is open; Wait closes it.
//
// The invariant: a reply goes out exactly one way, in the response or
// later through the platform's API, never both and never neither. The
// window stops accepting Guard before its deadline and answers by the
// deadline (its record is bounded by it); the router waits for the
// answer until Patience after it, so an acceptance is not lost to the
// router's timeout (which would send it by API as well) when a loaded
// machine or a hop between cluster nodes delays it; an offer
// refused or unanswered is published to HOTLINE_OUT; replies accepted for
// a request that ended anyway are forwarded to HOTLINE_OUT (Forward). A
// window opened by Exchange records the replies as sent (bus.MarkSent)
// before it answers: if its answer is lost on the way (a NATS node dies
// in between), the router publishes them to HOTLINE_OUT, and the delivery
// loop finds them sent and skips them. The record holds the reply itself:
// if the HTTP response is what was lost (the instance died before writing
// it), a platform whose retry proves it (Twilio's fallback URL) answers
// the retry with it (Earlier).
package passive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"hotline/bus"
	"hotline/envelope"
)

// Guard is the margin before the deadline: the window stops accepting
// offers Guard before it, and the router stops offering. Clock skew
// between the webhook's and the router's hosts must stay under it.
const Guard = 300 * time.Millisecond

// Patience is how long past the deadline the router waits for a window's
// answer. The window answers by its deadline, but the answer can be late:
// CI saw it take more than 300 ms on a loaded 3-node cluster, and the
// router, having given up, sent the reply by API while the response
// carried it too. Waiting longer costs nothing when all is well (the
// answer comes at once) and holds only this conversation's next message
// when an instance is cut off mid-offer.
const Patience = 5 * time.Second

// The headers that carry a window with the inbound message.
const (
	// HeaderInbox names the core NATS inbox the webhook listens on.
	HeaderInbox = "Hotline-Reply-Inbox"
	// HeaderDeadline is the RFC 3339 time after which the inbox no
	// longer takes an offer.
	HeaderDeadline = "Hotline-Reply-Deadline"
)

// offer is what the router sends to a window's inbox: the replies to one
// inbound message, to be written into the HTTP response.
type offer struct {
	Replies []envelope.Reply `json:"replies"`
}

// A window's answers to an offer it took: accepted, or accepted with
// the replies already recorded as sent. Any other answer means it did
// not take them, and they go through the API.
const (
	accepted         = "accepted"
	acceptedRecorded = "accepted, recorded"
)

// Window is one webhook request's chance to carry the router's replies.
type Window struct {
	sub      *nats.Subscription
	inbox    string
	deadline time.Time
	max      int
	// record, when set, marks taken replies as sent before the window
	// answers (see the package doc).
	record func(ctx context.Context, replies []envelope.Reply, raw []json.RawMessage) error

	mu       sync.Mutex
	open     bool
	accepted []envelope.Reply
	done     chan struct{}
}

// Open listens for an offer until deadline. maxReplies is how many
// replies the platform can carry in one response (often just 1); a larger
// offer is refused and goes through the API.
func Open(nc *nats.Conn, deadline time.Time, maxReplies int) (*Window, error) {
	return open(nc, deadline, maxReplies, nil)
}

func open(nc *nats.Conn, deadline time.Time, maxReplies int, record func(context.Context, []envelope.Reply, []json.RawMessage) error) (*Window, error) {
	w := &Window{inbox: nc.NewInbox(), deadline: deadline, max: maxReplies, record: record, open: true, done: make(chan struct{})}
	sub, err := nc.Subscribe(w.inbox, w.take)
	if err != nil {
		return nil, fmt.Errorf("passive: subscribe: %w", err)
	}
	w.sub = sub
	return w, nil
}

// Header carries the inbox and deadline with the inbound message.
func (w *Window) Header() nats.Header {
	h := nats.Header{}
	h.Set(HeaderInbox, w.inbox)
	h.Set(HeaderDeadline, w.deadline.UTC().Format(time.RFC3339Nano))
	return h
}

func (w *Window) take(msg *nats.Msg) {
	answer := "closed"
	replies, raw, ok := decodeOffer(msg.Data)
	took := false
	if ok {
		w.mu.Lock()
		if w.open && w.accepted == nil && len(replies) > 0 && len(replies) <= w.max && time.Now().Add(Guard).Before(w.deadline) {
			w.accepted, took = replies, true
			answer = accepted
		} else if len(replies) > w.max {
			answer = "too many replies"
		}
		w.mu.Unlock()
	}
	if took {
		if w.record != nil {
			// Taken either way: a reply must never go neither way,
			// and the router records it itself when this fails.
			ctx, cancel := context.WithDeadline(context.Background(), w.deadline)
			if w.record(ctx, replies, raw) == nil {
				answer = acceptedRecorded
			}
			cancel()
		}
		// Wait returns now: the response is written after the record.
		close(w.done)
	}
	_ = msg.Respond([]byte(answer))
}

// decodeOffer reads an offer's replies, keeping each one's JSON too: the
// sent record holds it as it came (takenRecord), without encoding it again.
func decodeOffer(data []byte) ([]envelope.Reply, []json.RawMessage, bool) {
	var o struct {
		Replies []json.RawMessage `json:"replies"`
	}
	if json.Unmarshal(data, &o) != nil {
		return nil, nil, false
	}
	replies := make([]envelope.Reply, len(o.Replies))
	for i, raw := range o.Replies {
		if json.Unmarshal(raw, &replies[i]) != nil {
			return nil, nil, false
		}
	}
	return replies, o.Replies, true
}

// Wait returns the replies the router handed over, or nil when none came
// before the deadline or ctx ended. Either way the window is closed when
// it returns: the caller may write its response without any risk that the
// router also sends the same replies.
func (w *Window) Wait(ctx context.Context) []envelope.Reply {
	timer := time.NewTimer(time.Until(w.deadline))
	defer timer.Stop()
	select {
	case <-w.done:
	case <-timer.C:
	case <-ctx.Done():
	}
	return w.Close()
}

// Close shuts the window and returns what it accepted, if anything.
func (w *Window) Close() []envelope.Reply {
	w.mu.Lock()
	w.open = false
	accepted := w.accepted
	w.mu.Unlock()
	_ = w.sub.Unsubscribe()
	return accepted
}

// Forward sends replies the window accepted but the handler cannot write
// (the platform hung up, or a reply does not fit the platform's passive
// format) through the platform's API instead: each is published to
// HOTLINE_OUT under an id derived with salt, on a context of its own so a
// closed request cannot cancel it. The router has recorded the originals
// as sent, so only these copies go out.
func Forward(ctx context.Context, b *bus.Bus, salt string, replies ...envelope.Reply) error {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var errs []error
	for _, rep := range replies {
		rep.ID = envelope.DeriveID(rep.ID, salt)
		if _, err := b.PublishReply(fctx, &rep); err != nil {
			errs = append(errs, fmt.Errorf("passive: forward %s: %w", rep.ID, err))
		}
	}
	return errors.Join(errs...)
}

// Result is how an Exchange ended.
type Result struct {
	// Replies the router handed over for the response (none: answer
	// empty and let the API carry whatever comes later).
	Replies []envelope.Reply
	// Duplicate: the platform retried a message already stored; its
	// replies go (or went) the other way, never in this response, unless
	// the platform's retry means the first answer never reached it (see
	// Earlier).
	Duplicate bool
	// Original is the HOTLINE_IN sequence of the stored message a
	// duplicate repeats (0: not known), for Earlier.
	Original uint64
	// Gone: the platform hung up while we waited; anything accepted was
	// forwarded through the API and nothing is to be written.
	Gone bool
}

// Exchange is the webhook side of a passive reply: it stores m on
// HOTLINE_IN with a window open until deadline (at most maxReplies), and
// waits for the router. An error without Gone means m was not stored and
// the platform must hear a failure (so it retries): nothing is
// acknowledged that is not on the stream. Replies accepted for a request
// that has ended go through the API under ids derived with salt; with
// Gone set, an error says that forwarding failed.
func Exchange(ctx context.Context, b *bus.Bus, m *envelope.Message, deadline time.Time, maxReplies int, salt string) (Result, error) {
	win, err := open(b.Conn(), deadline, maxReplies, func(ctx context.Context, replies []envelope.Reply, raw []json.RawMessage) error {
		now := time.Now()
		for i, rep := range replies {
			if err := b.MarkSent(ctx, rep.ID, takenRecord(now, raw[i])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	ack, err := b.PublishInbound(ctx, m, win.Header())
	if err != nil {
		win.Close()
		return Result{}, fmt.Errorf("passive: store inbound: %w", err)
	}
	if ack.Duplicate {
		win.Close()
		return Result{Duplicate: true, Original: ack.Sequence}, nil
	}
	replies := win.Wait(ctx)
	if ctx.Err() != nil {
		if len(replies) > 0 {
			// Nobody will read this response: the router already
			// counts these replies as sent, so they must go another way.
			if err := Forward(ctx, b, salt, replies...); err != nil {
				return Result{Gone: true}, err
			}
			// Gone through the API: a retry must not give them again.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			for _, rep := range replies {
				_ = b.MarkSent(fctx, rep.ID, SentRecord(time.Now()))
			}
		}
		return Result{Gone: true}, nil
	}
	return Result{Replies: replies}, nil
}

// Settle handles the two ends of an Exchange every webhook treats alike
// and reports whether the caller should answer with res.Replies. A
// request the platform already dropped gets nothing written (a failure to
// forward its replies is logged); a message that was not stored gets 503,
// so the platform sends it again and nothing is acknowledged that the
// stream does not hold.
func Settle(w http.ResponseWriter, log *slog.Logger, m *envelope.Message, res Result, err error) bool {
	switch {
	case res.Gone:
		if err != nil {
			log.Error("replies accepted for a closed request were not queued", "msg_id", m.ID, "err", err)
		}
		return false
	case errors.Is(err, bus.ErrStorageUnavailable):
		// The bus logged the fault once when it began; a line per
		// request would bury that line under thousands.
		log.Debug("inbound not stored", "msg_id", m.ID, "platform_msg_id", m.PlatformMsgID, "err", err)
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return false
	case err != nil:
		log.Error("inbound not stored", "msg_id", m.ID, "platform_msg_id", m.PlatformMsgID, "err", err)
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return false
	}
	return true
}

// Invitation is the router's side of a window: where the webhook that
// received a message waits for its replies, and until when.
type Invitation struct {
	Inbox    string
	Deadline time.Time
}

// InvitationFrom reads the window a message was stored with; the zero
// Invitation (no window) when it has none or the headers are malformed.
func InvitationFrom(h nats.Header) Invitation {
	inbox := h.Get(HeaderInbox)
	if inbox == "" {
		return Invitation{}
	}
	deadline, err := time.Parse(time.RFC3339Nano, h.Get(HeaderDeadline))
	if err != nil {
		return Invitation{}
	}
	return Invitation{Inbox: inbox, Deadline: deadline}
}

// Open reports whether the window may still take an offer at now.
func (inv Invitation) Open(now time.Time) bool {
	return inv.Inbox != "" && now.Add(Guard).Before(inv.Deadline)
}

// Offer hands replies to the waiting webhook and reports whether it took
// them, and whether it recorded them as sent. Taken means the webhook
// answers with them and nobody else may send them; not taken means they
// must go through the API; taken but not recorded, the caller records
// them. It waits until Patience past the deadline, so a late acceptance
// still arrives.
func (inv Invitation) Offer(ctx context.Context, nc *nats.Conn, now time.Time, replies []envelope.Reply) (taken, recorded bool) {
	if !inv.Open(now) || len(replies) == 0 {
		return false, false
	}
	data, err := json.Marshal(offer{Replies: replies})
	if err != nil {
		return false, false
	}
	octx, cancel := context.WithDeadline(ctx, inv.Deadline.Add(Patience))
	defer cancel()
	resp, err := nc.RequestWithContext(octx, inv.Inbox, data)
	if err != nil {
		return false, false
	}
	switch string(resp.Data) {
	case acceptedRecorded:
		return true, true
	case accepted:
		return true, false
	}
	return false, false
}

// takenRecord is what a window records of a reply it takes: sent, in a
// response, and the reply itself (its JSON as offered), for a retry of
// its message (Earlier). Written out like SentRecord, whose fields it
// starts with.
func takenRecord(at time.Time, reply json.RawMessage) []byte {
	rec := SentRecord(at)
	rec = append(rec[:len(rec)-1], `,"reply":`...)
	rec = append(rec, reply...)
	return append(rec, '}')
}

// Earlier returns the replies an earlier request's window took for the
// message stored at seq on HOTLINE_IN (Result.Original of a duplicate),
// found by their ids (envelope.ReplyID) in hotline_sent. It is for a
// platform whose retry means the first answer never reached it: Twilio
// posts to the fallback URL only when the primary failed, so replies a
// window took on an instance that died before answering are given there
// rather than lost. Platforms that may retry a request they did answer
// (WeChat, Weibo, Telegram) do not use it: the user would get the reply
// twice. Best effort: nothing found is an empty answer, as before.
func Earlier(ctx context.Context, b *bus.Bus, seq uint64, maxReplies int) []envelope.Reply {
	if seq == 0 {
		return nil // known from hotline_seen only: older than anyone waits
	}
	st, err := b.JetStream().Stream(ctx, bus.StreamIn)
	if err != nil {
		return nil
	}
	raw, err := st.GetMsg(ctx, seq)
	if err != nil {
		return nil
	}
	var orig envelope.Message
	if envelope.Decode(raw.Data, &orig) != nil {
		return nil
	}
	var out []envelope.Reply
	// A message's replies are numbered from 1; held (review) ones take
	// numbers too, so look a little past the window's count.
	for n := 1; n <= maxReplies+2 && len(out) < maxReplies; n++ {
		e, err := b.KV(bus.BucketSent).Get(ctx, bus.SentKey(envelope.ReplyID(orig.ID, n)))
		if err != nil {
			continue
		}
		var rec struct {
			State envelope.DeliveryState `json:"state"`
			Reply *envelope.Reply        `json:"reply"`
		}
		if json.Unmarshal(e.Value(), &rec) == nil && rec.State == envelope.StatePassive && rec.Reply != nil {
			out = append(out, *rec.Reply)
		}
	}
	return out
}

// SentRecord is what a reply given in a webhook's answer is recorded
// as sent with (bus.MarkSent).
func SentRecord(at time.Time) []byte {
	// Written out rather than marshalled from a map: it is made for every
	// reply given in a response, and the map's encoder (sorting its keys)
	// showed in profiles. The bytes are the same.
	return []byte(`{"at":"` + at.UTC().Format(time.RFC3339Nano) + `","state":"` + string(envelope.StatePassive) + `"}`)
}
