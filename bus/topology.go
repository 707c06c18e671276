package bus

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"hotline/envelope"
)

// Stream names.
const (
	StreamIn      = "HOTLINE_IN"
	StreamOut     = "HOTLINE_OUT"
	StreamHandoff = "HOTLINE_HANDOFF"
	StreamReview  = "HOTLINE_REVIEW"
	StreamStatus  = "HOTLINE_STATUS"
	StreamDead    = "HOTLINE_DEAD"
	StreamAudit   = "HOTLINE_AUDIT"
)

// KV bucket names.
const (
	BucketModes    = "hotline_modes"
	BucketSessions = "hotline_sessions"
	BucketOptOut   = "hotline_optout"
	BucketTokens   = "hotline_tokens"
	// BucketHandoffs keeps each handoff's state (open, claimed, closed)
	// for the agents' API; the stream keeps the records themselves.
	BucketHandoffs = "hotline_handoffs"
	// BucketReview keeps the decision on each held reply (approved,
	// edited, rejected); the stream keeps the replies themselves.
	BucketReview = "hotline_review"
	// BucketSent records every reply id a sender delivered, so a reply
	// redelivered by the stream is never sent twice.
	BucketSent = "hotline_sent"
	// BucketBindings maps conversations to the phone bound with "bind".
	// It has no TTL: a binding lasts until "unbind", however long the
	// user stays quiet (sessions expire, bindings must not).
	BucketBindings = "hotline_bindings"
	// BucketSignatures remembers, per key for twice the replay window,
	// the body each signed webhook request came with, for platforms whose
	// signature does not cover the body.
	BucketSignatures = "hotline_signatures"
	// BucketSeen remembers each inbound message's platform id, per key
	// for Config.SeenTTL: a webhook replayed after the stream's duplicate
	// window (some platforms sign no time, others send a secret that
	// never changes) is recognized and not stored or answered again.
	BucketSeen = "hotline_seen"
	// BucketTiers holds the customer tier (vip, creator) operators gave a
	// conversation's user. No TTL: a rank outlives quiet months.
	BucketTiers = "hotline_tiers"
	// BucketKnowledge holds FAQ entries and texts edited at run time
	// (the YAML files are the seed), versioned: its history is the
	// entries' past versions.
	BucketKnowledge = "hotline_knowledge"
	// BucketMembers lists the gateway instances sharing this NATS, each
	// key refreshed every second (see Own). Kept in memory: it is
	// rebuilt within a second of any restart.
	BucketMembers = "hotline_members"
)

// Object store buckets.
const (
	// BucketMedia keeps the files visitors attach where the gateway
	// itself faces the user (screenshots, short videos): no platform's
	// server keeps them there, and an agent needs the evidence after the
	// fact.
	BucketMedia = "hotline_media"
)

// Limits of BucketMedia. Evidence is needed for as long as a handoff is
// (30 days); past that the bytes go and only the reference is left. The
// size bound keeps uploads from filling the disk HOTLINE_IN needs: at it,
// new uploads are refused (discard new) and what was stored is kept.
const (
	MediaTTL             = 30 * 24 * time.Hour
	DefaultMediaMaxBytes = 2 << 30
)

// StreamLimits bounds how much one stream keeps. Zero values take the
// stream's default; MaxBytes < 0 means no byte limit.
type StreamLimits struct {
	MaxAge   time.Duration
	MaxBytes int64
}

// streamSpec is one stream hotline owns and the defaults it starts from.
type streamSpec struct {
	name     string
	key      string // its name in config: nats.streams.<key>
	subjects []string
	maxAge   time.Duration
}

// streamSpecs lists every stream. Max ages are long enough to cover a
// long weekend's outage for messages and a year for the audit trail.
func streamSpecs() []streamSpec {
	return []streamSpec{
		{StreamIn, "in", []string{envelope.SubjectInAll}, 7 * 24 * time.Hour},
		{StreamOut, "out", []string{envelope.SubjectOutAll}, 7 * 24 * time.Hour},
		{StreamHandoff, "handoff", []string{envelope.SubjectHandoffAll}, 30 * 24 * time.Hour},
		{StreamReview, "review", []string{envelope.SubjectReview}, 14 * 24 * time.Hour},
		{StreamStatus, "status", []string{envelope.SubjectStatusAll}, 3 * 24 * time.Hour},
		{StreamDead, "dead", []string{envelope.SubjectDead}, 30 * 24 * time.Hour},
		{StreamAudit, "audit", []string{envelope.SubjectAudit}, 365 * 24 * time.Hour},
	}
}

