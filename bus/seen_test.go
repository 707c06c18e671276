package bus

import (
	"context"
	"testing"
	"time"

	"hotline/envelope"
)

// A webhook replayed after the stream's duplicate window is recognized
// by its platform id and not stored again; another message is.
func TestInboundReplayAfterDuplicateWindowNotStored(t *testing.T) {
	t.Parallel()
	b := openTestBus(t, t.TempDir())
	ctx := context.Background()
	// Shrink HOTLINE_IN's duplicate window to what a test can outwait.
	st, err := b.JetStream().Stream(ctx, StreamIn)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	cfg.Duplicates = 200 * time.Millisecond
	if _, err := b.JetStream().UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	msg := func(sid string) *envelope.Message {
		now := time.Now().UTC()
		return &envelope.Message{ID: envelope.NewID(now), Platform: "sms", Account: "sms-main", PlatformMsgID: sid,
			Conversation: "sms:sms-main:+14155552671", From: envelope.Party{ID: "+14155552671"}, Kind: envelope.KindText,
			Text: "STOP", ReceivedAt: now}
	}
	first, err := b.PublishInbound(ctx, msg("SM0001"), nil)
	if err != nil || first.Duplicate {
		t.Fatalf("first: %+v %v", first, err)
	}
	// A real wait, not a barrier: the stream's duplicate window (200ms
	// here) is measured in time, and only a replay after it shows that
	// the seen record, not the window, refuses it.
	time.Sleep(400 * time.Millisecond)
	replay, err := b.PublishInbound(ctx, msg("SM0001"), nil)
	if err != nil || !replay.Duplicate {
		t.Fatalf("replay after the window: %+v %v, want a duplicate", replay, err)
	}
	other, err := b.PublishInbound(ctx, msg("SM0002"), nil)
	if err != nil || other.Duplicate {
		t.Fatalf("another message: %+v %v", other, err)
	}
	if n := streamMsgs(t, b, StreamIn); n != 2 {
		t.Fatalf("HOTLINE_IN holds %d, want 2", n)
	}
	kv := b.KV(BucketSeen)
	status, err := kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := status.TTL(); got != DefaultSeenTTL {
		t.Fatalf("seen bucket TTL %v, want %v", got, DefaultSeenTTL)
	}
}
