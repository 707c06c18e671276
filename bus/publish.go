package bus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"hotline/envelope"
)

// PubAck says where JetStream stored a message, or that it was a
// duplicate of one stored before.
type PubAck struct {
	Stream    string
	Sequence  uint64
	Duplicate bool
}

// Publish stores data on subject and returns only once the stream has it.
// dedupID becomes Nats-Msg-Id: a second publish with the same id inside the
// duplicate window is acknowledged as Duplicate and not stored again, which
// is how platform retries collapse into one message. An empty dedupID is
// refused: everything hotline publishes to a stream has a natural id.
func (b *Bus) Publish(ctx context.Context, subject string, data []byte, dedupID string, hdr nats.Header) (PubAck, error) {
	if dedupID == "" {
		return PubAck{}, fmt.Errorf("bus: publish %s: empty dedup id", subject)
	}
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	for k, vs := range hdr {
		msg.Header[k] = vs
	}
	ctx, cancel := boundOp(ctx)
	defer cancel()
	ack, err := b.js.PublishMsg(ctx, msg, jetstream.WithMsgID(dedupID))
	if err != nil {
		b.metrics.publishErrs.Inc()
		return PubAck{}, fmt.Errorf("bus: publish %s: %w", subject, err)
	}
	if ack.Duplicate {
		b.metrics.duplicates.WithLabelValues(ack.Stream).Inc()
	} else {
		b.metrics.published.WithLabelValues(ack.Stream).Inc()
	}
	return PubAck{Stream: ack.Stream, Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
}

// encodable is what PublishJSON accepts: any envelope type.
type encodable interface{ Validate() error }

// PublishJSON validates and encodes v with the envelope codec, then
// publishes it like Publish.
func (b *Bus) PublishJSON(ctx context.Context, subject string, v encodable, dedupID string, hdr nats.Header) (PubAck, error) {
	data, err := envelope.Encode(v)
	if err != nil {
		return PubAck{}, fmt.Errorf("bus: publish %s: %w", subject, err)
	}
	return b.Publish(ctx, subject, data, dedupID, hdr)
}

// PublishEvent stores v on subject without waiting for the stream's
// acknowledgement, for events whose loss costs a line in a timeline and
// nothing a user sent (delivery status): a handler does not wait a round
// trip for each. The dedup id works as in Publish. A publish the stream
// refuses later is logged and counted in hotline_publish_errors_total;
// Close waits for the acknowledgements still due.
func (b *Bus) PublishEvent(subject string, v encodable, dedupID string) error {
	if dedupID == "" {
		return fmt.Errorf("bus: publish %s: empty dedup id", subject)
	}
	data, err := envelope.Encode(v)
	if err != nil {
		return fmt.Errorf("bus: publish %s: %w", subject, err)
	}
	if _, err := b.js.PublishMsgAsync(&nats.Msg{Subject: subject, Data: data}, jetstream.WithMsgID(dedupID)); err != nil {
		b.metrics.publishErrs.Inc()
		return fmt.Errorf("bus: publish %s: %w", subject, err)
	}
	return nil
}

// asyncPublishFailed hears of a publish made without waiting that the
// stream refused or never acknowledged.
func (b *Bus) asyncPublishFailed(_ jetstream.JetStream, msg *nats.Msg, err error) {
	b.metrics.publishErrs.Inc()
	b.log.Warn("a publish not waited for failed", "subject", msg.Subject, "err", err)
}

// publishRaw is for values that are not envelopes (dead letters).
func (b *Bus) publishRaw(ctx context.Context, subject string, v any, dedupID string, hdr nats.Header) (PubAck, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return PubAck{}, fmt.Errorf("bus: publish %s: encode: %w", subject, err)
	}
	return b.Publish(ctx, subject, data, dedupID, hdr)
}

// InboundPartitions is how many partitions HOTLINE_IN is split into. A
// conversation's messages all go to one partition, and one instance
// routes a partition at a time (see Own), so they are routed in order
// however many gateways share the work. It is fixed: changing it would
// move conversations between partitions while their messages wait.
const InboundPartitions = 12

// InboundPartition is the partition of a conversation.
func InboundPartition(conversation string) int {
	h := fnv.New32a()
	h.Write([]byte(conversation))
	return int(h.Sum32() % InboundPartitions)
}

// InboundPartitionFilter is the subject filter of partition p:
// hotline.in.<platform>.<account>.<p>.
func InboundPartitionFilter(p int) string { return "hotline.in.*.*." + strconv.Itoa(p) }

// opTimeout bounds one request to JetStream. A request sent to a stream
// leader that just died is never answered: without a bound it would hold
// its handler until the handler's own time-out, and the reply with it.
// Failing fast lets the handler be retried once a new leader is elected
// (a second or two on a healthy cluster).
const opTimeout = 3 * time.Second

