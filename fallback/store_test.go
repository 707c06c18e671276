package fallback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"hotline/bus"
	"hotline/bus/bustest"
)

func TestSetValidation(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	clock := newFakeClock()
	s := newStore(t, b, StoreDeps{Now: clock.Now})
	valid := func() Setting {
		return Setting{Mode: ModeReadOnly, Scope: Scope{Platform: "wechat"}, Reason: "db down", SetBy: "alice"}
	}
	tests := []struct {
		name    string
		edit    func(*Setting)
		wantErr string
	}{
		{"unknown mode", func(s *Setting) { s.Mode = "panic" }, `mode: unknown mode "panic"`},
		{"account without platform", func(s *Setting) { s.Scope = Scope{Account: "x"} }, `scope: account "x" without a platform`},
		{"bad platform", func(s *Setting) { s.Scope = Scope{Platform: "we chat"} }, `scope "we chat": platform:`},
		{"platform named global", func(s *Setting) { s.Scope = Scope{Platform: "global"} }, `scope: platform "global" is reserved`},
		{"bad account", func(s *Setting) { s.Scope = Scope{Platform: "wechat", Account: "a b"} }, `scope "wechat/a b": account:`},
		{"no reason", func(s *Setting) { s.Reason = "  " }, "reason: required"},
		{"no set_by", func(s *Setting) { s.SetBy = "" }, "set_by: required"},
		{"control char in set_by", func(s *Setting) { s.SetBy = "al\nice" }, "set_by: control character"},
		{"expiry in the past", func(s *Setting) { s.ExpiresAt = clock.Now().Add(-time.Second) }, "expires_at: "},
		{"announcement without text", func(s *Setting) { s.Mode = ModeAnnouncement }, "announce: the announcement mode needs text"},
		{"empty announcement text", func(s *Setting) {
			s.Mode, s.Announce = ModeAnnouncement, map[string]string{"en": ""}
		}, "announce.en: required"},
		{"bad language", func(s *Setting) { s.Announce = map[string]string{"english": "x", "e n": "y"} }, "announce: "},
		{"long reason", func(s *Setting) { s.Reason = strings.Repeat("x", maxReasonLen+1) }, "reason: 1001 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := valid()
			tc.edit(&set)
			_, err := s.Set(context.Background(), set)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Set: got error %v, want one containing %q", err, tc.wantErr)
			}
			var inv *InvalidError
			if !errors.As(err, &inv) {
				t.Errorf("errors.As(*InvalidError): got false for %v", err)
			}
		})
	}
	if got := s.List(); len(got) != 0 {
		t.Errorf("List after only invalid settings: got %d, want 0", len(got))
	}
}

func TestScopePrecedence(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	s := newStore(t, b, StoreDeps{})
	for _, sc := range []string{"global", "wechat", "wechat/oa-main"} {
		set := op(t, ModeReadOnly, sc)
		set.Reason = sc
		mustSet(t, s, set)
	}
	// Modes combine: review_first only globally, announcement only on
	// one account.
	mustSet(t, s, op(t, ModeReviewFirst, "global"))
	mustSet(t, s, op(t, ModeAnnouncement, "weibo/weibo-main"))

	tests := []struct {
		platform, account string
		wantReadOnly      string // the reason of the winning read_only setting
		wantAnnouncement  bool
	}{
		{"wechat", "oa-main", "wechat/oa-main", false},
		{"wechat", "oa-other", "wechat", false},
		{"weibo", "weibo-main", "global", true},
		{"weibo", "weibo-2", "global", false},
		{"telegram", "tg-main", "global", false},
	}
	for _, tc := range tests {
		t.Run(tc.platform+"/"+tc.account, func(t *testing.T) {
			eff := s.Active(tc.platform, tc.account)
			if eff.ReadOnly == nil || eff.ReadOnly.Reason != tc.wantReadOnly {
				t.Errorf("read_only: got %+v, want the %s setting", eff.ReadOnly, tc.wantReadOnly)
			}
			if eff.ReviewFirst == nil || !eff.ReviewFirst.Scope.IsGlobal() {
				t.Errorf("review_first: got %+v, want the global setting", eff.ReviewFirst)
			}
			if got := eff.On(ModeAnnouncement); got != tc.wantAnnouncement {
				t.Errorf("announcement on: got %v, want %v", got, tc.wantAnnouncement)
			}
			if eff.RateLimited != nil || eff.SMSFallback != nil {
				t.Errorf("modes never set: got rate_limited %v, sms_fallback %v, want nil", eff.RateLimited, eff.SMSFallback)
			}
		})
	}

	// Clearing the account's setting lets the platform's apply again.
	if err := s.Clear(context.Background(), ModeReadOnly, mustScope(t, "wechat/oa-main"), "bob"); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	if got := s.Active("wechat", "oa-main").ReadOnly; got == nil || got.Reason != "wechat" {
		t.Errorf("after clearing the account's: got %+v, want the platform's setting", got)
	}

	list := s.List()
	var got []string
	for _, set := range list {
		got = append(got, set.Mode+" "+set.Scope.String())
	}
	want := "read_only global,read_only wechat,review_first global,announcement weibo/weibo-main"
	if strings.Join(got, ",") != want {
		t.Errorf("List: got %s, want %s", strings.Join(got, ","), want)
	}
}

