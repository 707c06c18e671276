package router

import (
	"context"
	"strings"
	"testing"
	"time"

	"hotline/bus"
	"hotline/bus/bustest"
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