// boundOp gives ctx a deadline at most opTimeout away; a ctx already due
// sooner is used as it is.
func boundOp(ctx context.Context) (context.Context, context.CancelFunc) {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= opTimeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, opTimeout)
}

// InboundDurable is the consumer that routes partition p of HOTLINE_IN.
func InboundDurable(p int) string { return "router-p" + strconv.Itoa(p) }

// LegacyInboundDurable routes what was stored on
// hotline.in.<platform>.<account> before HOTLINE_IN had partitions, with
// the acknowledgements it had then; it runs with partition 0.
const LegacyInboundDurable = "router"

// LegacyInboundFilter is the subject filter of LegacyInboundDurable.
const LegacyInboundFilter = "hotline.in.*.*"

// InboundPatience is how long PublishInbound keeps trying to store a
// message while NATS does not answer (a stream leader being elected
// after a node loss takes a few seconds), unless its context ends
// sooner. It stays under the 15 s Twilio waits for a webhook's answer,
// the shortest wait among the platforms that never send a message again.
const InboundPatience = 12 * time.Second

// PublishInbound stores what a user sent on
// hotline.in.<platform>.<account>.<partition>. The dedup id is the
// platform's own message id scoped to the account, so a platform's
// retries are stored once; the conversation travels as a header so the
// router can keep each conversation in order. While the stream does not
// answer it tries again for up to InboundPatience: a platform that never
// retries must not lose a message to a leader election.
func (b *Bus) PublishInbound(ctx context.Context, m *envelope.Message, hdr nats.Header) (PubAck, error) {
	subject, err := envelope.InSubject(m.Platform, m.Account)
	if err != nil {
		return PubAck{}, fmt.Errorf("bus: publish inbound: %w", err)
	}
	subject += "." + strconv.Itoa(InboundPartition(m.Conversation))
	h := nats.Header{}
	for k, vs := range hdr {
		h[k] = vs
	}
	h.Set(envelope.HeaderConversation, m.Conversation)
	data, err := envelope.Encode(m)
	if err != nil {
		return PubAck{}, fmt.Errorf("bus: publish %s: %w", subject, err)
	}
	ctx, cancel := context.WithTimeout(ctx, InboundPatience)
	defer cancel()
	var ack PubAck
	err = KeepTrying(ctx, func(ctx context.Context) error {
		ctx, cancel := boundOp(ctx)
		defer cancel()
		ack, err = b.storeInbound(ctx, m, subject, data, h)
		if err != nil && retryableInbound(err) {
			b.log.Debug("inbound not stored yet", "subject", subject, "err", err)
		}
		return err
	}, retryableInbound)
	return ack, err
}

// KeepTrying calls try until it succeeds, fails in a way retryable
// rejects (nil: every failure is worth another try), or ctx leaves no
// time for the next back-off (100 ms doubling to 1 s). It returns try's
// last error. For work that must get through a NATS election: each try
// should bound its own requests (a request to a dead leader is never
// answered).
func KeepTrying(ctx context.Context, try func(ctx context.Context) error, retryable func(error) bool) error {
	for attempt := 1; ; attempt++ {
		err := try(ctx)
		if err == nil || (retryable != nil && !retryable(err)) {
			return err
		}
		wait := Backoff(attempt, 100*time.Millisecond, time.Second)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// retryableInbound tells a store that may work a moment later (no
// answer: a leader being elected, a connection re-established) from one
// that will not (the stream is full, the disk refuses writes).
func retryableInbound(err error) bool {
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, errRefusing):
		return false
	case errors.As(err, &apiErr):
		// The stream answered: only "not available now" is worth
		// another try, and a full stream says 503 too.
		switch apiErr.ErrorCode {
		case errCodeStoreFailed, errCodeInsufficientResources, errCodeStorageExceeded:
			return false
		}
		return apiErr.Code == 503
	}
	return true
}

// errRefusing marks a publish not tried because the store refuses writes.
var errRefusing = errors.New("store refuses writes")

