package webchat

import (
	"context"
	"sync"
	"testing"
)

func TestLivePush(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, nil)
	f.run(t)
	jar := newJar(t)
	tab1 := f.dial(t, jar, "")
	tab2 := f.dial(t, jar, "")
	stranger := f.dial(t, newJar(t), "")
	v := tab1.hello.Visitor

	// The visitor's own message reaches the other tab.
	tab1.sendAcked(t, "hi-1", "hello")
	fr := tab2.next(t)
	if fr.Type != "message" || fr.Entry.Role != roleUser || fr.Entry.ClientID != "hi-1" || fr.Entry.Text != "hello" {
		t.Fatalf("tab 2: got %+v, want the message from tab 1", fr)
	}

	r := reply(v, "Hello! How can I help?")
	if _, err := f.a.Send(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	for i, c := range []*client{tab1, tab2} {
		fr := c.next(t)
		if fr.Type != "message" || fr.Entry.ID != r.ID || fr.Entry.Role != roleBot || fr.Entry.Text != r.Text {
			t.Errorf("tab %d: got %+v, want the reply", i+1, fr)
		}
	}

	// Another instance on the same bus stores a reply: it comes through
	// NATS, once.
	other := newFixtureOn(t, f.b, Config{}, nil)
	r2 := reply(v, "Still there?")
	if _, err := other.a.Send(context.Background(), r2); err != nil {
		t.Fatal(err)
	}
	for i, c := range []*client{tab1, tab2} {
		fr := c.next(t)
		if fr.Type != "message" || fr.Entry.ID != r2.ID {
			t.Errorf("tab %d: got %+v, want the reply from the other instance", i+1, fr)
		}
	}

	// Nothing of it went to another visitor, and nothing came twice:
	// the next frame each gets is for a fresh reply.
	r3 := reply(v, "Bye")
	if _, err := f.a.Send(context.Background(), r3); err != nil {
		t.Fatal(err)
	}
	if fr := tab1.next(t); fr.Entry.ID != r3.ID {
		t.Errorf("tab 1: got %+v, want only the last reply", fr)
	}
	rs := reply(stranger.hello.Visitor, "for the stranger")
	if _, err := f.a.Send(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	if fr := stranger.next(t); fr.Entry.ID != rs.ID {
		t.Errorf("stranger: got %+v, want only their own reply", fr)
	}
}

// fakeAnnouncer serves a banner the test changes.
type fakeAnnouncer struct {
	mu         sync.Mutex
	text, dir  string
	lastLang   string
	lastAcount string
}

func (f *fakeAnnouncer) Announcement(account, lang string) (string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastLang, f.lastAcount = lang, account
	if lang == "he" {
		return "תחזוקה הלילה", "rtl"
	}
	return f.text, f.dir
}

func (f *fakeAnnouncer) set(text, dir string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.text, f.dir = text, dir
}

func TestAnnouncement(t *testing.T) {
	t.Parallel()
	ann := &fakeAnnouncer{text: "Maintenance tonight 22:00-23:00"}
	f := newFixture(t, Config{Account: "shop"}, ann)
	f.run(t)

	c := f.dial(t, newJar(t), "?lang=en-GB")
	if a := c.hello.Announcement; a == nil || a.Text != "Maintenance tonight 22:00-23:00" || a.Dir != "" {
		t.Fatalf("hello announcement: got %+v", a)
	}
	he := f.dial(t, newJar(t), "?lang=he")
	if a := he.hello.Announcement; a == nil || a.Dir != "rtl" {
		t.Fatalf("hello announcement in Hebrew: got %+v, want rtl", a)
	}

	ann.set("Maintenance moved to 23:00", "")
	fr := c.next(t)
	if fr.Type != "announcement" || fr.Text != "Maintenance moved to 23:00" {
		t.Fatalf("got %+v, want the new announcement", fr)
	}
	ann.set("", "")
	if fr := c.next(t); fr.Type != "announcement" || fr.Text != "" {
		t.Fatalf("got %+v, want the banner removed", fr)
	}
	ann.mu.Lock()
	account := ann.lastAcount
	ann.mu.Unlock()
	if account != "shop" {
		t.Errorf("asked for account %q, want shop", account)
	}
	// No banner: hello has none.
	if none := f.dial(t, newJar(t), ""); none.hello.Announcement != nil {
		t.Errorf("hello without a banner: got %+v", none.hello.Announcement)
	}
	// The Hebrew socket's banner never changed: it got no frame, so its
	// next frame is a reply.
	r := reply(he.hello.Visitor, "שלום")
	r.Account = "shop"
	r.Conversation = "webchat:shop:" + he.hello.Visitor
	if _, err := f.a.Send(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if fr := he.next(t); fr.Type != "message" {
		t.Errorf("hebrew socket: got %+v, want no announcement frame", fr)
	}
}
