package router

import (
	"context"
	"strings"
	"testing"
	"time"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
)

// Two instances handle one conversation: the second changes its language
// while the first still holds the session it read before. The first
// instance's next answer must be decided on the conversation as it is,
// never published from the stale copy.
func TestStaleSessionNeverPublishes(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r1 := newRouter(t, b, testConfig(), Deps{})
	r2 := newRouter(t, b, testConfig(), Deps{})
	process(t, r1, inbound("42", "hello")) // r1 now holds the session (default language)
	process(t, r2, inbound("42", "lang ar"))
	help := inbound("42", "help")
	process(t, r1, help) // on r1's stale copy first
	var got []string
	for _, rep := range replies(t, b, "hotline.out.") {
		if rep.InReplyTo == help.ID {
			got = append(got, rep.Lang)
		}
	}
	if strings.Join(got, ",") != "ar" {
		t.Fatalf("help after lang ar on another instance answered in %v, want [ar]", got)
	}
}

// A crash after the session is committed but before the replies are
// published must not lose them: the redelivery publishes what was
// committed, once.
func TestCommittedOutcomeSurvivesFailedPublish(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	m := inbound("43", "menu")
	// The reply's stream is gone when the router publishes.
	ctx := context.Background()
	st, err := b.JetStream().Stream(ctx, bus.StreamOut)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	if err := b.JetStream().DeleteStream(ctx, bus.StreamOut); err != nil {
		t.Fatal(err)
	}
	if err := r.Process(ctx, &m); err == nil {
		t.Fatal("Process succeeded with HOTLINE_OUT missing")
	}
	sess, err := r.sessions.Load(ctx, m.Conversation)
	if err != nil {
		t.Fatal(err)
	}
	if len(sess.Outbox) != 1 || sess.Outbox[0].InboundID != m.ID || len(sess.Outbox[0].Replies) != 1 {
		t.Fatalf("after the failed publish the session's outbox is %+v, want the menu reply for %s", sess.Outbox, m.ID)
	}
	if _, err := b.JetStream().CreateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	// The redelivery.
	process(t, r, m)
	process(t, r, m)
	var menus int
	for _, rep := range replies(t, b, "hotline.out.") {
		if rep.InReplyTo == m.ID {
			menus++
		}
	}
	if menus != 1 {
		t.Fatalf("%d replies to the menu request after the redelivery, want 1", menus)
	}
	sess, err = r.sessions.Load(ctx, m.Conversation)
	if err != nil {
		t.Fatal(err)
	}
	if len(sess.Outbox) != 0 {
		t.Fatalf("outbox not settled: %+v", sess.Outbox)
	}
}

// A message decided twice (its session changed under it) asks for one
// binding code, not two, against the number's hourly budget.
func TestBindRequestCountedOncePerMessage(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	ctx := context.Background()
	for range 3 {
		ok, err := r.sessions.countBindRequest(ctx, "n.test-number", "01JSAMEMESSAGE", time.Now(), time.Hour, 1)
		if err != nil || !ok {
			t.Fatalf("the same message again: allowed=%v err=%v, want allowed", ok, err)
		}
	}
	if ok, _ := r.sessions.countBindRequest(ctx, "n.test-number", "01JOTHERMESSAGE", time.Now(), time.Hour, 1); ok {
		t.Fatal("a second message went past a limit of 1")
	}
}

// sessionWrites is how many writes the sessions bucket has taken.
func sessionWrites(t *testing.T, b *bus.Bus) uint64 {
	t.Helper()
	return bustest.StreamState(t, b, "KV_"+bus.BucketSessions).LastSeq
}

func outboxIDs(t *testing.T, r *Router, conversation string) []string {
	t.Helper()
	sess, err := r.sessions.Load(context.Background(), conversation)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range sess.Outbox {
		ids = append(ids, e.InboundID)
	}
	return ids
}

