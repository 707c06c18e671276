// Package router is hotline's brain: a durable consumer of HOTLINE_IN that
// turns every inbound message into the right reply, handoff or both. For
// each message it runs one pipeline: opt-out check → degraded-mode gate →
// command → menu code → FAQ → handoff to a human agent.
package router

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"hotline/bus"
	"hotline/envelope"
	"hotline/passive"
)

// Config is the router's part of hotline's configuration.
type Config struct {
	DefaultLang       string
	Menu              map[string]string // "1" -> "account_security"
	FAQFile           string
	TextsDir          string // optional overrides of the built-in texts
	HandoffDailyLimit int    // handoffs per user per day; 0 = no limit
	TranslatorURL     string
	TranslatorKey     envelope.Secret
	SMSAccount        string // carries phone-binding codes
	// VerifyRegions are the countries (ISO 3166: "CN") binding codes may
	// be texted to; empty: any. Codes to premium or foreign numbers are
	// how an SMS gateway is made to pay for someone else's fraud.
	VerifyRegions []string
	// VerifyPerAddressHour caps codes per client address (messages that
	// carry envelope.MetaClientAddr) per hour; VerifyPerHour caps them
	// for the whole gateway, every instance together. Zero takes the
	// defaults (3, 100).
	VerifyPerAddressHour int
	VerifyPerHour        int
	Workers              int // conversations handled at once in each partition this instance routes; default 64
	// Tiers are the customer tiers operators may give users; nil takes
	// DefaultTiers.
	Tiers map[string]Tier
	// Agents guide NextHandoff: who speaks what, who is senior.
	Agents []Agent
	// TierLookup, with a URL, asks the service which tier a user has.
	TierLookup TierLookup
}

// Binder records which phone a conversation is bound to, where SMS
// fallback looks it up (fallback.Bindings).
type Binder interface {
	Bind(ctx context.Context, conversation, phone string) error
	Unbind(ctx context.Context, conversation string) error
	// Phone is what the outbound loop reroutes to, so the router asks
	// it too rather than the session, which expires.
	Phone(ctx context.Context, conversation string) (phone string, ok bool, err error)
}

// Deps are the router's collaborators.
type Deps struct {
	Bus        *bus.Bus
	Gate       Gate   // nil: NormalGate
	Binder     Binder // nil: bindings live in the session only
	Logger     *slog.Logger
	Registry   prometheus.Registerer
	HTTPClient *http.Client // for the translator and the tier lookup
	Now        func() time.Time
}

// Targets of first response per priority.
var slaByPriority = map[envelope.Priority]time.Duration{
	envelope.P1: 30 * time.Second,
	envelope.P2: 5 * time.Minute,
	envelope.P3: 2 * time.Hour,
}

// Phone-binding limits.
const (
	bindCodeTTL       = 10 * time.Minute
	bindAttempts      = 5
	bindPerHour       = 3 // codes per conversation per hour
	bindPerNumberHour = 3 // codes per phone number per hour, whoever asks
	channelSwitchSpan = 10 * time.Minute
)

// Router answers inbound messages.
type Router struct {
	cfg        Config
	bus        *bus.Bus
	gate       Gate
	binder     Binder
	log        *slog.Logger
	now        func() time.Time
	catalog    *Catalog
	parser     *Parser
	lex        *Lexicons
	knowledge  *knowledge // the FAQ and the texts edited at run time
	canned     *Canned
	translator *Translator
	sessions   Sessions
	settled    *settledSet
	optout     *optOutView
	handoffs   jetstream.KeyValue
	tiers      jetstream.KeyValue
	tierLookup *tierLookup // nil: operators' settings only
	bindKey    []byte
	metrics    *metrics
}

