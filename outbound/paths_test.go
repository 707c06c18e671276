package outbound_test

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"testing"
	"time"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
	"hotline/outbound"
	"hotline/outbound/outboundtest"
)

// The paths of the delivery loop other packages' tests only reach from
// afar: expiry, the per-recipient limit, holds and the causes of a
// reroute. Several tests run the loop with one worker: it then handles
// replies in stream order, so a marker reply published after the one
// under test is a barrier; once the marker is through, the earlier
// reply's outcome is final and on the bus, and "nothing else happened"
// is a check rather than a wait.

// A reply older than MaxAge goes to dead letters with a reason that says
// it expired, is never sent, and is kept whole: the dead letter carries
// the reply as it was queued, so nothing is lost.
func TestExpiredReplyIsDeadLetteredNotSent(t *testing.T) {
	t.Parallel()
	const maxAge = time.Hour
	for _, tc := range []struct {
		name string
		// createdAgo dates the reply back; clockAhead moves the loop's
		// clock (Deps.Now) on. Either makes it older than maxAge.
		createdAgo, clockAhead time.Duration
	}{
		// Queued long ago: an outage outlasted MaxAge.
		{name: "created before MaxAge", createdAgo: 2 * maxAge},
		// Queued just now by its own stamp, but the loop's clock says
		// MaxAge has passed since.
		{name: "clock past MaxAge", clockAhead: maxAge + time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := bustest.Open(t)
			p := outboundtest.NewPlatform(t)
			cfg := fastConfig("telegram", "tg-main")
			cfg.MaxAge, cfg.Workers = maxAge, 1
			now := func() time.Time { return time.Now().Add(tc.clockAhead) }
			l := runLoop(t, cfg, outbound.Deps{Bus: b, Sender: p.Sender(), Now: now})

			old := reply("telegram", "tg-main", "u1", "too late")
			old.CreatedAt = time.Now().UTC().Add(-tc.createdAgo)
			// A minute inside MaxAge by the loop's clock: the limit is
			// MaxAge, not anything shorter.
			marker := reply("telegram", "tg-main", "u2", "in time")
			marker.CreatedAt = now().UTC().Add(-maxAge + time.Minute)
			publish(t, b, old)
			publish(t, b, marker)
			bustest.WaitFor(t, "the marker delivered", func() bool { return p.Count(marker.ID) == 1 })

			if n := p.Count(old.ID); n != 0 {
				t.Fatalf("the expired reply was sent %d times", n)
			}
			if n := len(p.Calls()); n != 1 {
				t.Fatalf("%d platform calls, want only the marker's", n)
			}
			dls := deadLetters(t, b)
			if len(dls) != 1 {
				t.Fatalf("%d dead letters, want the expired reply's", len(dls))
			}
			dl := dls[0]
			if !strings.HasPrefix(dl.Reason, "expired: ") {
				t.Fatalf("dead letter reason %q, want it to say the reply expired", dl.Reason)
			}
			if want, _ := envelope.OutSubject("telegram", "tg-main"); dl.Subject != want {
				t.Fatalf("dead letter from %q, want %q", dl.Subject, want)
			}
			var got envelope.Reply
			if err := envelope.Decode(dl.Data, &got); err != nil {
				t.Fatalf("dead letter does not carry the reply: %v", err)
			}
			if got.ID != old.ID || got.Text != old.Text || got.To != old.To || got.Conversation != old.Conversation || !got.CreatedAt.Equal(old.CreatedAt) {
				t.Fatalf("dead letter carries %+v, want the reply as queued %+v", got, old)
			}
			evs := statusEvents(t, b, old.ID)
			if len(evs) != 1 || evs[0].State != envelope.StateDead || evs[0].Error != dl.Reason {
				t.Fatalf("status events %+v, want one dead with the dead letter's reason", evs)
			}
			if n := outbound.Outcome(l, "dead"); n != 1 {
				t.Fatalf("dead outcome %v, want 1", n)
			}
		})
	}
}

