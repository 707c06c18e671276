// Package replay closes the gap in webhook signatures that do not cover
// the body. A platform that signs only the query (timestamp and nonce;
// docs/protocols.md says which do) lets anyone who reads one signed URL
// (an access log, a proxy's debug output) post any body with it until
// the timestamp goes stale. The Guard remembers the body each signed
// query came with, for as long as the timestamp is accepted, and refuses
// the same query with a different body. The same query with the same
// body is a platform's retry and passes; the inbound dedup id drops its
// message.
package replay

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrReplayed is a signed query seen before with another body.
var ErrReplayed = errors.New("replay: signed request reused with another body")

// Guard records signed requests in a KV bucket with per-key expiry
// (bus.BucketSignatures), so every instance sees every other's.
type Guard struct {
	kv  jetstream.KeyValue
	ttl time.Duration
}

// NoWindowMemory is how long a guard remembers a signed query when
// timestamps are not checked (replay_window 0). Nothing then bounds how
// long a captured URL stays valid, so the guard keeps the body for a long
// but bounded time: a URL read from a log can carry its own body again
// (a retry, stored once by its dedup id) and no other for an hour.
const NoWindowMemory = time.Hour

// NoWindowWarning is what an adapter logs at start-up when it runs with
// replay_window 0.
const NoWindowWarning = "replay_window is 0: signed timestamps are not checked, so a captured signed request stays valid; " +
	"only its body is pinned, for an hour"

// New returns a guard for timestamps accepted within window of now. A
// timestamp may be up to window in the past or the future, so a record
// lives twice that long. A zero window (timestamps not checked) still
// guards bodies, for NoWindowMemory. A nil kv gives a nil guard, whose
// Check lets everything through.
func New(kv jetstream.KeyValue, window time.Duration) *Guard {
	if kv == nil {
		return nil
	}
	ttl := 2 * window
	if window <= 0 {
		ttl = NoWindowMemory
	}
	// KV keys expire in whole seconds, with one second at least.
	return &Guard{kv: kv, ttl: max(ttl, time.Second).Truncate(time.Second)}
}

// Check records that the request signed with signature (its query's
// signature, or anything that identifies the signed query) came with
// body, and refuses with ErrReplayed a body other than the one first seen.
// scope keeps accounts apart: "<platform>.<account>". Other errors mean
// the bucket could not be read or written; the caller should answer 5xx
// so the platform retries.
func (g *Guard) Check(ctx context.Context, scope, signature string, body []byte) error {
	if g == nil {
		return nil
	}
	id := sha256.Sum256([]byte(scope + "\x00" + signature))
	key := scope + "." + hex.EncodeToString(id[:16])
	sum := sha256.Sum256(body)
	for range 3 {
		_, err := g.kv.Create(ctx, key, sum[:], jetstream.KeyTTL(g.ttl))
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("replay: record %s: %w", scope, err)
		}
		seen, err := g.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // expired between the two calls
		}
		if err != nil {
			return fmt.Errorf("replay: read %s: %w", scope, err)
		}
		if subtle.ConstantTimeCompare(seen.Value(), sum[:]) != 1 {
			return ErrReplayed
		}
		return nil
	}
	return fmt.Errorf("replay: record %s keeps expiring", scope)
}
