package router

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"hotline/bus"
	"hotline/envelope"
	"hotline/fallback"
)

// MaxTurns is how much history a session keeps and a handoff carries.
const MaxTurns = 7

// maxProcessed bounds the inbound ids a session remembers to recognize a
// redelivery that comes after the stream's duplicate window.
const maxProcessed = 8

// maxBotTurnRunes bounds how much of a bot's reply the history keeps:
// agents need the gist (the full built-in texts are in the catalog), and
// every message rewrites the session, so its size is throughput.
const maxBotTurnRunes = 200

// PendingBind is a phone-binding code waiting for the user to send it back.
type PendingBind struct {
	Phone    string    `json:"phone"`
	CodeHash string    `json:"code_hash"` // hex SHA-256 of conversation and code
	Expires  time.Time `json:"expires"`
	Attempts int       `json:"attempts_left"`
}

// Session is what the router remembers of one conversation.
type Session struct {
	Conversation string `json:"conversation"`
	Lang         string `json:"lang,omitempty"` // explicit choice (help+ar, lang ar)
	// Detected is the language of the user's last message that left no
	// doubt, used when they chose none and the platform gave no hint.
	Detected      string          `json:"detected,omitempty"`
	Turns         []envelope.Turn `json:"turns,omitempty"`
	Phone         string          `json:"phone,omitempty"` // bound E.164 number
	HandoffDay    string          `json:"handoff_day,omitempty"`
	HandoffsToday int             `json:"handoffs_today,omitempty"`
	LastChannel   string          `json:"last_channel,omitempty"`
	LastSeen      time.Time       `json:"last_seen"`
	Bind          *PendingBind    `json:"bind,omitempty"`
	BindRequests  []time.Time     `json:"bind_requests,omitempty"` // for the per-conversation code limit
	Processed     []string        `json:"processed,omitempty"`     // recent inbound ids
	// Announced holds the keys (fallback.Notice.Key) of the mode
	// settings in force whose text this conversation was given, so it is
	// given once per setting; committed with the outbox, so a
	// redelivered message does not count twice.
	Announced []string `json:"announced,omitempty"`
	// Outbox holds what a message decided until all of it is published.
	Outbox []Effects `json:"outbox,omitempty"`
}

// pendingEffects returns what the message with inboundID committed and
// has not yet carried out, or nil.
func (s *Session) pendingEffects(inboundID string) *Effects {
	for i := range s.Outbox {
		if s.Outbox[i].InboundID == inboundID {
			return &s.Outbox[i]
		}
	}
	return nil
}

// dropEffects removes the message's entry from the outbox and reports
// whether there was one.
func (s *Session) dropEffects(inboundID string) bool {
	for i := range s.Outbox {
		if s.Outbox[i].InboundID == inboundID {
			s.Outbox = append(s.Outbox[:i], s.Outbox[i+1:]...)
			return true
		}
	}
	return false
}

func (s *Session) wasAnnounced(key string) bool { return slices.Contains(s.Announced, key) }

func (s *Session) markAnnounced(key string) {
	if !s.wasAnnounced(key) {
		s.Announced = append(s.Announced, key)
	}
}

// keepAnnounced forgets settings no longer in force, which keeps the
// record as small as the list of modes: a setting that comes back has a
// new start and so a new key.
func (s *Session) keepAnnounced(inForce []fallback.Notice) {
	s.Announced = slices.DeleteFunc(s.Announced, func(key string) bool {
		return !slices.ContainsFunc(inForce, func(n fallback.Notice) bool { return n.Key() == key })
	})
	if len(s.Announced) == 0 {
		s.Announced = nil
	}
}

func (s *Session) addTurn(role, text string, at time.Time, media ...envelope.Media) {
	if text == "" {
		return
	}
	if role == "bot" {
		if r := []rune(text); len(r) > maxBotTurnRunes {
			text = string(r[:maxBotTurnRunes]) + "…"
		}
	}
	s.Turns = append(s.Turns, envelope.Turn{Role: role, Text: text, At: at, Media: media})
	if len(s.Turns) > MaxTurns {
		s.Turns = s.Turns[len(s.Turns)-MaxTurns:]
	}
}