// storeInbound is one try of PublishInbound.
func (b *Bus) storeInbound(ctx context.Context, m *envelope.Message, subject string, data []byte, h nats.Header) (PubAck, error) {
	// While the store cannot write, a publish would only wait for an
	// acknowledgement that never comes; the watchdog notices recovery.
	if reason := b.storage.refusing(); reason != "" {
		b.metrics.publishErrs.Inc()
		return PubAck{}, fmt.Errorf("bus: publish inbound: %w: %s (%w)", ErrStorageUnavailable, reason, errRefusing)
	}
	seenKey := inboundSeenKey(m)
	if e, err := b.kv[BucketSeen].Get(ctx, seenKey); err == nil {
		// Stored once already: a retry or a replay is acknowledged, not
		// stored, with the sequence the original has (when the record
		// holds it), so the caller can find what became of it.
		b.metrics.duplicates.WithLabelValues(StreamIn).Inc()
		seq, _ := strconv.ParseUint(string(e.Value()), 10, 64)
		return PubAck{Stream: StreamIn, Sequence: seq, Duplicate: true}, nil
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		// Unknown is not "new": storing it could answer a replay.
		b.storage.kick()
		return PubAck{}, fmt.Errorf("bus: publish inbound: seen check: %w", err)
	}
	ack, err := b.Publish(ctx, subject, data, InboundDedupID(m), h)
	if err != nil {
		if reason := b.storage.inboundFailed(err, storedSize(subject, data, h), b.srv != nil); reason != "" {
			err = fmt.Errorf("bus: publish inbound: %w: %s (%w)", ErrStorageUnavailable, reason, err)
		}
		b.storage.kick()
		return PubAck{}, err
	}
	b.storage.published()
	if !ack.Duplicate {
		// Remembered after it is stored, never before: a message the
		// platform must send again after a failure is never taken for a
		// replay. The write is not waited for (it cost a fifth of the
		// intake's throughput): a replay needs minutes, the write takes
		// milliseconds, and if it is lost the stream's window still guards.
		if _, err := b.js.PublishAsync(seenSubject(seenKey), []byte(strconv.FormatUint(ack.Sequence, 10))); err != nil {
			b.log.Warn("remembering an inbound message id", "subject", subject, "err", err)
		}
	}
	return ack, nil
}

// seenSubject is where a put of key into hotline_seen is published.
func seenSubject(key string) string { return "$KV." + BucketSeen + "." + key }

// inboundSeenKey is the hotline_seen key of an inbound message: the
// platform id, hashed because platforms' ids hold characters keys may not.
func inboundSeenKey(m *envelope.Message) string {
	sum := sha256.Sum256([]byte(m.PlatformMsgID))
	return m.Platform + "." + m.Account + "." + hex.EncodeToString(sum[:16])
}

// storedSize estimates what a message takes in a stream: the file
// store's record header and checksum, the subject, the headers (with the
// Nats-Msg-Id the publish adds) and the payload.
func storedSize(subject string, data []byte, h nats.Header) int64 {
	n := 22 + 8 + len(subject) + len(data) + len("NATS/1.0\r\n\r\n") + len(jetstream.MsgIDHeader) + 4 + 64
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return int64(n)
}

// InboundDedupID is the Nats-Msg-Id of an inbound message.
func InboundDedupID(m *envelope.Message) string {
	return "in:" + m.Platform + ":" + m.Account + ":" + m.PlatformMsgID
}

// PublishReply stores a reply on hotline.out.<platform>.<account> for the
// outbound loop. The reply id is the dedup id, and the conversation
// travels as a header so a sender keeps one user's replies in order.
func (b *Bus) PublishReply(ctx context.Context, r *envelope.Reply) (PubAck, error) {
	subject, err := envelope.OutSubject(r.Platform, r.Account)
	if err != nil {
		return PubAck{}, fmt.Errorf("bus: publish reply: %w", err)
	}
	h := nats.Header{}
	h.Set(envelope.HeaderConversation, r.Conversation)
	return b.PublishJSON(ctx, subject, r, r.ID, h)
}

// SentKey is the hotline_sent key recording that a reply left.
func SentKey(replyID string) string { return "s." + replyID }

// MarkSent records that a reply left (by its platform's API, inside a
// webhook response, or rerouted), so nothing sends it again. record is
// what to keep about it (JSON).
func (b *Bus) MarkSent(ctx context.Context, replyID string, record []byte) error {
	ctx, cancel := boundOp(ctx)
	defer cancel()
	if _, err := b.kv[BucketSent].Put(ctx, SentKey(replyID), record); err != nil {
		return fmt.Errorf("bus: mark sent %s: %w", replyID, err)
	}
	return nil
}

// WasSent reports whether a reply is recorded as sent. An error means the
// record could not be read; the caller should try again later rather than
// risk a second send.
func (b *Bus) WasSent(ctx context.Context, replyID string) (bool, error) {
	ctx, cancel := boundOp(ctx)
	defer cancel()
	_, err := b.kv[BucketSent].Get(ctx, SentKey(replyID))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return false, nil
	}
	return false, fmt.Errorf("bus: sent record of %s: %w", replyID, err)
}

// OptedOut reports whether a conversation is on the opt-out list. An
// error means the list could not be read: callers must not send.
func (b *Bus) OptedOut(ctx context.Context, conversation string) (bool, error) {
	ctx, cancel := boundOp(ctx)
	defer cancel()
	_, err := b.kv[BucketOptOut].Get(ctx, OptOutKey(conversation))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return false, nil
	}
	return false, fmt.Errorf("bus: opt-out check: %w", err)
}
