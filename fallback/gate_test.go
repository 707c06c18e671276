package fallback

import (
	"context"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"hotline/bus/bustest"
)

func TestGateModes(t *testing.T) {
	t.Parallel()
	announce := map[string]string{"zh": "系统维护中", "en": "We are fixing an outage."}
	tests := []struct {
		name    string
		modes   [][2]string // mode, scope
		static  bool
		want    Decision    // without InForce
		inForce [][2]string // mode, scope: the settings in force, most severe first
	}{
		{name: "no mode", want: Decision{}},
		{name: "read_only refuses and defers the handoff", modes: [][2]string{{ModeReadOnly, "wechat"}},
			want: Decision{Refuse: RefuseReadOnly, DeferHandoff: true}, inForce: [][2]string{{ModeReadOnly, "wechat"}}},
		{name: "read_only answers static help", modes: [][2]string{{ModeReadOnly, "global"}}, static: true,
			want: Decision{}, inForce: [][2]string{{ModeReadOnly, "global"}}},
		{name: "read_only elsewhere", modes: [][2]string{{ModeReadOnly, "wechat/oa-other"}, {ModeReadOnly, "weibo"}},
			want: Decision{}},
		{name: "the most specific setting is the one in force", modes: [][2]string{{ModeReadOnly, "global"}, {ModeReadOnly, "wechat/oa-main"}},
			want: Decision{Refuse: RefuseReadOnly, DeferHandoff: true}, inForce: [][2]string{{ModeReadOnly, "wechat/oa-main"}}},
		{name: "review_first holds", modes: [][2]string{{ModeReviewFirst, "wechat/oa-main"}},
			want: Decision{HoldForReview: true}, inForce: [][2]string{{ModeReviewFirst, "wechat/oa-main"}}},
		{name: "announcement carries texts", modes: [][2]string{{ModeAnnouncement, "global"}}, static: true,
			want: Decision{}, inForce: [][2]string{{ModeAnnouncement, "global"}}},
		{name: "read_only and announcement combine", modes: [][2]string{{ModeAnnouncement, "wechat"}, {ModeReadOnly, "global"}},
			want:    Decision{Refuse: RefuseReadOnly, DeferHandoff: true},
			inForce: [][2]string{{ModeReadOnly, "global"}, {ModeAnnouncement, "wechat"}}},
		{name: "review_first and announcement combine", modes: [][2]string{{ModeReviewFirst, "wechat"}, {ModeAnnouncement, "wechat/oa-main"}},
			want: Decision{HoldForReview: true}, inForce: [][2]string{{ModeReviewFirst, "wechat"}, {ModeAnnouncement, "wechat/oa-main"}}},
		{name: "sms_fallback reroutes but does not change the answer", modes: [][2]string{{ModeSMSFallback, "wechat"}},
			want: Decision{SMSFallback: true}, inForce: [][2]string{{ModeSMSFallback, "wechat"}}},
		{name: "sms_fallback in every scope", modes: [][2]string{{ModeSMSFallback, "global"}},
			want: Decision{SMSFallback: true}, inForce: [][2]string{{ModeSMSFallback, "global"}}},
		{name: "sms_fallback for the account", modes: [][2]string{{ModeSMSFallback, "wechat/oa-main"}},
			want: Decision{SMSFallback: true}, inForce: [][2]string{{ModeSMSFallback, "wechat/oa-main"}}},
		{name: "sms_fallback elsewhere", modes: [][2]string{{ModeSMSFallback, "weibo"}, {ModeSMSFallback, "wechat/oa-other"}},
			want: Decision{}},
		{name: "every mode, most severe first",
			modes: [][2]string{{ModeAnnouncement, "global"}, {ModeReviewFirst, "global"}, {ModeSMSFallback, "global"},
				{ModeRateLimited, "global"}, {ModeReadOnly, "global"}},
			want: Decision{Refuse: RefuseReadOnly, DeferHandoff: true, HoldForReview: true, SMSFallback: true},
			inForce: [][2]string{{ModeReadOnly, "global"}, {ModeRateLimited, "global"}, {ModeSMSFallback, "global"},
				{ModeReviewFirst, "global"}, {ModeAnnouncement, "global"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := bustest.Open(t)
			s := newStore(t, b, StoreDeps{})
			stored := map[[2]string]Setting{}
			for _, m := range tc.modes {
				stored[m] = mustSet(t, s, op(t, m[0], m[1]))
			}
			want := tc.want
			for _, m := range tc.inForce {
				set := stored[m]
				n := Notice{Mode: set.Mode, Scope: set.Scope, SetAt: set.SetAt}
				if set.Mode == ModeAnnouncement {
					n.Announce = announce
				}
				want.InForce = append(want.InForce, n)
			}
			g := NewGate(s, RateConfig{}, nil)
			got := g.Check(context.Background(), message("wechat", "oa-main", "u1"), tc.static)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Check: got %+v, want %+v", got, want)
			}
		})
	}
}