// clone is a copy of s that shares nothing a caller may change: every
// slice and pointer is copied (the turns' media and the outbox's entries
// are never changed in place). TestSessionClone checks every field.
func (s *Session) clone() *Session {
	c := *s
	c.Turns = slices.Clone(s.Turns)
	c.BindRequests = slices.Clone(s.BindRequests)
	c.Processed = slices.Clone(s.Processed)
	c.Announced = slices.Clone(s.Announced)
	c.Outbox = slices.Clone(s.Outbox)
	if s.Bind != nil {
		b := *s.Bind
		c.Bind = &b
	}
	return &c
}

func (s *Session) processed(id string) bool {
	for _, p := range s.Processed {
		if p == id {
			return true
		}
	}
	return false
}

func (s *Session) markProcessed(id string) {
	s.Processed = append(s.Processed, id)
	if len(s.Processed) > maxProcessed {
		s.Processed = s.Processed[len(s.Processed)-maxProcessed:]
	}
}

// sessionKey makes a KV key of a conversation key, whose user part may
// hold characters KV keys do not allow.
func sessionKey(conversation string) string {
	return "c." + base64.RawURLEncoding.EncodeToString([]byte(conversation))
}

// phoneKey indexes the channels a bound phone was seen on.
func phoneKey(phone string) string {
	return "p." + base64.RawURLEncoding.EncodeToString([]byte(phone))
}

// Sessions stores sessions in the hotline_sessions bucket, with a local
// cache of what this instance last read or wrote. The cache saves the read
// on every message of an active conversation; it can never serve stale
// state for long, because every write names the revision it was based on
// and a write based on a stale revision fails, drops the cached copy and
// runs again on what the bucket holds.
type Sessions struct {
	kv    jetstream.KeyValue
	cache *sessionCache
}

func newSessions(kv jetstream.KeyValue) Sessions {
	return Sessions{kv: kv, cache: &sessionCache{entries: map[string]cachedSession{}}}
}

// maxCachedSessions bounds the cache; past it the cache starts over,
// which costs one read per conversation.
const maxCachedSessions = 50_000

// cachedSession is a session as last read or written, decoded, so a
// message of an active conversation skips the JSON decode too.
type cachedSession struct {
	sess *Session // never handed out: callers get a clone
	rev  uint64
	at   time.Time
}

// cacheFor bounds how long a cached session is trusted. A stale copy can
// never be written back (the revision check refuses it), but replies
// decided on it are published before that check; keeping copies briefly
// confines that to the moments when two instances really do handle one
// conversation at once.
const cacheFor = 2 * time.Second

type sessionCache struct {
	mu      sync.Mutex
	entries map[string]cachedSession
}

func (c *sessionCache) get(key string) (cachedSession, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if ok && time.Since(e.at) > cacheFor {
		delete(c.entries, key)
		return cachedSession{}, false
	}
	return e, ok
}

func (c *sessionCache) put(key string, e cachedSession) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCachedSessions {
		clear(c.entries)
	}
	e.at = time.Now()
	c.entries[key] = e
}

func (c *sessionCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
}

// errConflict is returned by update's callback path when another router
// changed the session first; update retries.
var errConflict = errors.New("session changed concurrently")

// load returns the session and its revision (0 when new).
func (s Sessions) load(ctx context.Context, conversation string) (*Session, uint64, error) {
	return s.read(ctx, conversation, true)
}

// read returns the session, from the cache when allowed. Only writers may
// use the cache: their write fails if the copy was stale. Readers that
// show a session (the admin API) must read the bucket.
func (s Sessions) read(ctx context.Context, conversation string, cached bool) (*Session, uint64, error) {
	key := sessionKey(conversation)
	if c, ok := s.cache.get(key); ok && cached {
		return c.sess.clone(), c.rev, nil
	}
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return &Session{Conversation: conversation}, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("session get: %w", err)
	}
	var sess Session
	if err := json.Unmarshal(e.Value(), &sess); err != nil {
		// A corrupt session must not block the user: start over.
		return &Session{Conversation: conversation}, e.Revision(), nil
	}
	return &sess, e.Revision(), nil
}

