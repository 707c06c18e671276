package router

import (
	"context"
	"strings"
	"testing"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
	"hotline/fallback"
)

// modeStore returns a mode store on b and the real gate over it, for
// tests that change modes while the router runs.
func modeStore(t *testing.T, b *bus.Bus) (*fallback.Store, *fallback.Gate) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	store, err := fallback.NewStore(ctx, b, fallback.StoreDeps{})
	if err != nil {
		t.Fatal(err)
	}
	return store, fallback.NewGate(store, fallback.RateConfig{}, nil)
}

// setMode switches mode on globally and returns the stored setting.
func setMode(t *testing.T, store *fallback.Store, mode string, announce map[string]string) fallback.Setting {
	t.Helper()
	set, err := store.Set(context.Background(), fallback.Setting{Mode: mode, Reason: "incident 12", SetBy: "test", Announce: announce})
	if err != nil {
		t.Fatalf("set %s: %v", mode, err)
	}
	return set
}

// replyTo returns the one reply to m (its first when there are several).
func replyTo(t *testing.T, b *bus.Bus, m envelope.Message) string {
	t.Helper()
	for _, rep := range replies(t, b, "hotline.out.") {
		if rep.InReplyTo == m.ID {
			return rep.Text
		}
	}
	t.Fatalf("no reply to %q", m.Text)
	return ""
}

// say processes text from user and returns the first reply to it.
func say(t *testing.T, r *Router, b *bus.Bus, user, text string) string {
	t.Helper()
	m := inbound(user, text)
	process(t, r, m)
	return replyTo(t, b, m)
}

// TestStatusListsEveryMode: STATUS under each mode, in Chinese, English
// and Arabic, names the mode (its built-in text, or the operator's text
// when one was given) and never says that all is well.
func TestStatusListsEveryMode(t *testing.T) {
	t.Parallel()
	announce := map[string]string{"zh": "支付通道故障，正在修复。", "en": "Payments are down; we are on it.", "ar": "المدفوعات متوقفة ونعمل على إصلاحها."}
	tests := []struct {
		mode     string
		announce map[string]string
	}{
		{mode: fallback.ModeReadOnly},
		{mode: fallback.ModeReadOnly, announce: announce},
		{mode: fallback.ModeRateLimited},
		{mode: fallback.ModeRateLimited, announce: announce},
		{mode: fallback.ModeReviewFirst},
		{mode: fallback.ModeReviewFirst, announce: announce},
		{mode: fallback.ModeSMSFallback},
		{mode: fallback.ModeSMSFallback, announce: announce},
		{mode: fallback.ModeAnnouncement, announce: announce},
	}
	for _, tc := range tests {
		name := tc.mode
		if tc.announce != nil {
			name += " with an announcement"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := bustest.Open(t)
			store, gate := modeStore(t, b)
			setMode(t, store, tc.mode, tc.announce)
			r := newRouter(t, b, testConfig(), Deps{Gate: gate})
			for _, lang := range []string{"zh", "en", "ar"} {
				user := "status-" + lang
				say(t, r, b, user, "lang "+lang)
				got := say(t, r, b, user, "status")
				want := tc.announce[lang]
				if want == "" {
					want = r.catalog.Text(lang, "mode_"+tc.mode)
				}
				if want == "" || !strings.Contains(got, want) {
					t.Errorf("%s: STATUS %q does not say %q", lang, got, want)
				}
				if got != r.catalog.Text(lang, "status_incident", "announcement", want) {
					t.Errorf("%s: STATUS %q is not the service notice of %q", lang, got, want)
				}
				if normal := r.catalog.Text(lang, "status"); strings.Contains(got, normal) {
					t.Errorf("%s: STATUS says %q while %s is on", lang, normal, tc.mode)
				}
			}
		})
	}
}

func TestBuiltInModeTextsInEveryLanguage(t *testing.T) {
	t.Parallel()
	c, err := LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range c.Codes() {
		for _, mode := range fallback.Modes() {
			if mode == fallback.ModeAnnouncement {
				continue // its text is the operator's, always given
			}
			if t1, en := c.Lang(code).Texts["mode_"+mode], c.Lang("en").Texts["mode_"+mode]; t1 == "" || code != "en" && t1 == en {
				t.Errorf("%s: no text of its own for mode %s", code, mode)
			}
		}
	}
}