// Two replies to one user faster than its rate both go, in order, the
// second only when the user's bucket allows; a reply to another user,
// queued after them, does not wait behind the first user's limit.
func TestRecipientLimitDelaysOnlyThatRecipient(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	p := outboundtest.NewPlatform(t)
	cfg := fastConfig("telegram", "tg-main")
	cfg.RecipientRate, cfg.RecipientBurst = 1, 1 // one a second, no burst
	cfg.Workers = 2
	startLoop(t, b, cfg, p.Sender(), nil, nil)

	first := reply("telegram", "tg-main", "alice", "first")
	second := reply("telegram", "tg-main", "alice", "second")
	// A conversation's replies wait for the user's bucket on the worker
	// they are handled by, and hold up whatever else that worker has;
	// other conversations go on on the others. The other user is picked
	// to be handled by another worker, so what this shows is the limit
	// itself: per user, not per account.
	other := userOnOtherWorker(t, "telegram", "tg-main", first.Conversation, cfg.Workers)
	meanwhile := reply("telegram", "tg-main", other, "meanwhile")
	publish(t, b, first)
	publish(t, b, second)
	publish(t, b, meanwhile)
	bustest.WaitFor(t, "all three delivered", func() bool {
		return p.Count(first.ID) == 1 && p.Count(second.ID) == 1 && p.Count(meanwhile.ID) == 1
	})

	sends := p.Sends()
	at := map[string]int{}
	for i, s := range sends {
		at[s.ID] = i
	}
	if len(sends) != 3 {
		t.Fatalf("%d sends, want 3", len(sends))
	}
	if at[first.ID] > at[second.ID] {
		t.Fatalf("sent in the order %v: the user's second reply overtook the first", sendIDs(sends))
	}
	if at[meanwhile.ID] > at[second.ID] {
		t.Fatalf("sent in the order %v: another user's reply waited for alice's rate limit", sendIDs(sends))
	}
	// A lower bound, not a speed: the bucket gives alice's second token
	// a second after her first was taken, a moment before her first
	// call arrived (the 250 ms allow for that moment on a busy machine).
	if gap := sends[at[second.ID]].At.Sub(sends[at[first.ID]].At); gap < 750*time.Millisecond {
		t.Fatalf("alice's second reply went %v after her first; her 1/s limit allows it no sooner than about 1s", gap)
	}
	// Waiting for the bucket is neither a failure nor a retry. The
	// status event follows the send, so wait for it.
	var got []envelope.DeliveryState
	bustest.WaitFor(t, "the delayed reply's sent status", func() bool {
		got = statuses(t, b, second.ID)
		return len(got) > 0 && got[len(got)-1] == envelope.StateSent
	})
	if !slices.Equal(got, []envelope.DeliveryState{envelope.StateSent}) {
		t.Fatalf("statuses of the delayed reply %v, want [sent]", got)
	}
	if n := len(deadLetters(t, b)); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
}