// TestGateNoSMSFallbackForSMS: SMS users already get their replies by
// SMS, so a global sms_fallback is not in force for them.
func TestGateNoSMSFallbackForSMS(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	s := newStore(t, b, StoreDeps{})
	mustSet(t, s, op(t, ModeSMSFallback, "global"))
	g := NewGate(s, RateConfig{}, nil)
	if got := g.Check(context.Background(), message("sms", "sms-main", "+15550100"), false); !reflect.DeepEqual(got, Decision{}) {
		t.Errorf("Check for an SMS user: got %+v, want a normal answer with nothing in force", got)
	}
	if got := g.Check(context.Background(), message("telegram", "tg-main", "42"), false); !got.SMSFallback || len(got.InForce) != 1 {
		t.Errorf("Check for a Telegram user: got %+v, want sms_fallback in force", got)
	}
}

// TestGateAnnouncementOfAnyMode: an operator's text for a mode other
// than announcement reaches the decision too.
func TestGateAnnouncementOfAnyMode(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	s := newStore(t, b, StoreDeps{})
	set := op(t, ModeReadOnly, "wechat")
	set.Announce = map[string]string{"en": "Payments database failover; answers resume at 14:00."}
	stored := mustSet(t, s, set)
	d := NewGate(s, RateConfig{}, nil).Check(context.Background(), message("wechat", "oa-main", "u1"), true)
	want := []Notice{{Mode: ModeReadOnly, Scope: stored.Scope, SetAt: stored.SetAt, Announce: set.Announce}}
	if !reflect.DeepEqual(d.InForce, want) {
		t.Errorf("InForce: got %+v, want %+v", d.InForce, want)
	}
	if d.InForce[0].SetAt.IsZero() {
		t.Errorf("a notice without the time its setting started cannot be told from a later one")
	}
}

func TestGateSeesModeFromAnotherInstance(t *testing.T) {
	b := bustest.Open(t)
	operator := newStore(t, b, StoreDeps{})
	router := newStore(t, b, StoreDeps{})
	g := NewGate(router, RateConfig{}, nil)
	m := message("telegram", "tg-main", "42")
	if d := g.Check(context.Background(), m, false); d.Refuse != "" {
		t.Fatalf("before: got %+v, want a normal answer", d)
	}
	mustSet(t, operator, op(t, ModeReadOnly, "telegram/tg-main"))
	waitFor(t, "the gate to refuse", time.Second, func() bool {
		return g.Check(context.Background(), m, false).Refuse == RefuseReadOnly
	})
}

