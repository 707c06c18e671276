package bus

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Swap writes data at key if the key is still at revision rev, or, with
// rev 0, if it does not exist: the compare-and-set every read-modify-write
// of a bucket goes through, so that of two instances deciding on the same
// copy only one write lands. It returns the new revision; IsConflict
// tells the loser, who reads again and decides again.
func Swap(ctx context.Context, kv jetstream.KeyValue, key string, data []byte, rev uint64) (uint64, error) {
	if rev == 0 {
		return kv.Create(ctx, key, data)
	}
	return kv.Update(ctx, key, data, rev)
}

// IsConflict reports whether a Swap (or a Create) lost to another writer.
func IsConflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}

// SharedSecret returns the n random bytes stored at key, creating them the
// first time: every instance of a cluster, and every restart, gets the same
// secret (cookie keys, the binding-code key) without anyone configuring it.
// A stored value shorter than n is an error, never silently used.
func SharedSecret(ctx context.Context, kv jetstream.KeyValue, key string, n int) ([]byte, error) {
	for range 3 {
		fresh := make([]byte, n)
		_, _ = rand.Read(fresh) // never fails (crypto/rand panics instead)
		if _, err := kv.Create(ctx, key, fresh); err == nil {
			return fresh, nil
		} else if !errors.Is(err, jetstream.ErrKeyExists) {
			return nil, fmt.Errorf("shared secret %s: create: %w", key, err)
		}
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted between the Create and the Get
		}
		if err != nil {
			return nil, fmt.Errorf("shared secret %s: get: %w", key, err)
		}
		if len(e.Value()) < n {
			return nil, fmt.Errorf("shared secret %s: stored value is %d bytes, want at least %d", key, len(e.Value()), n)
		}
		return e.Value(), nil
	}
	return nil, fmt.Errorf("shared secret %s: the key keeps disappearing", key)
}