// New loads texts, lexicons and the FAQ and checks the configuration.
func New(ctx context.Context, cfg Config, deps Deps) (*Router, error) {
	if deps.Bus == nil {
		return nil, errors.New("router: bus is required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	r := &Router{cfg: cfg, bus: deps.Bus, gate: deps.Gate, binder: deps.Binder, log: deps.Logger, now: deps.Now}
	if r.gate == nil {
		r.gate = NormalGate{}
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.log = r.log.With("component", "router")
	if r.now == nil {
		r.now = time.Now
	}
	var err error
	if r.catalog, err = LoadCatalog(cfg.TextsDir); err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	if !r.catalog.Has(cfg.DefaultLang) {
		return nil, fmt.Errorf("router: default language %q has no texts (have %s)", cfg.DefaultLang, strings.Join(r.catalog.Codes(), ", "))
	}
	if r.parser, err = NewParser(r.catalog); err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	if r.lex, err = loadLexicons(); err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	seed, err := loadFAQSeed(cfg.FAQFile)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	if r.knowledge, err = watchKnowledge(ctx, seed, r.catalog, deps.Bus.KV(bus.BucketKnowledge), r.log); err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	if r.canned, err = LoadCanned(cfg.TextsDir); err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	r.translator = NewTranslator(cfg.TranslatorURL, cfg.TranslatorKey.Reveal(), deps.HTTPClient)
	r.sessions = newSessions(deps.Bus.KV(bus.BucketSessions))
	r.settled = newSettledSet()
	if r.optout, err = watchOptOuts(ctx, deps.Bus.KV(bus.BucketOptOut), r.log); err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	r.handoffs = deps.Bus.KV(bus.BucketHandoffs)
	r.tiers = deps.Bus.KV(bus.BucketTiers)
	if r.cfg.Tiers == nil {
		r.cfg.Tiers = DefaultTiers()
	}
	r.tierLookup = newTierLookup(cfg.TierLookup, deps.HTTPClient, r.log, r.now)
	if r.bindKey, err = sharedBindKey(ctx, deps.Bus.KV(bus.BucketTokens)); err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	reg := deps.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if r.metrics, err = newMetrics(reg); err != nil {
		return nil, fmt.Errorf("router: metrics: %w", err)
	}
	return r, nil
}

// sharedBindKey returns the key binding codes are derived with, created
// once for the whole cluster, so any router instance that handles a
// redelivery derives the same code.
func sharedBindKey(ctx context.Context, kv jetstream.KeyValue) ([]byte, error) {
	key, err := bus.SharedSecret(ctx, kv, "router.bind_key", 32)
	if err != nil {
		return nil, fmt.Errorf("bind key: %w", err)
	}
	return key, nil
}

// Catalog returns the texts the router answers with.
func (r *Router) Catalog() *Catalog { return r.catalog }

// OwnGroup is the name the router's instances share their partitions
// under (bus.Own); fallback scales cluster-wide limits by this
// instance's share of it.
const OwnGroup = "router"

// Run routes HOTLINE_IN until ctx ends. The stream is split into
// bus.InboundPartitions partitions by conversation; every instance
// running a router takes its share of them (bus.Own), and one instance
// at a time consumes a partition (an exclusive consumer), so one
// conversation's messages are routed in order by one worker of one
// instance, however many gateways share the NATS.
func (r *Router) Run(ctx context.Context) error {
	units := make([]string, bus.InboundPartitions)
	filters := make(map[string]string, len(units))
	for p := range units {
		units[p] = bus.InboundDurable(p)
		filters[units[p]] = bus.InboundPartitionFilter(p)
	}
	return r.bus.Own(ctx, OwnGroup, units, func(ctx context.Context, durable string) error {
		if durable != units[0] {
			return r.consume(ctx, durable, filters[durable])
		}
		var wg sync.WaitGroup
		var legacyErr error
		wg.Go(func() { legacyErr = r.consume(ctx, bus.LegacyInboundDurable, bus.LegacyInboundFilter) })
		err := r.consume(ctx, durable, bus.InboundPartitionFilter(0))
		wg.Wait()
		return errors.Join(err, legacyErr)
	})
}

// consume runs one partition's exclusive consumer. The ack wait is short
// because it is how long a crashed instance's partitions wait before
// another instance takes them over; a slow handler keeps its delivery
// meanwhile (bus.ConsumerConfig.AckWait).
func (r *Router) consume(ctx context.Context, durable, filter string) error {
	return r.bus.Consume(ctx, bus.ConsumerConfig{
		Stream:         bus.StreamIn,
		Durable:        durable,
		FilterSubjects: []string{filter},
		// Routing waits on NATS, not on the CPU: a partition with few
		// workers (they are per partition) holds its queue up behind
		// one slow round trip.
		Workers:         r.cfg.Workers,
		PartitionHeader: envelope.HeaderConversation,
		MaxDeliver:      8,
		AckWait:         6 * time.Second,
		// A message takes milliseconds; one stuck behind a NATS
		// election is better retried than waited on.
		HandlerTimeout: 10 * time.Second,
		Exclusive:      true,
	}, r.handle)
}

func (r *Router) handle(ctx context.Context, d *bus.Delivery) error {
	var m envelope.Message
	if err := envelope.Decode(d.Data, &m); err != nil {
		return bus.Permanent(fmt.Errorf("router: %w", err))
	}
	w := passive.InvitationFrom(d.Header)
	start := time.Now()
	err := r.processRetrying(ctx, &m, w)
	r.metrics.latency.Observe(time.Since(start).Seconds())
	return err
}

// processRetrying handles m, starting again on the session as it is now
// whenever another instance changed it meanwhile.
func (r *Router) processRetrying(ctx context.Context, m *envelope.Message, w passive.Invitation) error {
	for range 5 {
		if err := r.process(ctx, m, w); !errors.Is(err, errConflict) {
			return err
		}
	}
	// The conversation key holds a phone number for SMS: the message id
	// identifies the case without it.
	return fmt.Errorf("router: handling %s: %w", m.ID, errConflict)
}

// outcome collects what one message produces.
type outcome struct {
	Effects
	result   string
	explain  string
	replyIdx int
	// smsFallback: sms_fallback is in force for the message's account.
	smsFallback bool
}

// Effects is what a message makes happen outside its session. They are
// committed to the session (its outbox) before any is carried out, so a
// decision taken on a stale copy of the session is never published, and a
// crash between the commit and the publish loses nothing: the redelivery
// finds them in the outbox and carries them out. Every one is idempotent
// (ids derived from the inbound id, states set rather than toggled).
// Most leave the outbox lazily, at the conversation's next commit (see
// outbox.go). An entry is never changed once committed: cached sessions
// share it.
type Effects struct {
	InboundID string `json:"inbound_id"`
	// ReceivedAt is the message's: what orders an opt-out carried out
	// again, and how old an entry of unknown fate is.
	ReceivedAt time.Time         `json:"received_at"`
	Replies    []envelope.Reply  `json:"replies,omitempty"`
	Review     []envelope.Reply  `json:"review,omitempty"`
	SMS        []envelope.Reply  `json:"sms,omitempty"` // binding codes
	Handoff    *envelope.Handoff `json:"handoff,omitempty"`
	OptOut     *bool             `json:"opt_out,omitempty"` // set: opt the conversation out (true) or back in (false)
	Bind       *string           `json:"bind,omitempty"`    // set: bind the conversation to this phone ("" unbinds)
	// ViaSMS keeps the replies from the webhook waiting on the
	// platform: sms_fallback is on and the user has a phone, so they go
	// to HOTLINE_OUT, where the outbound loop reroutes them by SMS.
	ViaSMS bool `json:"via_sms,omitempty"`
}

func (e *Effects) empty() bool {
	return len(e.Replies)+len(e.Review)+len(e.SMS) == 0 && e.Handoff == nil && e.OptOut == nil && e.Bind == nil
}

// Process handles one inbound message. It is idempotent: reply and
// handoff ids derive from the inbound id, so running it twice publishes
// nothing new.
func (r *Router) Process(ctx context.Context, m *envelope.Message) error {
	return r.processRetrying(ctx, m, passive.Invitation{})
}

func (r *Router) process(ctx context.Context, m *envelope.Message, w passive.Invitation) error {
	sess, rev, err := r.sessions.load(ctx, m.Conversation)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	if pending := sess.pendingEffects(m.ID); pending != nil && !r.settled.has(m.ID) {
		// An earlier delivery committed this and did not finish.
		r.metrics.messages.WithLabelValues("resumed").Inc()
		if err := r.publish(ctx, m, pending, passive.Invitation{}); err != nil {
			return err
		}
		return r.settle(ctx, m.Conversation, m.ID, nil, 0)
	}
	if sess.processed(m.ID) {
		r.metrics.messages.WithLabelValues("redelivered").Inc()
		return nil
	}
	now := r.now().UTC()
	if err := r.tidyOutbox(ctx, sess, now); err != nil {
		return err
	}
	out := &outcome{Effects: Effects{InboundID: m.ID, ReceivedAt: m.ReceivedAt}}
	if err := r.decide(ctx, m, sess, now, out); err != nil {
		return err
	}
	if out.smsFallback && len(out.Replies) > 0 {
		// Only now is the bindings bucket read: without the mode nothing
		// depends on it.
		bound, err := r.boundAfter(ctx, m, sess, &out.Effects)
		if err != nil {
			return err
		}
		out.ViaSMS = bound
	}
	sess.markProcessed(m.ID)
	sess.LastSeen = now
	sess.LastChannel = m.Platform
	if !out.empty() {
		sess.Outbox = append(sess.Outbox, out.Effects)
	}
	// Commit first: if another instance changed the session since it
	// was read, nothing decided here has left yet, and the caller starts
	// again on the session as it is.
	stored, err := r.sessions.store(ctx, sess, rev)
	if err != nil {
		return err
	}
	if !out.empty() {
		if err := r.publish(ctx, m, &out.Effects, w); err != nil {
			return err
		}
		if out.settlesLazily() {
			r.settled.add(m.ID)
		} else if err := r.settle(ctx, m.Conversation, m.ID, sess, stored); err != nil {
			return err
		}
	}
	r.metrics.messages.WithLabelValues(out.result).Inc()
	r.log.Debug("routed", "platform", m.Platform, "account", m.Account, "msg_id", m.ID, "result", out.result, "why", out.explain)
	return nil
}

// settle removes a message's Effects from the outbox once they are all
// out. Until it succeeds the message is not acknowledged, so a failure
// here means one more (harmless) publish on the redelivery. sess, when
// not nil, is the session as just stored at revision rev: settling on it
// saves a read, and if another write came between, the revision check
// refuses it and settle reads the session again.
func (r *Router) settle(ctx context.Context, conversation, inboundID string, sess *Session, rev uint64) error {
	for range 5 {
		if sess == nil {
			var err error
			if sess, rev, err = r.sessions.load(ctx, conversation); err != nil {
				return fmt.Errorf("router: settle: %w", err)
			}
		}
		if !sess.dropEffects(inboundID) {
			return nil
		}
		_, err := r.sessions.store(ctx, sess, rev)
		if !errors.Is(err, errConflict) {
			return err
		}
		sess = nil
	}
	return fmt.Errorf("router: settle %s: %w", inboundID, errConflict)
}

func (r *Router) publish(ctx context.Context, m *envelope.Message, out *Effects, w passive.Invitation) error {
	if out.OptOut != nil {
		// Ordered by the message's time, not the handling's: a STOP
		// handled again after the START that followed it is dropped.
		if err := r.optout.set(ctx, r.bus, m.Conversation, *out.OptOut, m.ReceivedAt); err != nil {
			return fmt.Errorf("router: %w", err)
		}
	}
	if out.Bind != nil && r.binder != nil {
		var err error
		if *out.Bind == "" {
			err = r.binder.Unbind(ctx, m.Conversation)
		} else {
			err = r.binder.Bind(ctx, m.Conversation, *out.Bind)
		}
		if err != nil {
			return fmt.Errorf("router: binding: %w", err)
		}
	}
	if h := out.Handoff; h != nil {
		subject, err := envelope.HandoffSubject(h.Priority)
		if err != nil {
			return err
		}
		if _, err := r.bus.PublishJSON(ctx, subject, h, h.ID, nil); err != nil {
			return fmt.Errorf("router: handoff: %w", err)
		}
		if err := r.recordHandoff(ctx, h); err != nil {
			return err
		}
		r.metrics.handoffs.WithLabelValues(string(h.Priority)).Inc()
	}
	for i := range out.Review {
		if _, err := r.bus.PublishJSON(ctx, envelope.SubjectReview, &out.Review[i], out.Review[i].ID, nil); err != nil {
			return fmt.Errorf("router: review: %w", err)
		}
	}
	replies := out.Replies
	if !out.ViaSMS && r.offerPassive(ctx, m, replies, w) {
		replies = nil
	}
	for _, group := range [][]envelope.Reply{out.SMS, replies} {
		for i := range group {
			if _, err := r.bus.PublishReply(ctx, &group[i]); err != nil {
				return fmt.Errorf("router: reply: %w", err)
			}
		}
	}
	return nil
}

// boundAfter reports whether the conversation has a phone once this
// message's effects are carried out: a code just confirmed binds one, an
// unbind leaves none, whatever the bindings bucket says now.
func (r *Router) boundAfter(ctx context.Context, m *envelope.Message, sess *Session, out *Effects) (bool, error) {
	if out.Bind != nil {
		return *out.Bind != "", nil
	}
	if r.binder == nil {
		return sess.Phone != "", nil
	}
	_, ok, err := r.binder.Phone(ctx, m.Conversation)
	if err != nil {
		return false, fmt.Errorf("router: bound phone: %w", err)
	}
	return ok, nil
}

// offerPassive hands the replies to the webhook still holding the
// user's request, if its window is open. Taken replies are recorded as
// sent (by the window before it answers, else here) before anything
// else, so a redelivery of this inbound that publishes them to
// HOTLINE_OUT finds them sent and the outbound loop skips them.
func (r *Router) offerPassive(ctx context.Context, m *envelope.Message, replies []envelope.Reply, w passive.Invitation) bool {
	if !w.Open(r.now()) || len(replies) == 0 {
		return false
	}
	for _, rep := range replies {
		if rep.Platform != m.Platform || rep.Account != m.Account {
			return false
		}
	}
	taken, recorded := w.Offer(ctx, r.bus.Conn(), r.now(), replies)
	if !taken {
		return false
	}
	now := r.now().UTC()
	record := passive.SentRecord(now)
	for _, rep := range replies {
		if !recorded {
			r.markPassive(ctx, rep.ID, record)
		}
		st := envelope.Status{ReplyID: rep.ID, Platform: rep.Platform, Account: rep.Account, Conversation: rep.Conversation,
			State: envelope.StatePassive, At: now}
		if subject, err := envelope.StatusSubject(rep.Platform, rep.Account); err == nil {
			if err := r.bus.PublishEvent(subject, &st, "status:"+rep.ID+":passive"); err != nil {
				r.log.Warn("status event", "reply", rep.ID, "err", err)
			}
		}
	}
	r.metrics.messages.WithLabelValues("passive").Inc()
	return true
}

// passiveMarkPatience is how long the router keeps trying to record a
// reply the webhook took: through a stream leader's election (up to 9 s),
// past the handler's own time-out.
const passiveMarkPatience = 20 * time.Second

// markPassive records that a reply went in a webhook's answer. It is
// the only thing that keeps a redelivery of the inbound message from
// sending the reply again through the API, so it is tried again while
// NATS does not answer rather than given up after one try.
func (r *Router) markPassive(ctx context.Context, replyID string, record []byte) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), passiveMarkPatience)
	defer cancel()
	if err := bus.KeepTrying(ctx, func(ctx context.Context) error { return r.bus.MarkSent(ctx, replyID, record) }, nil); err != nil {
		r.log.Warn("a reply given in the webhook's answer is not recorded; a redelivery may send it again", "reply", replyID, "err", err)
	}
}

// bindCode derives the six-digit code for a binding request from the
// shared key and the inbound id, so a redelivered request produces the
// same code that was already sent.
func (r *Router) bindCode(inboundID string) string {
	mac := hmac.New(sha256.New, r.bindKey)
	mac.Write([]byte(inboundID))
	n := binary.BigEndian.Uint64(mac.Sum(nil)[:8]) % 1_000_000
	return fmt.Sprintf("%06d", n)
}

// codeHash is what a session keeps of a binding code: keyed, so someone
// who can read the bucket cannot try the million codes offline.
func (r *Router) codeHash(conversation, code string) string {
	mac := hmac.New(sha256.New, r.bindKey)
	mac.Write([]byte("code\x00" + conversation + "\x00" + code))
	return hex.EncodeToString(mac.Sum(nil))
}

// maskPhone shows enough of a number for the user to recognize it.
func maskPhone(p string) string {
	if len(p) <= 6 {
		return p
	}
	return p[:3] + strings.Repeat("*", len(p)-7) + p[len(p)-4:]
}
