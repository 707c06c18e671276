package router

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"hotline/envelope"
)

// Agent is one person answering handoffs (router.agents in the
// configuration).
type Agent struct {
	Name      string
	Languages []string // empty: any
	Senior    bool
}

// ErrNoHandoff: nothing is waiting that the agent should take.
var ErrNoHandoff = errors.New("no open handoff for you")

// NextHandoff claims for agent the open handoff they should take now:
// the most urgent (priority, then the nearest SLA deadline) in a
// language they speak. p1 tickets and angry users wait for a senior
// agent until half their SLA has passed; after that anyone may take them,
// since a late answer from anyone beats a late answer from a senior. A
// ticket in a language no configured agent speaks goes to anyone, and so
// does every ticket when agent is not configured: the list guides, it
// does not lock anyone out.
func (r *Router) NextHandoff(ctx context.Context, agent string) (HandoffState, error) {
	open, err := r.ListHandoffs(ctx, StateOpen)
	if err != nil {
		return HandoffState{}, err
	}
	now := r.now()
	me, known := r.agent(agent)
	var candidates []HandoffState
	for _, h := range open {
		if !known || r.mayTake(me, h, now) {
			candidates = append(candidates, h)
		}
	}
	slices.SortStableFunc(candidates, func(a, b HandoffState) int {
		return cmp.Or(strings.Compare(string(a.Priority), string(b.Priority)), a.SLADeadline.Compare(b.SLADeadline))
	})
	for _, h := range candidates {
		st, err := r.Claim(ctx, h.ID, agent)
		if errors.Is(err, ErrClaimedByOther) || errors.Is(err, ErrHandoffClosed) {
			continue // another agent was quicker
		}
		return st, err
	}
	return HandoffState{}, ErrNoHandoff
}

func (r *Router) agent(name string) (Agent, bool) {
	i := slices.IndexFunc(r.cfg.Agents, func(a Agent) bool { return a.Name == name })
	if i < 0 {
		return Agent{}, false
	}
	return r.cfg.Agents[i], true
}

// mayTake reports whether a (a configured agent) should be given h now.
func (r *Router) mayTake(a Agent, h HandoffState, now time.Time) bool {
	if !speaks(a, h.Lang) && slices.ContainsFunc(r.cfg.Agents, func(o Agent) bool { return speaks(o, h.Lang) }) {
		return false
	}
	needsSenior := h.Priority == envelope.P1 || h.Senior
	if !needsSenior || a.Senior || !slices.ContainsFunc(r.cfg.Agents, func(o Agent) bool { return o.Senior }) {
		return true
	}
	halfway := h.CreatedAt.Add(h.SLADeadline.Sub(h.CreatedAt) / 2)
	return !now.Before(halfway)
}

// speaks reports whether a answers in lang: any language when they list
// none, and zh-Hant counts as zh (the base language).
func speaks(a Agent, lang string) bool {
	if len(a.Languages) == 0 || lang == "" {
		return true
	}
	base, _, _ := strings.Cut(lang, "-")
	return slices.ContainsFunc(a.Languages, func(l string) bool { return l == lang || l == base })
}
