package outbound_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
	"hotline/outbound"
	"hotline/outbound/outboundtest"
)

func reply(platform, account, user, text string) envelope.Reply {
	now := time.Now().UTC()
	return envelope.Reply{ID: envelope.NewID(now), Platform: platform, Account: account,
		Conversation: envelope.ConversationKey(platform, account, user), To: envelope.Party{ID: user},
		Text: text, Source: envelope.SourceBot, CreatedAt: now}
}

// fastConfig keeps the loop's waits short enough for a test.
func fastConfig(platform, account string) outbound.Config {
	return outbound.Config{Platform: platform, Account: account, MaxAttempts: 4,
		Backoff: func(int) time.Duration { return 50 * time.Millisecond }, BreakerFailures: 3,
		BreakerOpen: 300 * time.Millisecond, HoldRecheck: 100 * time.Millisecond, Workers: 2,
		AccountRate: 1000, AccountBurst: 1000, RecipientRate: 1000, RecipientBurst: 1000}
}

func startLoop(t *testing.T, b *bus.Bus, cfg outbound.Config, sender outbound.Sender, modes outbound.Modes, phones outbound.PhoneBook) *outbound.Loop {
	t.Helper()
	return runLoop(t, cfg, outbound.Deps{Bus: b, Sender: sender, Modes: modes, Phones: phones})
}

