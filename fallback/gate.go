package fallback

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"hotline/envelope"
)

// Refuse text keys the gate hands the router.
const (
	RefuseReadOnly = "read_only"
	RefuseBusy     = "busy"
)

// RateConfig sizes rate_limited mode's token buckets. Zero fields take
// the defaults noted.
type RateConfig struct {
	// PerSender is each conversation's rate. Default: one message every
	// 3 seconds.
	PerSender rate.Limit
	// PerSenderBurst is how many messages a conversation may send at
	// once. Default 5.
	PerSenderBurst int
	// Global is each platform account's rate. Default 50 per second.
	Global rate.Limit
	// GlobalBurst default 100.
	GlobalBurst int
	// NoticeWindow is how long a user over the limit hears nothing after
	// the one "busy" notice. Default one minute.
	NoticeWindow time.Duration
	// Share is this instance's fraction of the routing when several
	// gateways share the work (nil: all of it). Global and GlobalBurst
	// are for the whole cluster, so each instance keeps that fraction of
	// them: conversations are spread over instances by the same split,
	// so the instances' buckets add up to the configured one. A
	// sender's bucket needs no split: one instance routes a
	// conversation at a time.
	Share func() float64
}

func (c RateConfig) withDefaults() RateConfig {
	if c.PerSender <= 0 {
		c.PerSender = rate.Every(3 * time.Second)
	}
	if c.PerSenderBurst <= 0 {
		c.PerSenderBurst = 5
	}
	if c.Global <= 0 {
		c.Global = 50
	}
	if c.GlobalBurst <= 0 {
		c.GlobalBurst = 100
	}
	if c.NoticeWindow <= 0 {
		c.NoticeWindow = time.Minute
	}
	return c
}

// limiterIdle is how long a limiter may go unused before it is dropped. A
// dropped limiter comes back full, which after this long it would be
// anyway (the default per-sender bucket refills in 15 s).
const limiterIdle = 10 * time.Minute

// pruneEvery bounds how often the limiter maps are swept.
const pruneEvery = time.Minute

// Gate decides, per inbound message, how the modes in force change its
// handling. It implements the router's Gate interface and is safe for
// concurrent use.
type Gate struct {
	store *Store
	cfg   RateConfig
	now   func() time.Time
	idle  time.Duration

	mu        sync.Mutex
	senders   map[string]*senderLimit // by conversation
	accounts  map[string]*accountLimit
	lastPrune time.Time
}

type senderLimit struct {
	lim         *rate.Limiter
	lastSeen    time.Time
	noticeUntil time.Time // silence until then after a busy notice
}

type accountLimit struct {
	lim      *rate.Limiter
	lastSeen time.Time
	share    float64 // the Share its limit was last sized for
}

// NewGate returns a gate reading modes from store. now is the clock the
// token buckets run on (nil: time.Now).
func NewGate(store *Store, cfg RateConfig, now func() time.Time) *Gate {
	if now == nil {
		now = time.Now
	}
	cfg = cfg.withDefaults()
	return &Gate{
		store:    store,
		cfg:      cfg,
		now:      now,
		idle:     max(limiterIdle, cfg.NoticeWindow),
		senders:  map[string]*senderLimit{},
		accounts: map[string]*accountLimit{},
	}
}