func TestTwoStoresSeeToggleWithinASecond(t *testing.T) {
	b := bustest.Open(t)
	a := newStore(t, b, StoreDeps{})
	other := newStore(t, b, StoreDeps{})
	ctx := context.Background()

	mustSet(t, a, op(t, ModeReadOnly, "telegram"))
	waitFor(t, "the other store to see read_only on", time.Second, func() bool {
		return other.Active("telegram", "tg-main").ReadOnly != nil
	})
	if err := a.Clear(ctx, ModeReadOnly, mustScope(t, "telegram"), "alice"); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	waitFor(t, "the other store to see read_only off", time.Second, func() bool {
		return other.Active("telegram", "tg-main").ReadOnly == nil
	})

	// A store started later loads what is already set.
	mustSet(t, other, op(t, ModeRateLimited, "global"))
	late := newStore(t, b, StoreDeps{})
	if late.Active("sms", "sms-main").RateLimited == nil {
		t.Errorf("a new store: got rate_limited off, want on (loaded at start)")
	}
}

func TestExpiryIgnoredAtReadTime(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	clock := newFakeClock()
	s := newStore(t, b, StoreDeps{Now: clock.Now})
	set := op(t, ModeReadOnly, "global")
	set.ExpiresAt = clock.Now().Add(time.Hour)
	mustSet(t, s, set)
	if s.Active("wechat", "oa-main").ReadOnly == nil {
		t.Fatalf("before expiry: got read_only off, want on")
	}
	clock.Add(time.Hour)
	if got := s.Active("wechat", "oa-main").ReadOnly; got != nil {
		t.Errorf("at expiry: got %+v, want off at once", got)
	}
	if got := s.List(); len(got) != 0 {
		t.Errorf("List at expiry: got %d settings, want 0", len(got))
	}
	// Clearing what has expired finds nothing; an automatic setting
	// may take the place of an expired operator's.
	if err := s.Clear(context.Background(), ModeReadOnly, Global, "bob"); !errors.Is(err, ErrNotSet) {
		t.Errorf("Clear expired: got %v, want ErrNotSet", err)
	}
	auto := set
	auto.SetBy, auto.ExpiresAt = SetByAuto, time.Time{}
	if _, err := s.Set(context.Background(), auto); err != nil {
		t.Errorf("auto Set over an expired operator setting: got %v, want nil", err)
	}
}

