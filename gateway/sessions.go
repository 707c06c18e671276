package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// revocations keeps console sessions ended by a logout in the tokens
// bucket, each until the session would have expired, so every instance
// refuses any copy of the cookie.
type revocations struct {
	kv  jetstream.KeyValue
	now func() time.Time
}

func revocationKey(session string) string {
	sum := sha256.Sum256([]byte(session))
	return "console.revoked." + hex.EncodeToString(sum[:16])
}

// Revoke records session as ended until until.
func (r revocations) Revoke(ctx context.Context, session string, until time.Time) error {
	ttl := max(until.Sub(r.now()), 0).Truncate(time.Second) + time.Second
	if _, err := r.kv.Create(ctx, revocationKey(session), []byte("revoked"), jetstream.KeyTTL(ttl)); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("console revocation: %w", err)
	}
	return nil
}

// Revoked reports whether session was ended.
func (r revocations) Revoked(ctx context.Context, session string) (bool, error) {
	_, err := r.kv.Get(ctx, revocationKey(session))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return false, nil
	}
	return false, fmt.Errorf("console revocation: %w", err)
}