// store writes sess if nobody else wrote since rev, and returns the new
// revision. Two routers handling the same conversation (a rebalance, a
// redelivery) cannot overwrite each other: the loser gets errConflict and
// runs again on fresh state.
func (s Sessions) store(ctx context.Context, sess *Session, rev uint64) (uint64, error) {
	data, err := json.Marshal(sess)
	if err != nil {
		return 0, fmt.Errorf("session encode: %w", err)
	}
	key := sessionKey(sess.Conversation)
	newRev, err := bus.Swap(ctx, s.kv, key, data, rev)
	if bus.IsConflict(err) {
		s.cache.drop(key)
		return 0, errConflict
	}
	if err != nil {
		s.cache.drop(key)
		return 0, fmt.Errorf("session put: %w", err)
	}
	s.cache.put(key, cachedSession{sess: sess.clone(), rev: newRev})
	return newRev, nil
}

// isConflict reports a write that lost a race: Create on an existing key,
// or Update from a stale revision. A clustered stream reports the latter
// with another code than a single server; nats.go maps both to
// ErrKeyRevisionMismatch.

// Load returns a conversation's session as the bucket holds it now.
func (s Sessions) Load(ctx context.Context, conversation string) (*Session, error) {
	sess, _, err := s.read(ctx, conversation, false)
	return sess, err
}

// seenOnChannel records that phone wrote on platform now and reports
// whether it wrote on another platform within window.
func (s Sessions) seenOnChannel(ctx context.Context, phone, platform string, now time.Time, window time.Duration) (bool, error) {
	switched := false
	err := casJSON(ctx, s.kv, phoneKey(phone), func(seen *map[string]time.Time) error {
		if *seen == nil {
			*seen = map[string]time.Time{}
		}
		switched = false
		for p, at := range *seen {
			if p != platform && now.Sub(at) <= window {
				switched = true
			}
		}
		(*seen)[platform] = now
		return nil
	})
	return switched, err
}

// casJSON reads key as JSON into a fresh T, lets change edit it, and
// writes it back only if nobody wrote in between, retrying on conflict.
func casJSON[T any](ctx context.Context, kv jetstream.KeyValue, key string, change func(*T) error) error {
	for range 5 {
		var v T
		var rev uint64
		e, err := kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return fmt.Errorf("%s get: %w", key, err)
		default:
			rev = e.Revision()
			_ = json.Unmarshal(e.Value(), &v)
		}
		if err := change(&v); err != nil {
			return err
		}
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = bus.Swap(ctx, kv, key, data, rev)
		if bus.IsConflict(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s put: %w", key, err)
		}
		return nil
	}
	return fmt.Errorf("%s: %w", key, errConflict)
}

// bindRequest is one code sent to a number, by the message that asked.
type bindRequest struct {
	At        time.Time `json:"at"`
	InboundID string    `json:"inbound_id"`
}

// countBindRequest records a binding code under key (a number, a client
// address, the whole gateway) at now, asked by the message inboundID, and
// reports whether it is within limit codes per window. The same message counts once: a message decided again (its
// session changed meanwhile, or it was redelivered) does not spend the
// number's budget twice.
func (s Sessions) countBindRequest(ctx context.Context, key, inboundID string, now time.Time, window time.Duration, limit int) (bool, error) {
	allowed := false
	err := casJSON(ctx, s.kv, key, func(reqs *[]bindRequest) error {
		var recent []bindRequest
		for _, r := range *reqs {
			if r.InboundID == inboundID {
				allowed = true // counted already, so it was allowed
				return nil
			}
			if now.Sub(r.At) < window {
				recent = append(recent, r)
			}
		}
		allowed = len(recent) < limit
		if allowed {
			recent = append(recent, bindRequest{At: now, InboundID: inboundID})
		}
		*reqs = recent
		return nil
	})
	return allowed, err
}