func TestExpiryTwoStoresOneRecord(t *testing.T) {
	b := bustest.Open(t)
	// a is stopped by hand below, for the barrier.
	actx, stopA := context.WithCancel(context.Background())
	a, err := NewStore(actx, b, StoreDeps{})
	if err != nil {
		stopA()
		t.Fatalf("NewStore: %v", err)
	}
	t.Cleanup(func() { stopA(); <-a.Done() })
	other := newStore(t, b, StoreDeps{})
	set := op(t, ModeAnnouncement, "wechat/oa-main")
	set.ExpiresAt = time.Now().Add(1500 * time.Millisecond)
	mustSet(t, a, set)
	waitFor(t, "the other store to see the announcement", time.Second, func() bool {
		return other.Active("wechat", "oa-main").Announcement != nil
	})
	waitFor(t, "both stores to switch it off", 3*time.Second, func() bool {
		return a.Active("wechat", "oa-main").Announcement == nil && other.Active("wechat", "oa-main").Announcement == nil
	})
	waitFor(t, "the key to be deleted", 3*time.Second, func() bool {
		_, err := b.KV(bus.BucketModes).Get(context.Background(), modeKey(ModeAnnouncement, mustScope(t, "wechat/oa-main")))
		return errors.Is(err, jetstream.ErrKeyNotFound)
	})
	waitFor(t, "a mode.expire record", 2*time.Second, func() bool {
		return countActions(auditLog(t, b), ActionModeExpire) > 0
	})
	// A sequence barrier for both janitors, which run on their own
	// tickers. a stops first: once it is done, its janitor has returned,
	// and whatever it was going to write is written. Then markers,
	// settings that expire at once, go straight into the bucket, after
	// the announcement's delete, for other's janitor, the only one left,
	// to expire and record. other's view follows the bucket's watch in
	// order, so the tick that records the first marker works from a view
	// without the announcement, and every tick before it has finished;
	// the second marker, put once the first is recorded, is recorded by
	// a later tick, once everything the first one's tick wrote is
	// written. After it, other can write nothing more about the
	// announcement.
	stopA()
	<-a.Done()
	isMark := func(r AuditRecord) bool { return r.Action == ActionModeExpire && r.Mode == ModeReadOnly }
	for _, scope := range []string{"weibo", "telegram"} {
		mark := op(t, ModeReadOnly, scope)
		mark.SetAt = time.Now().UTC()
		mark.ExpiresAt = mark.SetAt.Add(100 * time.Millisecond)
		data, err := json.Marshal(mark)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.KV(bus.BucketModes).Put(context.Background(), mark.key(), data); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the mode.expire record of the marker on "+scope, 5*time.Second, func() bool {
			return slices.ContainsFunc(auditLog(t, b), func(r AuditRecord) bool { return isMark(r) && r.Scope == scope })
		})
	}
	recs := auditLog(t, b)
	if n := countActions(recs, ActionModeExpire); n != 3 {
		t.Fatalf("mode.expire records: got %d, want 1 and the 2 markers'", n)
	}
	for _, r := range recs {
		if r.Action == ActionModeExpire && !isMark(r) && (r.Mode != ModeAnnouncement || r.Scope != "wechat/oa-main" || r.Setting == nil || r.Setting.SetBy != "alice") {
			t.Errorf("mode.expire record: got %+v, want the announcement on wechat/oa-main set by alice", r)
		}
	}
}

