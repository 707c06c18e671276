package bus

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"hotline/envelope"
)

// A reply the platform refused for good is a dead letter; sent again, it
// is back on its subject with its id and its attempts counted from zero,
// once however often the operator asks, and the dead letter is gone.
func TestRetryDeadLetter(t *testing.T) {
	t.Parallel()
	b := openTestBus(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reply := []byte(`{"id":"01JREPLY0000000000000000AA","text":"hello"}`)
	if _, err := b.Publish(ctx, "hotline.out.telegram.tg-main", reply, "01JREPLY0000000000000000AA", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.KV(BucketSent).Put(ctx, AttemptsKey("01JREPLY0000000000000000AA"), []byte("5")); err != nil {
		t.Fatal(err)
	}
	var seen atomic.Int32
	go func() {
		_ = b.Consume(ctx, ConsumerConfig{Stream: StreamOut, Durable: "sender-telegram"}, func(context.Context, *Delivery) error {
			if seen.Add(1) == 1 {
				return Permanent(errors.New("chat not found"))
			}
			return nil
		})
	}()
	waitFor(t, "a dead letter", func() bool { return streamMsgs(t, b, StreamDead) == 1 })
	list, err := b.DeadLetters(ctx, 10, nil)
	if err != nil || len(list) != 1 {
		t.Fatalf("DeadLetters: %v, %d letters; want 1", err, len(list))
	}
	d := list[0]
	if d.Reason != "chat not found" || d.MessageID() != "01JREPLY0000000000000000AA" || d.Subject != "hotline.out.telegram.tg-main" {
		t.Fatalf("dead letter %+v", d)
	}
	if got, _ := b.DeadLetters(ctx, 10, func(r *DeadRecord) bool { return r.Stream == StreamIn }); len(got) != 0 {
		t.Fatalf("a filter that matches nothing kept %d", len(got))
	}

	rec, ack, err := b.RetryDead(ctx, d.Seq)
	if err != nil || ack.Stream != StreamOut || ack.Duplicate || rec.Seq != d.Seq {
		t.Fatalf("RetryDead: %+v, %+v, %v", rec, ack, err)
	}
	waitFor(t, "the retried reply handled", func() bool { return seen.Load() == 2 })
	if _, err := b.KV(BucketSent).Get(ctx, AttemptsKey("01JREPLY0000000000000000AA")); err == nil {
		t.Error("the reply's attempts were not reset")
	}
	if _, err := b.DeadLetter(ctx, d.Seq); !errors.Is(err, ErrDeadNotFound) {
		t.Errorf("the dead letter is still there after the retry: %v", err)
	}
	if _, _, err := b.RetryDead(ctx, d.Seq); !errors.Is(err, ErrDeadNotFound) {
		t.Errorf("a second retry: %v, want ErrDeadNotFound", err)
	}
	if got := streamMsgs(t, b, StreamOut); got != 2 {
		t.Errorf("HOTLINE_OUT holds %d messages, want the original and one retry", got)
	}
	if err := b.DropDead(ctx, d.Seq); !errors.Is(err, ErrDeadNotFound) {
		t.Errorf("DropDead of a gone letter: %v, want ErrDeadNotFound", err)
	}
}

// A dead letter of a message hotline does not consume is not sent
// anywhere.
func TestRetryDeadLetterRefusesForeignSubjects(t *testing.T) {
	t.Parallel()
	b := openTestBus(t, t.TempDir())
	ctx := context.Background()
	if _, err := b.publishRaw(ctx, envelope.SubjectDead, envelope.DeadLetter{Subject: "other.thing", Data: []byte("x")}, "d1", nil); err != nil {
		t.Fatal(err)
	}
	list, err := b.DeadLetters(ctx, 10, nil)
	if err != nil || len(list) != 1 {
		t.Fatalf("%v %v", list, err)
	}
	if _, _, err := b.RetryDead(ctx, list[0].Seq); err == nil {
		t.Fatal("a dead letter from other.thing was published again")
	}
}
