package bus

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Opt-outs are written by several hands: the SMS adapter answering STOP
// at once, the router (which records it again, and handles START and
// unsubscribe events), and senders told by a platform that the user
// blocked the bot or opted out with the provider. They may arrive out of
// order — a redelivered STOP after the START that followed it — so every
// change carries the time of the message behind it, and one older than
// the last change applied is dropped. The time lives beside the state
// under t.<conversation>; the state itself stays a key that exists while
// the user is opted out, which is all that readers look at.

// optOutTimeKey is where the time of a conversation's last opt-out change
// is kept.
func optOutTimeKey(conversation string) string {
	return "t." + base64.RawURLEncoding.EncodeToString([]byte(conversation))
}

// SetOptOut opts conversation out (true) or back in (false) because of a
// message of time at. It reports false when a later change is already in
// place; applying the same change again is harmless.
func (b *Bus) SetOptOut(ctx context.Context, conversation string, out bool, at time.Time) (applied bool, err error) {
	kv := b.kv[BucketOptOut]
	tkey := optOutTimeKey(conversation)
	stamp := []byte(at.UTC().Format(time.RFC3339Nano))
	for range 8 {
		e, err := kv.Get(ctx, tkey)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			_, err = kv.Create(ctx, tkey, stamp)
		case err != nil:
			return false, fmt.Errorf("bus: opt-out order of %s: %w", conversation, err)
		default:
			last, perr := time.Parse(time.RFC3339Nano, string(e.Value()))
			if perr == nil && at.Before(last) {
				return false, nil
			}
			_, err = kv.Update(ctx, tkey, stamp, e.Revision())
		}
		if IsConflict(err) {
			continue // another change landed meanwhile: decide again
		}
		if err != nil {
			return false, fmt.Errorf("bus: opt-out order of %s: %w", conversation, err)
		}
		key := OptOutKey(conversation)
		if out {
			_, err = kv.Put(ctx, key, stamp)
		} else if err = kv.Delete(ctx, key); errors.Is(err, jetstream.ErrKeyNotFound) {
			err = nil
		}
		if err != nil {
			return false, fmt.Errorf("bus: opt-out of %s: %w", conversation, err)
		}
		return true, nil
	}
	return false, fmt.Errorf("bus: opt-out of %s: still contended", conversation)
}