// StreamKeys returns the config keys of every stream (in, out, ...), so
// config can validate nats.streams without importing this package's
// details.
func StreamKeys() []string {
	var keys []string
	for _, s := range streamSpecs() {
		keys = append(keys, s.key)
	}
	return keys
}

// DefaultStreamMaxAge returns the default max age of the stream with the
// given config key, or 0 for an unknown key.
func DefaultStreamMaxAge(key string) time.Duration {
	for _, s := range streamSpecs() {
		if s.key == key {
			return s.maxAge
		}
	}
	return 0
}

// DuplicateWindow is how long JetStream remembers a Nats-Msg-Id. It must
// outlast every platform's retry schedule (seconds for some, a minute or
// two for most; see docs/protocols.md) and the longest accepted replay
// window of a signed webhook (5 minutes), so a captured push replayed
// while its timestamp is still fresh is stored only once.
const DuplicateWindow = 5 * time.Minute

func (b *Bus) streamConfig(s streamSpec) jetstream.StreamConfig {
	lim := b.cfg.Streams[s.key]
	maxAge := s.maxAge
	if lim.MaxAge > 0 {
		maxAge = lim.MaxAge
	}
	maxBytes := int64(-1)
	if lim.MaxBytes > 0 {
		maxBytes = lim.MaxBytes
	}
	dup := DuplicateWindow
	if dup > maxAge {
		dup = maxAge
	}
	discard := jetstream.DiscardOld
	if s.name == StreamIn {
		// A full HOTLINE_IN refuses what comes (the webhook answers 503
		// and the platform retries) rather than dropping its oldest
		// messages, which were acknowledged and may not be routed yet.
		discard = jetstream.DiscardNew
	}
	return jetstream.StreamConfig{
		Name:        s.name,
		Description: "hotline " + s.key,
		Subjects:    s.subjects,
		// Limits retention keeps every message until it ages out,
		// whatever consumers did with it: nothing is lost because a
		// consumer acked it, and an operator can replay.
		Retention:  jetstream.LimitsPolicy,
		Storage:    jetstream.FileStorage,
		MaxAge:     maxAge,
		MaxBytes:   maxBytes,
		Discard:    discard,
		Duplicates: dup,
		Replicas:   b.cfg.replicas(),
	}
}

func (b *Bus) bucketConfigs() []jetstream.KeyValueConfig {
	r := b.cfg.replicas()
	return []jetstream.KeyValueConfig{
		// Modes keep a little history so "who changed what" can be read
		// from the bucket as well as from the audit stream.
		{Bucket: BucketModes, Description: "degraded modes by scope", History: 8, Replicas: r, Storage: jetstream.FileStorage},
		{Bucket: BucketSessions, Description: "conversations", History: 1, TTL: b.cfg.SessionTTL, Replicas: r, Storage: jetstream.FileStorage},
		{Bucket: BucketOptOut, Description: "opted-out recipients", History: 4, Replicas: r, Storage: jetstream.FileStorage},
		// Tokens expire per key (KeyTTL), which needs limit markers and
		// History 1 (a larger history raises every key TTL to the
		// marker TTL).
		{Bucket: BucketTokens, Description: "platform access tokens", History: 1, LimitMarkerTTL: time.Minute, Replicas: r, Storage: jetstream.FileStorage},
		{Bucket: BucketHandoffs, Description: "handoff state for agents", History: 4, TTL: 30 * 24 * time.Hour, Replicas: r, Storage: jetstream.FileStorage},
		{Bucket: BucketReview, Description: "review decisions", History: 1, TTL: 14 * 24 * time.Hour, Replicas: r, Storage: jetstream.FileStorage},
		// As long as HOTLINE_OUT keeps a reply, its sent mark must stay.
		{Bucket: BucketSent, Description: "delivered reply ids", History: 1, TTL: 8 * 24 * time.Hour, Replicas: r, Storage: jetstream.FileStorage},
		{Bucket: BucketBindings, Description: "phones bound to conversations", History: 4, Replicas: r, Storage: jetstream.FileStorage},
		{Bucket: BucketSignatures, Description: "signed webhook requests seen", History: 1, LimitMarkerTTL: time.Minute, Replicas: r, Storage: jetstream.FileStorage},
		{Bucket: BucketSeen, Description: "inbound platform message ids seen", History: 1, TTL: b.cfg.seenTTL(), Replicas: r, Storage: jetstream.FileStorage},
		{Bucket: BucketTiers, Description: "customer tiers by conversation", History: 4, Replicas: r, Storage: jetstream.FileStorage},
		{Bucket: BucketKnowledge, Description: "FAQ entries and texts edited at run time", History: 16, Replicas: r, Storage: jetstream.FileStorage},
		{Bucket: BucketMembers, Description: "gateway instances and the work they share", History: 1, TTL: 4 * memberTTL, Replicas: r, Storage: jetstream.MemoryStorage},
	}
}