// Check decides for one inbound message. static says the answer would be
// static help (help, menu, status, FAQ), which read_only still gives.
// Rate limits apply to static answers too: a flood of "help" is a flood.
func (g *Gate) Check(_ context.Context, m *envelope.Message, static bool) Decision {
	if m == nil {
		return Decision{}
	}
	eff := g.store.Active(m.Platform, m.Account)
	if m.Platform == envelope.PlatformSMS {
		// SMS users are already on the channel sms_fallback moves
		// replies to (the outbound loop never reroutes SMS): for them
		// the mode is not in force.
		eff.SMSFallback = nil
	}
	d := Decision{SMSFallback: eff.SMSFallback != nil, InForce: Notices(eff)}
	if eff.RateLimited != nil {
		switch g.limit(m) {
		case overNotice:
			d.Refuse = RefuseBusy
		case overSilent:
			d.Silent = true
		}
	}
	if eff.ReadOnly != nil && !static {
		// The handoff is queued even when the user is over the rate
		// limit: in read-only mode nothing they ask may be lost.
		d.DeferHandoff = true
		if d.Refuse == "" && !d.Silent {
			d.Refuse = RefuseReadOnly
		}
	}
	if eff.ReviewFirst != nil {
		d.HoldForReview = true
	}
	g.store.metrics.decisions.WithLabelValues(outcome(d)).Inc()
	return d
}

func outcome(d Decision) string {
	switch {
	case d.Silent:
		return outcomeSilent
	case d.Refuse == RefuseBusy:
		return outcomeBusy
	case d.Refuse == RefuseReadOnly:
		return outcomeReadOnly
	case d.HoldForReview:
		return outcomeReview
	case slices.ContainsFunc(d.InForce, func(n Notice) bool { return n.Mode == ModeAnnouncement }):
		return outcomeAnnounce
	}
	return outcomeNormal
}

type limitResult int

const (
	allowed limitResult = iota
	overNotice
	overSilent
)

// limit takes a token from the sender's and the account's buckets.
func (g *Gate) limit(m *envelope.Message) limitResult {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pruneLocked(now)
	s := g.senders[m.Conversation]
	if s == nil {
		s = &senderLimit{lim: rate.NewLimiter(g.cfg.PerSender, g.cfg.PerSenderBurst)}
		g.senders[m.Conversation] = s
	}
	s.lastSeen = now
	acctKey := m.Platform + "/" + m.Account
	a := g.accounts[acctKey]
	if a == nil {
		a = &accountLimit{lim: rate.NewLimiter(g.cfg.Global, g.cfg.GlobalBurst), share: 1}
		g.accounts[acctKey] = a
	}
	a.lastSeen = now
	if share := g.share(); share != a.share {
		a.share = share
		a.lim.SetLimitAt(now, g.cfg.Global*rate.Limit(share))
		a.lim.SetBurstAt(now, max(1, int(math.Round(float64(g.cfg.GlobalBurst)*share))))
	}
	// The sender's bucket goes first, so one noisy user spends only
	// their own tokens and not the account's.
	if s.lim.AllowN(now, 1) && a.lim.AllowN(now, 1) {
		return allowed
	}
	if now.Before(s.noticeUntil) {
		return overSilent
	}
	s.noticeUntil = now.Add(g.cfg.NoticeWindow)
	return overNotice
}

// share is this instance's part of the cluster's account buckets.
func (g *Gate) share() float64 {
	if g.cfg.Share == nil {
		return 1
	}
	if s := g.cfg.Share(); s > 0 && s <= 1 {
		return s
	}
	// Owning nothing, it routes nothing that counts; a message it does
	// route (handed over mid-way) gets the whole bucket rather than none.
	return 1
}

// pruneLocked drops limiters idle longer than g.idle, at most once a
// pruneEvery, so the maps stay bounded by the number of active senders.
func (g *Gate) pruneLocked(now time.Time) {
	if now.Sub(g.lastPrune) < pruneEvery {
		return
	}
	g.lastPrune = now
	for k, s := range g.senders {
		if now.Sub(s.lastSeen) > g.idle {
			delete(g.senders, k)
		}
	}
	for k, a := range g.accounts {
		if now.Sub(a.lastSeen) > g.idle {
			delete(g.accounts, k)
		}
	}
}

// Gate satisfies router.Gate, restated here because router imports
// fallback and not the other way round.
var _ interface {
	Check(ctx context.Context, m *envelope.Message, static bool) Decision
} = (*Gate)(nil)
