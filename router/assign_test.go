package router

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"hotline/bus/bustest"
	"hotline/envelope"
)

// Agents are given the most urgent ticket in a language they speak; p1
// and angry users go to a senior agent until half their SLA has passed.
func TestNextHandoffByPriorityLanguageAndSeniority(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cfg := testConfig()
	cfg.Agents = []Agent{{Name: "mei", Languages: []string{"zh", "en"}, Senior: true}, {Name: "raj", Languages: []string{"en", "ar"}}, {Name: "li", Languages: []string{"zh"}}}
	r := newRouter(t, b, cfg, Deps{Now: clock})
	ctx := context.Background()
	open := func(user string, p envelope.Priority, lang string, angry bool) string {
		t.Helper()
		at := clock()
		h := &envelope.Handoff{ID: envelope.NewID(at), Platform: "telegram", Account: "tg-main", Conversation: "telegram:tg-main:" + user,
			User: envelope.Party{ID: user}, Priority: p, Lang: lang, Senior: angry, CreatedAt: at, SLADeadline: at.Add(slaByPriority[p])}
		if err := r.recordHandoff(ctx, h); err != nil {
			t.Fatal(err)
		}
		return h.ID
	}
	next := func(agent string) string {
		t.Helper()
		st, err := r.NextHandoff(ctx, agent)
		if err != nil {
			t.Fatalf("next for %s: %v", agent, err)
		}
		if st.Agent != agent || st.State != StateClaimed {
			t.Fatalf("next for %s: %+v, want it claimed by them", agent, st)
		}
		return st.ID
	}
	urgent := open("1", envelope.P1, "en", false)
	chinese := open("2", envelope.P3, "zh-Hant", false)
	arabic := open("3", envelope.P2, "ar", false)
	if got := next("raj"); got != arabic {
		t.Fatalf("raj got %s, want the Arabic p2 (the p1 waits for a senior)", got)
	}
	if got := next("li"); got != chinese {
		t.Fatalf("li got %s, want the zh-Hant p3 (li does not speak English)", got)
	}
	if got := next("mei"); got != urgent {
		t.Fatalf("mei got %s, want the p1", got)
	}

	angry := open("4", envelope.P2, "en", true)
	if _, err := r.NextHandoff(ctx, "raj"); !errors.Is(err, ErrNoHandoff) {
		t.Fatalf("raj was given an angry user's ticket at once: %v", err)
	}
	mu.Lock()
	now = now.Add(slaByPriority[envelope.P2] / 2)
	mu.Unlock()
	if got := next("raj"); got != angry {
		t.Fatalf("halfway through its SLA, raj got %s, want the angry user's ticket", got)
	}
	thai := open("5", envelope.P3, "th", false)
	if got := next("li"); got != thai {
		t.Fatalf("li got %s, want the Thai ticket nobody speaks", got)
	}
	last := open("6", envelope.P1, "ar", true)
	if got := next("someone-unlisted"); got != last {
		t.Fatalf("an agent the configuration does not list got %s, want any ticket", got)
	}
	if _, err := r.NextHandoff(ctx, "mei"); !errors.Is(err, ErrNoHandoff) {
		t.Fatalf("with nothing open: %v, want ErrNoHandoff", err)
	}
}