// runLoop runs a loop with deps as given (a clock of the test's, say)
// until the test ends.
func runLoop(t *testing.T, cfg outbound.Config, deps outbound.Deps) *outbound.Loop {
	t.Helper()
	l, err := outbound.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = l.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

func publish(t *testing.T, b *bus.Bus, r envelope.Reply) {
	t.Helper()
	if _, err := b.PublishReply(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
}

func deadLetters(t *testing.T, b *bus.Bus) []envelope.DeadLetter {
	t.Helper()
	var out []envelope.DeadLetter
	for _, d := range bustest.Messages(t, b, bus.StreamDead, "") {
		var dl envelope.DeadLetter
		if err := json.Unmarshal(d, &dl); err != nil {
			t.Fatal(err)
		}
		out = append(out, dl)
	}
	return out
}

func statuses(t *testing.T, b *bus.Bus, replyID string) []envelope.DeliveryState {
	t.Helper()
	var out []envelope.DeliveryState
	for _, st := range statusEvents(t, b, replyID) {
		out = append(out, st.State)
	}
	return out
}

// statusEvents returns the status events of one reply in stream order.
func statusEvents(t *testing.T, b *bus.Bus, replyID string) []envelope.Status {
	t.Helper()
	var out []envelope.Status
	for _, d := range bustest.Messages(t, b, bus.StreamStatus, "") {
		var st envelope.Status
		if err := envelope.Decode(d, &st); err != nil {
			t.Fatal(err)
		}
		if st.ReplyID == replyID {
			out = append(out, st)
		}
	}
	return out
}

func TestDeliversOnceEvenWhenRedelivered(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	p := outboundtest.NewPlatform(t)
	l := startLoop(t, b, fastConfig("telegram", "tg-main"), p.Sender(), nil, nil)
	r := reply("telegram", "tg-main", "42", "hello")
	publish(t, b, r)
	bustest.WaitFor(t, "delivery", func() bool { return p.Count(r.ID) == 1 })
	// The same reply stored again past the duplicate window.
	data, _ := envelope.Encode(&r)
	// It carries the conversation header like every reply, so it queues
	// behind the first copy on the same worker.
	hdr := nats.Header{envelope.HeaderConversation: {r.Conversation}}
	if _, err := b.Publish(context.Background(), "hotline.out.telegram.tg-main", data, "again-"+r.ID, hdr); err != nil {
		t.Fatal(err)
	}
	bustest.WaitFor(t, "the duplicate to be recognized", func() bool {
		return outbound.Outcome(l, "duplicate") == 1
	})
	if n := p.Count(r.ID); n != 1 {
		t.Fatalf("sent %d times, want 1", n)
	}
	if got := statuses(t, b, r.ID); len(got) != 1 || got[0] != envelope.StateSent {
		t.Fatalf("statuses %v, want one sent", got)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	p := outboundtest.NewPlatform(t)
	p.SetMode("throttle")
	p.SetRetryAfter(1)
	startLoop(t, b, fastConfig("telegram", "tg-main"), p.Sender(), nil, nil)
	r := reply("telegram", "tg-main", "42", "hi")
	publish(t, b, r)
	bustest.WaitFor(t, "the first, throttled call", func() bool { return len(p.Calls()) == 1 })
	p.SetMode("ok")
	bustest.WaitFor(t, "delivery", func() bool { return p.Count(r.ID) == 1 })
	calls := p.Calls()
	if gap := calls[1].Sub(calls[0]); gap < time.Second {
		t.Fatalf("second call %v after the 429, want at least the 1s retry_after", gap)
	}
}

func TestServerErrorsRetriedThenDelivered(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	p := outboundtest.NewPlatform(t)
	p.SetMode("html")
	cfg := fastConfig("wechat", "oa-main")
	cfg.BreakerFailures = 10
	startLoop(t, b, cfg, p.Sender(), nil, nil)
	r := reply("wechat", "oa-main", "oUser", "你好")
	publish(t, b, r)
	bustest.WaitFor(t, "two failed calls", func() bool { return len(p.Calls()) >= 2 })
	p.SetMode("ok")
	bustest.WaitFor(t, "delivery", func() bool { return p.Count(r.ID) == 1 })
	// The platform has it; the status event follows the send.
	var got []envelope.DeliveryState
	bustest.WaitFor(t, "the sent status", func() bool {
		got = statuses(t, b, r.ID)
		return len(got) > 0 && got[len(got)-1] == envelope.StateSent
	})
	if len(got) < 3 || got[0] != envelope.StateRetrying {
		t.Fatalf("statuses %v, want retrying... then sent", got)
	}
	if len(deadLetters(t, b)) != 0 {
		t.Fatal("a delivered reply was dead-lettered")
	}
}

func TestPermanentErrorDeadLettersAtOnce(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	p := outboundtest.NewPlatform(t)
	p.SetMode("bad")
	startLoop(t, b, fastConfig("telegram", "tg-main"), p.Sender(), nil, nil)
	r := reply("telegram", "tg-main", "404", "anyone?")
	publish(t, b, r)
	bustest.WaitFor(t, "the dead letter", func() bool { return len(deadLetters(t, b)) == 1 })
	dl := deadLetters(t, b)[0]
	if dl.Reason != "permanent: chat_not_found" {
		t.Fatalf("reason %q, want the platform's permanent error", dl.Reason)
	}
	var orig envelope.Reply
	if err := envelope.Decode(dl.Data, &orig); err != nil || orig.ID != r.ID {
		t.Fatalf("dead letter does not carry the reply: %v", err)
	}
	if n := len(p.Calls()); n != 1 {
		t.Fatalf("%d calls, want 1 (no retry of a permanent error)", n)
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	p := outboundtest.NewPlatform(t)
	p.SetMode("down")
	cfg := fastConfig("weibo", "wb")
	cfg.BreakerFailures = 100
	startLoop(t, b, cfg, p.Sender(), nil, nil)
	r := reply("weibo", "wb", "u", "x")
	publish(t, b, r)
	bustest.WaitFor(t, "the dead letter", func() bool { return len(deadLetters(t, b)) == 1 })
	if dl := deadLetters(t, b)[0]; dl.Reason != "gave up after 4 attempts: retryable: http_503" {
		t.Fatalf("reason %q", dl.Reason)
	}
	if n := len(p.Calls()); n != 4 {
		t.Fatalf("%d calls, want MaxAttempts=4", n)
	}
}

func TestCircuitOpensAndCloses(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	p := outboundtest.NewPlatform(t)
	p.SetMode("down")
	cfg := fastConfig("telegram", "tg-main")
	cfg.BreakerProbe, cfg.BreakerOpen = 2*time.Second, 2*time.Second // no probe while the test watches
	// The circuit opens after this, so its probe is due no sooner than
	// start+BreakerProbe.
	start := time.Now()
	l := startLoop(t, b, cfg, p.Sender(), nil, nil)
	var rs []envelope.Reply
	for i := range 5 {
		r := reply("telegram", "tg-main", fmt.Sprint("u", i), "x")
		rs = append(rs, r)
		publish(t, b, r)
	}
	bustest.WaitFor(t, "the circuit to open", func() bool { return l.CircuitState() == "open" })
	// A send already on its way when the circuit opened may still land;
	// once replies have come back to wait on the circuit, no more may.
	bustest.WaitFor(t, "replies to wait on the open circuit", func() bool { return outbound.Outcome(l, "circuit_wait") >= 2 })
	// Rather than watch for a while that no call comes, bring the
	// platform back now and check afterwards when each later call came:
	// none may come before the probe's turn.
	calls := len(p.Calls())
	p.SetMode("ok")
	bustest.WaitFor(t, "every reply delivered", func() bool {
		for _, r := range rs {
			if p.Count(r.ID) != 1 {
				return false
			}
		}
		return true
	})
	probeDue := start.Add(cfg.BreakerProbe)
	for i, at := range p.Calls()[calls:] {
		if at.Before(probeDue) {
			t.Fatalf("call %d came %v before the probe was due: the open circuit let it through", calls+i+1, probeDue.Sub(at))
		}
	}
	if st := l.CircuitState(); st != "closed" {
		t.Fatalf("circuit %s after recovery, want closed", st)
	}
	if n := len(deadLetters(t, b)); n != 0 {
		t.Fatalf("%d dead letters: waiting on an open circuit must not use up attempts", n)
	}
}

func TestOptedOutRecipientGetsNothing(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	p := outboundtest.NewPlatform(t)
	r := reply("sms", "sms-main", "+15550123", "promo")
	if _, err := b.KV(bus.BucketOptOut).Put(context.Background(), bus.OptOutKey(r.Conversation), []byte("x")); err != nil {
		t.Fatal(err)
	}
	startLoop(t, b, fastConfig("sms", "sms-main"), p.Sender(), nil, nil)
	publish(t, b, r)
	confirm := reply("sms", "sms-main", "+15550123", "You're unsubscribed.")
	confirm.Source, confirm.OptOutConfirmation = envelope.SourceSystem, true
	publish(t, b, confirm)
	bustest.WaitFor(t, "the confirmation", func() bool { return p.Count(confirm.ID) == 1 })
	bustest.WaitFor(t, "the dead letter", func() bool { return len(deadLetters(t, b)) == 1 })
	if p.Count(r.ID) != 0 || deadLetters(t, b)[0].Reason != "recipient opted out" {
		t.Fatalf("opted-out recipient: sent %d, dead letters %+v", p.Count(r.ID), deadLetters(t, b))
	}
}
