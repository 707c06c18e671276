package router

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hotline/bus/bustest"
	"hotline/envelope"
)

// A VIP's unmatched question opens a ticket one priority level up, held
// to the tier's first-response target; the same question from anyone
// else does not.
func TestVIPUnmatchedQuestionIsRaised(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	ctx := context.Background()
	vip, other := inbound("70", "my order arrived late"), inbound("71", "my order arrived late")
	if _, err := r.SetTier(ctx, vip.Conversation, "vip", "ops", "top seller"); err != nil {
		t.Fatal(err)
	}
	process(t, r, vip)
	process(t, r, other)
	got := map[string]envelope.Handoff{}
	for _, h := range handoffs(t, b) {
		got[h.Conversation] = h
	}
	plain, raised := got[other.Conversation], got[vip.Conversation]
	if plain.Priority != envelope.P3 || plain.Tier != "" || plain.SLADeadline.Sub(plain.CreatedAt) != slaByPriority[envelope.P3] {
		t.Fatalf("the plain user's ticket: %s, tier %q, SLA %v; want p3 with the standard 2h", plain.Priority, plain.Tier, plain.SLADeadline.Sub(plain.CreatedAt))
	}
	if raised.Priority != envelope.P2 || raised.Tier != "vip" || raised.SLADeadline.Sub(raised.CreatedAt) != 2*time.Minute {
		t.Fatalf("the VIP's ticket: %s, tier %q, SLA %v; want p2, vip, 2m", raised.Priority, raised.Tier, raised.SLADeadline.Sub(raised.CreatedAt))
	}
	if !strings.Contains(strings.Join(raised.Reasons, "; "), "tier vip: p3 raised to p2") {
		t.Fatalf("the ticket does not say why it was raised: %v", raised.Reasons)
	}
	st, _, err := r.GetHandoff(ctx, raised.ID)
	if err != nil || st.Tier != "vip" {
		t.Fatalf("the agents' record: %+v, %v; want the tier on the ticket", st, err)
	}

	if _, err := r.SetTier(ctx, vip.Conversation, "platinum", "ops", ""); !errors.Is(err, ErrUnknownTier) {
		t.Fatalf("an unknown tier: %v", err)
	}
	if list, err := r.Tiers(ctx); err != nil || len(list) != 1 || list[0].Tier != "vip" || list[0].SetBy != "ops" {
		t.Fatalf("Tiers: %+v, %v", list, err)
	}
	if err := r.ClearTier(ctx, vip.Conversation, "ops", "no longer"); err != nil {
		t.Fatal(err)
	}
	if err := r.ClearTier(ctx, vip.Conversation, "ops", ""); !errors.Is(err, ErrNoTier) {
		t.Fatalf("clearing twice: %v, want ErrNoTier", err)
	}
}

func TestRaise(t *testing.T) {
	for _, tc := range []struct {
		p    envelope.Priority
		n    int
		want envelope.Priority
	}{{envelope.P3, 1, envelope.P2}, {envelope.P3, 2, envelope.P1}, {envelope.P2, 5, envelope.P1}, {envelope.P1, 1, envelope.P1}, {envelope.P2, 0, envelope.P2}} {
		if got := raise(tc.p, tc.n); got != tc.want {
			t.Errorf("raise(%s, %d) = %s, want %s", tc.p, tc.n, got, tc.want)
		}
	}
}

// The service's own system says who is a VIP: asked once per user per
// cache period; when it fails, the ticket still opens, unraised.
func TestTierLookup(t *testing.T) {
	t.Parallel()
	var asked atomic.Int32
	var failing atomic.Bool
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		asked.Add(1)
		if failing.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		if req.Header.Get("Authorization") != "Bearer crm-token" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		tier := ""
		if req.URL.Query().Get("user") == "90" && req.URL.Query().Get("conversation") == "telegram:tg-main:90" {
			tier = "vip"
		}
		fmt.Fprintf(w, `{"tier": %q}`, tier)
	}))
	t.Cleanup(crm.Close)
	b := bustest.Open(t)
	cfg := testConfig()
	cfg.TierLookup = TierLookup{URL: crm.URL, Token: "crm-token"}
	r := newRouter(t, b, cfg, Deps{})
	for _, m := range []envelope.Message{inbound("90", "my order arrived late"), inbound("90", "and the box was open"), inbound("91", "my order arrived late")} {
		process(t, r, m)
	}
	prio := map[string][]envelope.Priority{}
	for _, h := range handoffs(t, b) {
		prio[h.Conversation] = append(prio[h.Conversation], h.Priority)
	}
	if got := prio["telegram:tg-main:90"]; len(got) == 0 || got[0] != envelope.P2 {
		t.Fatalf("the CRM's VIP: %v, want p2", got)
	}
	if got := prio["telegram:tg-main:91"]; len(got) != 1 || got[0] != envelope.P3 {
		t.Fatalf("an ordinary user: %v, want p3", got)
	}
	if n := asked.Load(); n != 2 {
		t.Fatalf("the CRM was asked %d times for 2 users, want 2 (cached)", n)
	}
	failing.Store(true)
	process(t, r, inbound("92", "my order arrived late"))
	opened := false
	for _, h := range handoffs(t, b) {
		if h.Conversation == "telegram:tg-main:92" {
			if opened = true; h.Priority != envelope.P3 {
				t.Fatalf("with the CRM down: %s, want the ticket opened at p3", h.Priority)
			}
		}
	}
	if !opened {
		t.Fatal("with the CRM down, no ticket opened")
	}
}