func TestAuditRecordsEveryChange(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	clock := newFakeClock()
	s := newStore(t, b, StoreDeps{Now: clock.Now})
	ctx := context.Background()
	sc := mustScope(t, "weibo")

	mustSet(t, s, op(t, ModeReadOnly, "weibo"))
	clock.Add(time.Second)
	again := op(t, ModeReadOnly, "weibo")
	again.Reason = "still down"
	mustSet(t, s, again)
	clock.Add(time.Second)
	if err := s.Clear(ctx, ModeReadOnly, sc, "bob"); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	auto := Setting{Mode: ModeSMSFallback, Scope: sc, Reason: "weibo sender circuit open", SetBy: SetByAuto}
	mustSet(t, s, auto)
	if err := s.ClearAuto(ctx, ModeSMSFallback, sc); err != nil {
		t.Fatalf("ClearAuto: %v", err)
	}

	want := []struct{ action, mode, by, reason string }{
		{ActionModeSet, ModeReadOnly, "alice", "incident 42"},
		{ActionModeSet, ModeReadOnly, "alice", "still down"},
		{ActionModeClear, ModeReadOnly, "bob", "still down"},
		{ActionModeSet, ModeSMSFallback, SetByAuto, "weibo sender circuit open"},
		{ActionModeClear, ModeSMSFallback, SetByAuto, "weibo sender circuit open"},
	}
	recs := auditLog(t, b)
	if len(recs) != len(want) {
		t.Fatalf("audit records: got %d (%+v), want %d", len(recs), recs, len(want))
	}
	for i, w := range want {
		r := recs[i]
		if r.Action != w.action || r.Mode != w.mode || r.By != w.by || r.Reason != w.reason || r.Scope != "weibo" || r.Setting == nil || r.At.IsZero() {
			t.Errorf("record %d: got %+v, want %s %s by %s (%s) on weibo with its setting", i, r, w.action, w.mode, w.by, w.reason)
		}
	}
	if got, want := recs[1].At, clock.Now().Add(-time.Second); !got.Equal(want) {
		t.Errorf("record 1 at: got %v, want %v (the store's clock)", got, want)
	}

	// ReadAudit's limit keeps the newest, oldest first.
	last2, err := ReadAudit(ctx, b, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(last2) != 2 || last2[0].Action != ActionModeSet || last2[1].Action != ActionModeClear || last2[1].Mode != ModeSMSFallback {
		t.Errorf("ReadAudit(2): got %+v, want the auto set and clear", last2)
	}
}

func TestAutoVersusOperator(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	s := newStore(t, b, StoreDeps{})
	ctx := context.Background()
	wechat := mustScope(t, "wechat")
	auto := Setting{Mode: ModeSMSFallback, Scope: wechat, Reason: "circuit open", SetBy: SetByAuto}

	// An operator's setting is never replaced or cleared by hotline.
	operator := mustSet(t, s, op(t, ModeSMSFallback, "wechat"))
	got, err := s.Set(ctx, auto)
	if !errors.Is(err, ErrOperatorOwns) {
		t.Fatalf("auto Set over operator: got %v, want ErrOperatorOwns", err)
	}
	if got.SetBy != "alice" || !got.SetAt.Equal(operator.SetAt) {
		t.Errorf("auto Set over operator returned: got %+v, want the operator's setting", got)
	}
	if err := s.ClearAuto(ctx, ModeSMSFallback, wechat); !errors.Is(err, ErrOperatorOwns) {
		t.Errorf("ClearAuto of operator: got %v, want ErrOperatorOwns", err)
	}
	if cur := s.Active("wechat", "oa-main").SMSFallback; cur == nil || cur.SetBy != "alice" {
		t.Errorf("after auto attempts: got %+v, want alice's setting in force", cur)
	}
	if err := s.Clear(ctx, ModeSMSFallback, wechat, "alice"); err != nil {
		t.Fatalf("Clear: %v", err)
	}

	// Automatic settings refresh themselves; an operator takes over.
	mustSet(t, s, auto)
	mustSet(t, s, auto)
	mustSet(t, s, op(t, ModeSMSFallback, "wechat"))
	if cur := s.Active("wechat", "oa-main").SMSFallback; cur == nil || cur.SetBy != "alice" {
		t.Errorf("operator over auto: got %+v, want alice's setting", cur)
	}
	if err := s.ClearAuto(ctx, ModeSMSFallback, wechat); !errors.Is(err, ErrOperatorOwns) {
		t.Errorf("ClearAuto after operator took over: got %v, want ErrOperatorOwns", err)
	}

	// Another scope: auto on and off by itself.
	weibo := mustScope(t, "weibo")
	auto.Scope = weibo
	mustSet(t, s, auto)
	if err := s.ClearAuto(ctx, ModeSMSFallback, weibo); err != nil {
		t.Fatalf("ClearAuto: %v", err)
	}
	if err := s.ClearAuto(ctx, ModeSMSFallback, weibo); !errors.Is(err, ErrNotSet) {
		t.Errorf("ClearAuto twice: got %v, want ErrNotSet", err)
	}
	if err := s.Clear(ctx, ModeSMSFallback, weibo, "alice"); !errors.Is(err, ErrNotSet) {
		t.Errorf("Clear of nothing: got %v, want ErrNotSet", err)
	}
	if err := s.Clear(ctx, ModeSMSFallback, wechat, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("Clear without by: got %v, want ErrInvalid", err)
	}
}

func TestClearAutoDoesNotEraseConcurrentOperatorChange(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	s := newStore(t, b, StoreDeps{})
	ctx := context.Background()
	auto := mustSet(t, s, Setting{Mode: ModeSMSFallback, Scope: Global, Reason: "circuit open", SetBy: SetByAuto})
	kv := b.KV(bus.BucketModes)
	e, err := kv.Get(ctx, auto.key())
	if err != nil {
		t.Fatal(err)
	}
	// An operator's write lands between the janitor's (or ClearAuto's)
	// read and its delete: the delete names the old revision and fails.
	mustSet(t, s, op(t, ModeSMSFallback, "global"))
	err = kv.Delete(ctx, auto.key(), jetstream.LastRevision(e.Revision()))
	if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		t.Fatalf("delete with a stale revision: got %v, want ErrKeyRevisionMismatch", err)
	}
	if err := s.ClearAuto(ctx, ModeSMSFallback, Global); !errors.Is(err, ErrOperatorOwns) {
		t.Errorf("ClearAuto: got %v, want ErrOperatorOwns", err)
	}
	if cur := s.Active("sms", "sms-main").SMSFallback; cur == nil || cur.SetBy != "alice" {
		t.Errorf("got %+v, want alice's setting in force", cur)
	}
}