func TestGateRateLimited(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	clock := newFakeClock()
	reg := prometheus.NewRegistry()
	s := newStore(t, b, StoreDeps{Now: clock.Now, Registry: reg})
	limitedSet := mustSet(t, s, op(t, ModeRateLimited, "wechat"))
	g := NewGate(s, RateConfig{PerSender: rate.Every(3 * time.Second), PerSenderBurst: 2, NoticeWindow: time.Minute}, clock.Now)
	ctx := context.Background()
	alice := message("wechat", "oa-main", "alice")

	type step struct {
		advance time.Duration
		static  bool
		want    Decision
	}
	steps := []step{
		{want: Decision{}},
		{want: Decision{}},
		{want: Decision{Refuse: RefuseBusy}}, // over: one notice
		{want: Decision{Silent: true}},       // then silence
		{static: true, want: Decision{Silent: true}},
		{advance: 3 * time.Second, want: Decision{}}, // a token came back
		{want: Decision{Silent: true}},               // over again inside the window
		{advance: 61 * time.Second, want: Decision{}},
		{want: Decision{}},
		{want: Decision{Refuse: RefuseBusy}}, // a new window: one notice again
		{want: Decision{Silent: true}},
	}
	limited := []Notice{{Mode: ModeRateLimited, Scope: limitedSet.Scope, SetAt: limitedSet.SetAt}}
	for i, st := range steps {
		clock.Add(st.advance)
		st.want.InForce = limited
		if got := g.Check(ctx, alice, st.static); !reflect.DeepEqual(got, st.want) {
			t.Fatalf("step %d: got %+v, want %+v", i, got, st.want)
		}
	}
	// Another user has their own bucket.
	if got := g.Check(ctx, message("wechat", "oa-main", "bob"), false); !reflect.DeepEqual(got, Decision{InForce: limited}) {
		t.Errorf("bob: got %+v, want a normal answer", got)
	}
	// Outside the rate_limited scope nothing is limited or tracked.
	sms := message("sms", "sms-main", "+15550100")
	for i := range 10 {
		if got := g.Check(ctx, sms, false); !reflect.DeepEqual(got, Decision{}) {
			t.Fatalf("sms message %d: got %+v, want a normal answer", i, got)
		}
	}
	for decision, want := range map[string]float64{outcomeBusy: 2, outcomeSilent: 4} {
		if v, _ := metricValue(t, reg, "hotline_gate_decisions_total", map[string]string{"decision": decision}); v != want {
			t.Errorf("decisions{%s}: got %v, want %v", decision, v, want)
		}
	}

	// Limiters idle for more than ten minutes are dropped.
	if senders, accounts := g.tracked(); senders != 2 || accounts != 1 {
		t.Errorf("tracked: got %d senders, %d accounts, want 2 and 1", senders, accounts)
	}
	clock.Add(11 * time.Minute)
	g.Check(ctx, message("wechat", "oa-main", "carol"), false)
	if senders, accounts := g.tracked(); senders != 1 || accounts != 1 {
		t.Errorf("tracked after 11 idle minutes: got %d senders, %d accounts, want 1 and 1", senders, accounts)
	}
}

func TestGateGlobalLimit(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	clock := newFakeClock()
	s := newStore(t, b, StoreDeps{Now: clock.Now})
	limitedSet := mustSet(t, s, op(t, ModeRateLimited, "global"))
	readOnlySet := mustSet(t, s, op(t, ModeReadOnly, "global"))
	inForce := []Notice{{Mode: ModeReadOnly, Scope: Global, SetAt: readOnlySet.SetAt}, {Mode: ModeRateLimited, Scope: Global, SetAt: limitedSet.SetAt}}
	g := NewGate(s, RateConfig{Global: 1, GlobalBurst: 3}, clock.Now)
	ctx := context.Background()
	users := []string{"u1", "u2", "u3", "u4", "u5"}
	var got []Decision
	for _, u := range users {
		got = append(got, g.Check(ctx, message("weibo", "weibo-main", u), false))
	}
	readOnly := Decision{Refuse: RefuseReadOnly, DeferHandoff: true, InForce: inForce}
	// Over the limit the busy notice wins over the read-only text, but
	// the handoff is still queued.
	busy := Decision{Refuse: RefuseBusy, DeferHandoff: true, InForce: inForce}
	want := []Decision{readOnly, readOnly, readOnly, busy, busy}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("five users at once on one account: got %+v, want %+v", got, want)
	}
	// Another account has its own global bucket.
	if d := g.Check(ctx, message("weibo", "weibo-2", "u1"), false); !reflect.DeepEqual(d, readOnly) {
		t.Errorf("other account: got %+v, want %+v", d, readOnly)
	}
	clock.Add(time.Second)
	if d := g.Check(ctx, message("weibo", "weibo-main", "u6"), true); !reflect.DeepEqual(d, Decision{InForce: inForce}) {
		t.Errorf("static after refill: got %+v, want a normal answer", d)
	}
}

