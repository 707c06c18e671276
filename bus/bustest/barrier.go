package bustest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"hotline/bus"
	"hotline/envelope"
)

// CaughtUp is a sequence barrier on a stream: it waits until the durable
// consumer has acknowledged every message the stream holds when it is
// called (its ack floor reaches the stream's last sequence). For the
// router ("router" on HOTLINE_IN) that means everything it decided for
// those messages is out: it acknowledges a message only once its replies
// are on HOTLINE_OUT or taken by the webhook's passive window. It holds
// for first deliveries; a redelivered message may be overtaken.
func CaughtUp(t testing.TB, b *bus.Bus, stream, durable string) {
	t.Helper()
	ctx := context.Background()
	st, err := b.JetStream().Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := info.State.LastSeq
	WaitFor(t, fmt.Sprintf("%s to acknowledge %s up to %d", durable, stream, last), func() bool {
		c, err := b.JetStream().Consumer(ctx, stream, durable)
		if err != nil {
			return last == 0
		}
		ci, err := c.Info(ctx)
		return err == nil && ci.AckFloor.Stream >= last
	})
}

// RouterCaughtUp is CaughtUp for the router's consumers of HOTLINE_IN:
// one per partition, each filtered to its part of the stream, so each is
// caught up when nothing of its part waits or is unacknowledged.
func RouterCaughtUp(t testing.TB, b *bus.Bus) {
	t.Helper()
	ctx := context.Background()
	durables := []string{bus.LegacyInboundDurable}
	for p := range bus.InboundPartitions {
		durables = append(durables, bus.InboundDurable(p))
	}
	WaitFor(t, "the router's consumers to acknowledge everything on "+bus.StreamIn, func() bool {
		for _, d := range durables {
			c, err := b.JetStream().Consumer(ctx, bus.StreamIn, d)
			if err != nil {
				return false
			}
			ci, err := c.Info(ctx)
			if err != nil || ci.NumPending != 0 || ci.NumAckPending != 0 {
				return false
			}
		}
		return true
	})
}

var markerSeq atomic.Int64

// Marker queues a bot reply to user of platform/account with a text no
// other reply has, and returns the text: a sequence barrier on the user's
// delivery path, since the delivery loop hands one conversation's replies
// to one worker in stream order (bus.ConsumerConfig.PartitionHeader).
// Once the marker has gone out, every reply to the user queued before it
// has been sent, or given up on, already.
func Marker(t testing.TB, b *bus.Bus, platform, account, user string) string {
	t.Helper()
	text := fmt.Sprintf("sequence marker %d", markerSeq.Add(1))
	now := time.Now().UTC()
	rep := envelope.Reply{ID: envelope.NewID(now), Platform: platform, Account: account,
		Conversation: envelope.ConversationKey(platform, account, user), To: envelope.Party{ID: user},
		Text: text, Source: envelope.SourceBot, CreatedAt: now}
	if _, err := b.PublishReply(context.Background(), &rep); err != nil {
		t.Fatal(err)
	}
	return text
}