// TestStatusListsModesMostSevereFirst: several modes at once are all
// listed, the one that takes most from users first.
func TestStatusListsModesMostSevereFirst(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	store, gate := modeStore(t, b)
	setMode(t, store, fallback.ModeAnnouncement, map[string]string{"en": "Payments are delayed."})
	setMode(t, store, fallback.ModeSMSFallback, nil)
	setMode(t, store, fallback.ModeReadOnly, map[string]string{"en": "Database failover until 14:00 UTC."})
	r := newRouter(t, b, testConfig(), Deps{Gate: gate})
	say(t, r, b, "sev", "lang en")
	got := say(t, r, b, "sev", "status")
	want := r.catalog.Text("en", "status_incident", "announcement",
		"Database failover until 14:00 UTC.\n\n"+r.catalog.Text("en", "mode_sms_fallback")+"\n\nPayments are delayed.")
	if got != want {
		t.Fatalf("STATUS with three modes:\ngot  %q\nwant %q", got, want)
	}
}

// TestAnnouncementOncePerSetting: the operator's text of any mode rides
// on the first reply a conversation gets after the setting started, once
// per conversation and setting; a redelivery does not count twice, and
// the same mode set again is news again. STATUS always shows it.
func TestAnnouncementOncePerSetting(t *testing.T) {
	t.Parallel()
	const notice = "Database failover until 14:00 UTC."
	b := bustest.Open(t)
	store, gate := modeStore(t, b)
	setMode(t, store, fallback.ModeReviewFirst, map[string]string{"en": notice})
	r := newRouter(t, b, testConfig(), Deps{Gate: gate})
	steps := []struct {
		user, text string
		announced  bool
	}{
		{"ann-a", "help+en", true},
		{"ann-a", "menu", false},
		{"ann-b", "help+en", true}, // another conversation hears it too
		{"ann-a", "status", true},  // STATUS always shows it
		{"ann-a", "help", false},
		{"ann-c", "lang en", true},
	}
	for i, st := range steps {
		got := say(t, r, b, st.user, st.text)
		if strings.Contains(got, notice) != st.announced {
			t.Errorf("step %d (%s %q): reply %q; announced: got %v, want %v", i, st.user, st.text, got, !st.announced, st.announced)
		}
	}
	// A message decided again (redelivered after its session was
	// committed) finds the announcement given and nothing new to send.
	m := inbound("ann-d", "help+en")
	process(t, r, m)
	process(t, r, m)
	n := 0
	for _, rep := range replies(t, b, "hotline.out.") {
		if rep.InReplyTo == m.ID {
			n++
		}
	}
	if n != 1 || !strings.Contains(replyTo(t, b, m), notice) {
		t.Errorf("a redelivered message: %d replies, want the one with the announcement", n)
	}
	if got := say(t, r, b, "ann-d", "menu"); strings.Contains(got, notice) {
		t.Errorf("after a redelivery the announcement came again: %q", got)
	}
	// Set again, the mode is a new setting: news again, once.
	if err := store.Clear(context.Background(), fallback.ModeReviewFirst, fallback.Global, "test"); err != nil {
		t.Fatal(err)
	}
	bustest.WaitFor(t, "the mode to clear", func() bool { return !store.Active("telegram", "tg-main").Any() })
	if got := say(t, r, b, "ann-a", "menu"); strings.Contains(got, notice) {
		t.Errorf("with the mode cleared: %q", got)
	}
	setMode(t, store, fallback.ModeReviewFirst, map[string]string{"en": notice})
	if got := say(t, r, b, "ann-a", "menu"); !strings.Contains(got, notice) {
		t.Errorf("the mode set again: %q, want the announcement again", got)
	}
	if got := say(t, r, b, "ann-a", "menu"); strings.Contains(got, notice) {
		t.Errorf("the mode set again, second reply: %q", got)
	}
	sess, err := r.sessions.Load(context.Background(), envelope.ConversationKey("telegram", "tg-main", "ann-a"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sess.Announced) != 1 {
		t.Errorf("session remembers %d announced settings %v, want only the one in force", len(sess.Announced), sess.Announced)
	}
}

// TestAnnouncementGoesWithWhatTheUserGets: under review_first the
// announcement is in the "we are checking" reply the user gets now, not
// in the held answer an operator may reject.
func TestAnnouncementGoesWithWhatTheUserGets(t *testing.T) {
	t.Parallel()
	const notice = "New answers are checked by a person today."
	b := bustest.Open(t)
	store, gate := modeStore(t, b)
	setMode(t, store, fallback.ModeReviewFirst, map[string]string{"en": notice})
	r := newRouter(t, b, testConfig(), Deps{Gate: gate})
	m := inbound("held", "I forgot my password") // English words: answered in English
	process(t, r, m)
	if got := replyTo(t, b, m); got != r.catalog.Text("en", "review_pending")+"\n\n"+notice {
		t.Errorf("pending notice: %q", got)
	}
	held := bustest.Messages(t, b, bus.StreamReview, envelope.SubjectReview)
	if len(held) != 1 || strings.Contains(string(held[0]), notice) {
		t.Errorf("held answers %d, want 1 without the announcement", len(held))
	}
}