func repliesTo(t *testing.T, b *bus.Bus, inboundID string) int {
	t.Helper()
	n := 0
	for _, rep := range replies(t, b, "hotline.out.") {
		if rep.InReplyTo == inboundID {
			n++
		}
	}
	return n
}

// A message that only replies costs one session write: its outbox entry
// goes with the conversation's next commit.
func TestOutboxSettlesAtTheNextCommit(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	first, second := inbound("44", "menu"), inbound("44", "help")
	before := sessionWrites(t, b)
	process(t, r, first)
	if got := sessionWrites(t, b) - before; got != 1 {
		t.Fatalf("a reply-only message took %d session writes, want 1", got)
	}
	if got := outboxIDs(t, r, first.Conversation); len(got) != 1 || got[0] != first.ID {
		t.Fatalf("outbox after the first message: %v, want [%s] until the next commit", got, first.ID)
	}
	process(t, r, second)
	if got := outboxIDs(t, r, first.Conversation); len(got) != 1 || got[0] != second.ID {
		t.Fatalf("outbox after the second message: %v, want [%s]", got, second.ID)
	}
	if a, b := repliesTo(t, b, first.ID), repliesTo(t, b, second.ID); a != 1 || b != 1 {
		t.Fatalf("replies to the two messages: %d and %d, want one each", a, b)
	}
}

// A handoff is not deduplicated past the stream's window, so a message
// that makes one settles at once rather than risk being carried out
// again.
func TestHandoffSettlesAtOnce(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	m := inbound("45", "Someone hacked my account and changed the password")
	process(t, r, m)
	if len(handoffs(t, b)) != 1 {
		t.Fatal("no handoff")
	}
	if got := outboxIDs(t, r, m.Conversation); len(got) != 0 {
		t.Fatalf("outbox after a handoff: %v, want it settled", got)
	}
}

// Entries this instance did not see settled: another instance's (it may
// have stopped after acknowledging the message, or before carrying the
// entry out). A young one is left to its own handler; an old one is
// carried out, once, and dropped; one past the sent records' life is
// dropped unsent.
func TestOutboxEntriesOfUnknownFate(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	ctx := context.Background()
	conv := inbound("46", "").Conversation
	entry := func(id string, age time.Duration) Effects {
		rep := envelope.Reply{ID: envelope.ReplyID(id, 0), InReplyTo: id, Platform: envelope.PlatformTelegram, Account: "tg-main",
			Conversation: conv, To: envelope.Party{ID: "46"}, Text: "left in the outbox", Lang: "en", Source: envelope.SourceBot, CreatedAt: time.Now().UTC().Add(-age)}
		return Effects{InboundID: id, ReceivedAt: time.Now().UTC().Add(-age), Replies: []envelope.Reply{rep}}
	}
	young, old, ancient, undated := entry("01JYOUNG", 5*time.Second), entry("01JOLD", 2*time.Minute),
		entry("01JANCIENT", 8*24*time.Hour), entry("01JUNDATED", 0)
	undated.ReceivedAt = time.Time{}
	writer := newRouter(t, b, testConfig(), Deps{})
	if _, err := writer.sessions.store(ctx, &Session{Conversation: conv, Outbox: []Effects{young, old, ancient, undated}}, 0); err != nil {
		t.Fatal(err)
	}
	r := newRouter(t, b, testConfig(), Deps{}) // knows none of them
	m := inbound("46", "help")
	process(t, r, m)
	process(t, r, m) // a redelivery carries out nothing again
	want := map[string]int{young.InboundID: 0, old.InboundID: 1, ancient.InboundID: 0, undated.InboundID: 1, m.ID: 1}
	for id, n := range want {
		if got := repliesTo(t, b, id); got != n {
			t.Errorf("%d replies for %s, want %d", got, id, n)
		}
	}
	if got := outboxIDs(t, r, conv); strings.Join(got, ",") != young.InboundID+","+m.ID {
		t.Fatalf("outbox %v, want the young entry and the new message's", got)
	}
}