// A reply an operator's sms_fallback holds (its user has no bound phone)
// is neither sent nor dead-lettered while the mode is on; when the mode
// clears it goes on the platform, exactly once.
func TestHeldReplyGoesOnceWhenModeClears(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	p := outboundtest.NewPlatform(t)
	cfg := fastConfig("telegram", "tg-main")
	cfg.SMSAccount = "sms-main"
	cfg.HoldRecheck = time.Hour // only the mode's change can release it
	cfg.Workers = 1             // stream order: the markers are barriers
	modes := newModes(true, false)
	held := reply("telegram", "tg-main", "nophone", "held")
	// The first marker's user has a phone, so it is rerouted at once.
	marker := reply("telegram", "tg-main", "withphone", "marker")
	phones := phoneBook{marker.Conversation: "+15550100"}
	l := startLoop(t, b, cfg, p.Sender(), modes, phones)

	publish(t, b, held)
	publish(t, b, marker)
	bustest.WaitFor(t, "the marker rerouted", func() bool {
		return slices.Contains(statuses(t, b, marker.ID), envelope.StateRerouted)
	})
	// The held reply came first on the only worker, so it has been
	// handled, and it was held: not sent, not dead.
	if got := statuses(t, b, held.ID); !slices.Equal(got, []envelope.DeliveryState{envelope.StateHeld}) {
		t.Fatalf("statuses %v while sms_fallback is on, want [held]", got)
	}
	if n := len(p.Calls()); n != 0 {
		t.Fatalf("%d platform calls while sms_fallback is on", n)
	}
	if n := len(deadLetters(t, b)); n != 0 {
		t.Fatalf("%d dead letters while the reply was held", n)
	}

	modes.set(false) // Changed fires
	bustest.WaitFor(t, "the held reply delivered", func() bool { return p.Count(held.ID) == 1 })
	// A second copy of the held reply, handed back twice, would come
	// before this marker on the only worker.
	after := reply("telegram", "tg-main", "nophone2", "after")
	publish(t, b, after)
	bustest.WaitFor(t, "the second marker delivered", func() bool { return p.Count(after.ID) == 1 })
	if n := p.Count(held.ID); n != 1 {
		t.Fatalf("the held reply was sent %d times", n)
	}
	if n := outbound.Outcome(l, "duplicate"); n != 0 {
		t.Fatalf("the held reply was handled %v more times after it was sent", n)
	}
	if got := statuses(t, b, held.ID); !slices.Equal(got, []envelope.DeliveryState{envelope.StateHeld, envelope.StateSent}) {
		t.Fatalf("statuses %v, want [held sent]", got)
	}
	// On the platform, not by SMS: the only SMS copy is the marker's.
	for _, c := range smsCopies(t, b, "sms-main") {
		if c.ID != envelope.DeriveID(marker.ID, "sms-fallback") {
			t.Fatalf("an SMS copy %s besides the marker's: %+v", c.ID, c)
		}
	}
	if n := len(deadLetters(t, b)); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
}

// A rerouted reply's status event says why it went by SMS: an operator's
// sms_fallback, sms_fallback the gateway engaged itself when the circuit
// opened, or the platform refusing the reply for good because its window
// with the user closed.
func TestRerouteRecordsItsCause(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// on and auto are the mode when the loop starts; platform is
		// how the fake platform answers.
		on, auto bool
		platform string
		tune     func(*outbound.Config)
		want     outbound.RerouteCause
		// states are the reply's status events; calls the platform's.
		states []envelope.DeliveryState
		calls  int
	}{
		{
			name: "operator", on: true, platform: "ok",
			want:   outbound.RerouteOperator,
			states: []envelope.DeliveryState{envelope.StateRerouted}, calls: 0,
		},
		{
			// The platform is down; the first failure opens the circuit
			// and the loop engages sms_fallback itself. No probe, and no
			// retry from the backoff, while the test runs.
			name: "auto", platform: "down",
			tune: func(c *outbound.Config) {
				c.AutoFallback, c.BreakerFailures = true, 1
				c.BreakerProbe, c.BreakerOpen = time.Hour, time.Hour
				c.Backoff = func(int) time.Duration { return time.Hour }
			},
			want:   outbound.RerouteAuto,
			states: []envelope.DeliveryState{envelope.StateRetrying, envelope.StateRerouted}, calls: 1,
		},
		{
			// An operator's fallback would reroute before trying the
			// platform; an automatic one engaged elsewhere lets a
			// closed circuit try it, and the platform refuses.
			name: "window closed", on: true, auto: true, platform: "window",
			want:   outbound.RerouteWindowClosed,
			states: []envelope.DeliveryState{envelope.StateRerouted}, calls: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := bustest.Open(t)
			p := outboundtest.NewPlatform(t)
			p.SetMode(tc.platform)
			cfg := fastConfig("telegram", "tg-main")
			cfg.SMSAccount, cfg.Label = "sms-main", "Telegram"
			if tc.tune != nil {
				tc.tune(&cfg)
			}
			modes := newModes(tc.on, tc.auto)
			r := reply("telegram", "tg-main", "alice", "hello")
			const phone = "+15550100"
			startLoop(t, b, cfg, p.Sender(), modes, phoneBook{r.Conversation: phone})
			publish(t, b, r)

			subject, _ := envelope.StatusSubject("telegram", "tg-main")
			var ev envelope.Status
			bustest.WaitFor(t, "the rerouted status event on "+subject, func() bool {
				for _, data := range bustest.Messages(t, b, bus.StreamStatus, subject) {
					if err := envelope.Decode(data, &ev); err != nil {
						t.Fatal(err)
					}
					if ev.ReplyID == r.ID && ev.State == envelope.StateRerouted {
						return true
					}
				}
				return false
			})
			if cause, ok := outbound.RerouteCauseOf(ev); !ok || cause != tc.want {
				t.Fatalf("status event %q: cause %q (found %v), want %q", ev.Error, cause, ok, tc.want)
			}
			if want := string(tc.want) + "; to sms-main"; ev.Error != want {
				t.Fatalf("status event says %q, want %q", ev.Error, want)
			}
			if got := statuses(t, b, r.ID); !slices.Equal(got, tc.states) {
				t.Fatalf("statuses %v, want %v", got, tc.states)
			}
			copies := smsCopies(t, b, "sms-main")
			if len(copies) != 1 {
				t.Fatalf("%d SMS copies, want 1", len(copies))
			}
			c := copies[0]
			if c.ID != envelope.DeriveID(r.ID, "sms-fallback") || c.To.Phone != phone ||
				c.Rerouted != "telegram/tg-main" || c.Text != "[Telegram] hello" {
				t.Fatalf("SMS copy %+v", c)
			}
			if n := p.Count(r.ID); n != 0 {
				t.Fatalf("a rerouted reply was also sent on the platform %d times", n)
			}
			if n := len(p.Calls()); n != tc.calls {
				t.Fatalf("%d platform calls, want %d", n, tc.calls)
			}
			if n := len(deadLetters(t, b)); n != 0 {
				t.Fatalf("%d dead letters", n)
			}
			if tc.name == "auto" && modes.engagements() != 1 {
				t.Fatalf("sms_fallback engaged %d times by the loop, want 1", modes.engagements())
			}
		})
	}
}

