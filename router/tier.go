package router

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"hotline/envelope"
	"hotline/fallback"
)

// Tier is a class of customers the service ranks above the rest (VIPs,
// creators). Their handoffs are raised Raise priority levels (p1 at
// most) and held to SLA, first-response targets tighter than the
// standard ones. The user is still promised the standard target of the
// priority they get: the tier is how the service does better than it
// says, not a different promise per person.
type Tier struct {
	Raise int                                 `json:"raise"`
	SLA   map[envelope.Priority]time.Duration `json:"sla,omitempty"` // missing: the standard target
}

// DefaultTiers are the tiers known without configuration.
func DefaultTiers() map[string]Tier {
	return map[string]Tier{
		"vip":     {Raise: 1, SLA: map[envelope.Priority]time.Duration{envelope.P1: 15 * time.Second, envelope.P2: 2 * time.Minute, envelope.P3: 30 * time.Minute}},
		"creator": {Raise: 1},
	}
}

// raise is p moved up n levels, p1 at most.
func raise(p envelope.Priority, n int) envelope.Priority {
	levels := []envelope.Priority{envelope.P1, envelope.P2, envelope.P3}
	i := slices.Index(levels, p)
	if i < 0 {
		return p
	}
	return levels[max(i-n, 0)]
}

// sla is the first-response target of a handoff at p for this tier.
func (t Tier) sla(p envelope.Priority) time.Duration {
	if d, ok := t.SLA[p]; ok && d > 0 {
		return d
	}
	return slaByPriority[p]
}

// TierSetting is a conversation's tier as an operator set it.
type TierSetting struct {
	Conversation string    `json:"conversation"`
	Tier         string    `json:"tier"`
	SetBy        string    `json:"set_by"`
	SetAt        time.Time `json:"set_at"`
	Reason       string    `json:"reason,omitempty"`
}

// ErrUnknownTier: the tier is not configured.
var ErrUnknownTier = errors.New("unknown tier")

// ErrBadConversation: not a conversation key.
var ErrBadConversation = errors.New("bad conversation")

// ErrNoTier: the conversation has no tier set.
var ErrNoTier = errors.New("no tier set")

func tierKey(conversation string) string {
	return "u." + base64.RawURLEncoding.EncodeToString([]byte(conversation))
}

// SetTier gives a conversation's user a tier, audited.
func (r *Router) SetTier(ctx context.Context, conversation, tier, by, reason string) (TierSetting, error) {
	if _, ok := r.cfg.Tiers[tier]; !ok {
		return TierSetting{}, fmt.Errorf("%w %q (have: %s)", ErrUnknownTier, tier, strings.Join(slices.Sorted(maps.Keys(r.cfg.Tiers)), ", "))
	}
	if parts := strings.SplitN(conversation, ":", 3); len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return TierSetting{}, fmt.Errorf("%w: %q is not a conversation (platform:account:user)", ErrBadConversation, conversation)
	}
	st := TierSetting{Conversation: conversation, Tier: tier, SetBy: by, SetAt: r.now().UTC(), Reason: reason}
	data, _ := json.Marshal(st)
	rev, err := r.tiers.Put(ctx, tierKey(conversation), data)
	if err != nil {
		return TierSetting{}, fmt.Errorf("tier: %w", err)
	}
	rec := fallback.AuditRecord{Action: "tier.set", Scope: conversation, By: by, Reason: reason, Text: tier, At: st.SetAt}
	return st, fallback.WriteAudit(ctx, r.bus, rec, fmt.Sprintf("tier.set:%s:%d", tierKey(conversation), rev))
}

// ClearTier takes a conversation's tier away, audited.
func (r *Router) ClearTier(ctx context.Context, conversation, by, reason string) error {
	e, err := r.tiers.Get(ctx, tierKey(conversation))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return ErrNoTier
	}
	if err != nil {
		return fmt.Errorf("tier: %w", err)
	}
	if err := r.tiers.Delete(ctx, tierKey(conversation), jetstream.LastRevision(e.Revision())); err != nil {
		return fmt.Errorf("tier: %w", err)
	}
	rec := fallback.AuditRecord{Action: "tier.clear", Scope: conversation, By: by, Reason: reason, At: r.now().UTC()}
	return fallback.WriteAudit(ctx, r.bus, rec, fmt.Sprintf("tier.clear:%s:%d", tierKey(conversation), e.Revision()))
}

// Tiers lists the conversations that have a tier.
func (r *Router) Tiers(ctx context.Context) ([]TierSetting, error) {
	lister, err := r.tiers.ListKeys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return []TierSetting{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tiers: %w", err)
	}
	defer func() { _ = lister.Stop() }()
	out := []TierSetting{}
	for key := range lister.Keys() {
		e, err := r.tiers.Get(ctx, key)
		if err != nil {
			continue // cleared between list and get
		}
		var st TierSetting
		if json.Unmarshal(e.Value(), &st) == nil {
			out = append(out, st)
		}
	}
	slices.SortFunc(out, func(a, b TierSetting) int { return strings.Compare(a.Conversation, b.Conversation) })
	return out, nil
}

// tierOf is the tier of m's user: the one an operator set, else the
// lookup's, "" for none. A failure to read either is logged and taken as
// none: a missing rank must not keep the user from an agent. A tier not
// (or no longer) configured counts as none.
func (r *Router) tierOf(ctx context.Context, m *envelope.Message) string {
	tier := ""
	e, err := r.tiers.Get(ctx, tierKey(m.Conversation))
	switch {
	case err == nil:
		var st TierSetting
		if json.Unmarshal(e.Value(), &st) == nil {
			tier = st.Tier
		}
	case !errors.Is(err, jetstream.ErrKeyNotFound):
		r.log.Warn("tier read failed; handled as no tier", "err", err)
	}
	if tier == "" && r.tierLookup != nil {
		tier = r.tierLookup.tier(ctx, m)
	}
	if _, ok := r.cfg.Tiers[tier]; !ok {
		return ""
	}
	return tier
}