func TestGateDefaults(t *testing.T) {
	t.Parallel()
	got := RateConfig{}.withDefaults()
	want := RateConfig{PerSender: rate.Every(3 * time.Second), PerSenderBurst: 5, Global: 50, GlobalBurst: 100, NoticeWindow: time.Minute}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults: got %+v, want %+v", got, want)
	}
}

// TestGateAccountShare: with several gateways routing, an instance keeps
// its share of the account bucket (rate and burst), and follows the
// share as partitions move.
func TestGateAccountShare(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	clock := newFakeClock()
	s := newStore(t, b, StoreDeps{Now: clock.Now})
	mustSet(t, s, op(t, ModeRateLimited, "global"))
	var mu sync.Mutex
	share := 0.25
	g := NewGate(s, RateConfig{Global: 40, GlobalBurst: 20, PerSenderBurst: 100, Share: func() float64 {
		mu.Lock()
		defer mu.Unlock()
		return share
	}}, clock.Now)
	admitted := func(n int) int {
		ok := 0
		for i := range n {
			// A user per message: only the account's bucket limits.
			if d := g.Check(context.Background(), message("weibo", "weibo-main", "u"+strconv.Itoa(i)+"-"+clock.Now().String()), false); d.Refuse == "" && !d.Silent {
				ok++
			}
		}
		return ok
	}
	if got := admitted(50); got != 5 {
		t.Errorf("burst with a quarter share: %d admitted, want 5 (a quarter of 20)", got)
	}
	clock.Add(time.Second)
	if got := admitted(50); got != 5 {
		t.Errorf("one second later with a quarter share: %d admitted, want 5 (a quarter of 40/s, capped by the burst)", got)
	}
	mu.Lock()
	share = 1
	mu.Unlock()
	clock.Add(time.Second)
	admitted(50) // the bucket is resized; what it held stays
	clock.Add(time.Second)
	if got := admitted(50); got != 20 {
		t.Errorf("a second after taking every partition: %d admitted, want the whole burst of 20", got)
	}
}

func TestGateConcurrent(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	s := newStore(t, b, StoreDeps{})
	mustSet(t, s, op(t, ModeRateLimited, "global"))
	mustSet(t, s, op(t, ModeAnnouncement, "global"))
	clock := newFakeClock() // stands still, so no token comes back
	g := NewGate(s, RateConfig{PerSender: 1000, PerSenderBurst: 1000, Global: 1000, GlobalBurst: 1000}, clock.Now)
	var wg sync.WaitGroup
	counts := make([]int, 8)
	for w := range counts {
		wg.Go(func() {
			m := message("webchat", "site", "visitor")
			for range 200 {
				d := g.Check(context.Background(), m, false)
				if d.Refuse == "" && !d.Silent {
					counts[w]++
				}
				// Callers may change what they get back.
				for _, n := range d.InForce {
					if n.Announce != nil {
						n.Announce["en"] = "changed"
					}
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for _, n := range counts {
		total += n
	}
	if total != 1000 {
		t.Errorf("answered: got %d of 1600, want exactly the burst of 1000", total)
	}
	if got := s.Active("webchat", "site").Announcement.Announce["en"]; got == "changed" {
		t.Errorf("the store's announcement was changed through a decision")
	}
}