// A status event of another state, or one from before causes were
// recorded, has no reroute cause.
func TestRerouteCauseOfOtherEvents(t *testing.T) {
	t.Parallel()
	for _, st := range []envelope.Status{
		{State: envelope.StateRerouted, Error: "sms_fallback to sms-main"},
		{State: envelope.StateRerouted, Error: "sms_fallback: operatorx; to sms-main"},
		{State: envelope.StateFailed, Error: string(outbound.RerouteOperator) + "; to sms-main"},
		{State: envelope.StateRerouted},
	} {
		if cause, ok := outbound.RerouteCauseOf(st); ok {
			t.Errorf("%s %q: cause %q, want none", st.State, st.Error, cause)
		}
	}
}

// smsCopies returns the replies rerouted to an SMS account.
func smsCopies(t *testing.T, b *bus.Bus, account string) []envelope.Reply {
	t.Helper()
	subject, err := envelope.OutSubject(envelope.PlatformSMS, account)
	if err != nil {
		t.Fatal(err)
	}
	var out []envelope.Reply
	for _, data := range bustest.Messages(t, b, bus.StreamOut, subject) {
		var r envelope.Reply
		if err := envelope.Decode(data, &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// userOnOtherWorker returns a user of platform/account whose replies a
// loop with this many workers hands to another worker than those of
// conversation. It mirrors bus.partition (FNV-1a of the conversation
// header, modulo the workers); if that changes, change this too.
func userOnOtherWorker(t *testing.T, platform, account, conversation string, workers int) string {
	t.Helper()
	worker := func(key string) uint32 {
		h := fnv.New32a()
		h.Write([]byte(key))
		return h.Sum32() % uint32(workers)
	}
	for i := range 100 {
		user := fmt.Sprint("bob", i)
		if worker(envelope.ConversationKey(platform, account, user)) != worker(conversation) {
			return user
		}
	}
	t.Fatal("no user on another worker")
	return ""
}

func sendIDs(sends []outboundtest.Send) []string {
	var out []string
	for _, s := range sends {
		out = append(out, s.ID)
	}
	return out
}