func TestUnreadableValueSwitchesNothingOn(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	s := newStore(t, b, StoreDeps{})
	ctx := context.Background()
	kv := b.KV(bus.BucketModes)
	if _, err := kv.Put(ctx, "read_only.global", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	// A value under the wrong key is as bad as garbage.
	if _, err := kv.Put(ctx, "read_only.wechat", []byte(`{"mode":"read_only","scope":"global","reason":"x","set_by":"y"}`)); err != nil {
		t.Fatal(err)
	}
	mustSet(t, s, op(t, ModeReviewFirst, "global")) // a marker that the watch got this far
	other := newStore(t, b, StoreDeps{})
	for _, st := range []*Store{s, other} {
		waitFor(t, "the marker setting", time.Second, func() bool { return st.Active("wechat", "a").ReviewFirst != nil })
		if eff := st.Active("wechat", "a"); eff.ReadOnly != nil {
			t.Errorf("read_only from unreadable values: got %+v, want off", eff.ReadOnly)
		}
	}
	// Set replaces an unreadable value.
	mustSet(t, s, op(t, ModeReadOnly, "global"))
	if s.Active("wechat", "a").ReadOnly == nil {
		t.Errorf("after Set over garbage: got read_only off, want on")
	}
}

func TestModeActiveGauge(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	reg := prometheus.NewRegistry()
	s := newStore(t, b, StoreDeps{Registry: reg})
	labels := map[string]string{"mode": ModeReadOnly, "scope": "wechat/oa-main"}
	mustSet(t, s, op(t, ModeReadOnly, "wechat/oa-main"))
	if v, ok := metricValue(t, reg, "hotline_mode_active", labels); !ok || v != 1 {
		t.Errorf("hotline_mode_active after set: got %v (present %v), want 1", v, ok)
	}
	if err := s.Clear(context.Background(), ModeReadOnly, mustScope(t, "wechat/oa-main"), "bob"); err != nil {
		t.Fatal(err)
	}
	if v, ok := metricValue(t, reg, "hotline_mode_active", labels); !ok || v != 0 {
		t.Errorf("hotline_mode_active after clear: got %v (present %v), want 0", v, ok)
	}
	// A second store on the same registry shares the series.
	newStore(t, b, StoreDeps{Registry: reg})
}

func TestConcurrentChangesEachAuditedOnce(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	stores := []*Store{newStore(t, b, StoreDeps{}), newStore(t, b, StoreDeps{})}
	const workers, each = 6, 5
	results := make([][]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			s := stores[w%2]
			for i := range each {
				set := Setting{Mode: ModeSMSFallback, Scope: Scope{Platform: "telegram"}, Reason: fmt.Sprintf("w%d-%d", w, i), SetBy: "op"}
				if w%3 == 0 {
					set.SetBy = SetByAuto // loses to any operator setting in force
				}
				_, err := s.Set(context.Background(), set)
				results[w] = append(results[w], err)
			}
		})
	}
	wg.Wait()
	stored := 0
	for w, errs := range results {
		for i, err := range errs {
			switch {
			case err == nil:
				stored++
			case errors.Is(err, ErrOperatorOwns) && w%3 == 0:
			default:
				t.Errorf("worker %d set %d: %v", w, i, err)
			}
		}
	}
	if n := countActions(auditLog(t, b), ActionModeSet); n != stored {
		t.Errorf("mode.set records: got %d, want one per stored change (%d)", n, stored)
	}
	e, err := b.KV(bus.BucketModes).Get(context.Background(), modeKey(ModeSMSFallback, Scope{Platform: "telegram"}))
	if err != nil {
		t.Fatal(err)
	}
	var last Setting
	if err := json.Unmarshal(e.Value(), &last); err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		waitFor(t, fmt.Sprintf("store %d to converge", i), time.Second, func() bool {
			cur := s.Active("telegram", "tg-main").SMSFallback
			return cur != nil && cur.Reason == last.Reason
		})
	}
}

func TestNewStoreWithEndedContext(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if s, err := NewStore(ctx, b, StoreDeps{}); err == nil {
		t.Errorf("NewStore with an ended context: got %v, nil, want an error", s)
	}
}