func (b *Bus) objectStoreConfigs() []jetstream.ObjectStoreConfig {
	maxBytes := int64(DefaultMediaMaxBytes)
	switch {
	case b.cfg.MediaMaxBytes > 0:
		maxBytes = b.cfg.MediaMaxBytes
	case b.cfg.MediaMaxBytes < 0:
		maxBytes = -1
	}
	return []jetstream.ObjectStoreConfig{
		{Bucket: BucketMedia, Description: "files visitors attached", TTL: MediaTTL, MaxBytes: maxBytes,
			Replicas: b.cfg.replicas(), Storage: jetstream.FileStorage},
	}
}

// minMediaBytes is as small as createObjectStore shrinks a bucket.
const minMediaBytes = 1 << 20

// createObjectStore creates or updates oc. A stream's max bytes is
// reserved against what JetStream may store (by default 75% of the disk
// free when the server started): on a small disk the default would keep
// hotline from starting at all, or leave HOTLINE_IN little room. The
// embedded server's bucket takes at most an eighth of its store; against
// a cluster, whose limits we cannot see, the bucket is halved until it
// fits, down to minMediaBytes. A smaller size than asked is logged.
func (b *Bus) createObjectStore(ctx context.Context, oc jetstream.ObjectStoreConfig) (jetstream.ObjectStore, error) {
	want := oc.MaxBytes
	if b.srv != nil && oc.MaxBytes > 0 {
		if jc := b.srv.JetStreamConfig(); jc != nil && jc.MaxStore > 0 {
			oc.MaxBytes = max(minMediaBytes, min(oc.MaxBytes, jc.MaxStore/8))
		}
	}
	for {
		obs, err := b.js.CreateOrUpdateObjectStore(ctx, oc)
		var apiErr *jetstream.APIError
		if err == nil || oc.MaxBytes <= minMediaBytes || !errors.As(err, &apiErr) ||
			(apiErr.ErrorCode != errCodeInsufficientResources && apiErr.ErrorCode != errCodeStorageExceeded) {
			if err == nil && oc.MaxBytes != want {
				b.log.Warn("object store smaller than configured: JetStream cannot reserve more", "bucket", oc.Bucket,
					"max_bytes", oc.MaxBytes, "wanted", want)
			}
			return obs, err
		}
		oc.MaxBytes = max(minMediaBytes, oc.MaxBytes/2)
	}
}

// ensureTopology creates or updates every stream and bucket. It is
// idempotent, so every instance runs it at start-up.
func (b *Bus) ensureTopology(ctx context.Context) error {
	for _, s := range streamSpecs() {
		st, err := b.js.CreateOrUpdateStream(ctx, b.streamConfig(s))
		if err != nil {
			return fmt.Errorf("stream %s: %w", s.name, err)
		}
		if s.name == StreamIn {
			b.storage.inboundLimits(st.CachedInfo())
		}
	}
	b.kv = make(map[string]jetstream.KeyValue)
	for _, kc := range b.bucketConfigs() {
		kv, err := b.js.CreateOrUpdateKeyValue(ctx, kc)
		if err != nil {
			return fmt.Errorf("kv %s: %w", kc.Bucket, err)
		}
		b.kv[kc.Bucket] = kv
	}
	b.objs = make(map[string]jetstream.ObjectStore)
	for _, oc := range b.objectStoreConfigs() {
		obs, err := b.createObjectStore(ctx, oc)
		if err != nil {
			return fmt.Errorf("object store %s: %w", oc.Bucket, err)
		}
		b.objs[oc.Bucket] = obs
	}
	return nil
}

// OptOutKey is the hotline_optout key of a conversation. Everything that
// sends (router, outbound loop, SMS fallback) checks the same key.
func OptOutKey(conversation string) string {
	return "o." + base64.RawURLEncoding.EncodeToString([]byte(conversation))
}
