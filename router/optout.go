package router

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"hotline/bus"
)

// optOutView is a live copy of the hotline_optout bucket, kept by a KV
// watch, so checking a user costs no round trip. Changes made by this
// router apply to the view at once; changes from elsewhere (the SMS
// adapter's STOP, another instance) arrive through the watch within
// milliseconds. The outbound loop checks again before sending.
type optOutView struct {
	kv   jetstream.KeyValue
	mu   sync.RWMutex
	keys map[string]bool // keys of opted-out conversations
}

// watchOptOuts loads the bucket and keeps following it until ctx ends or
// the connection closes.
func watchOptOuts(ctx context.Context, kv jetstream.KeyValue, log *slog.Logger) (*optOutView, error) {
	v := &optOutView{kv: kv, keys: map[string]bool{}}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("opt-out watch: %w", err)
	}
	ready := make(chan struct{})
	go func() {
		defer func() { _ = w.Stop() }()
		initial := true
		for e := range w.Updates() {
			if e == nil { // the current values have all arrived
				if initial {
					close(ready)
					initial = false
				}
				continue
			}
			v.mu.Lock()
			if e.Operation() == jetstream.KeyValuePut {
				v.keys[e.Key()] = true
			} else {
				delete(v.keys, e.Key())
			}
			v.mu.Unlock()
		}
		if initial {
			close(ready)
		}
		if ctx.Err() == nil {
			// The view no longer follows the bucket; the delivery
			// loops still check the bucket itself before sending.
			log.Error("opt-out watch ended; the router's opt-out view is frozen until restart")
		}
	}()
	select {
	case <-ready:
		return v, nil
	case <-ctx.Done():
		_ = w.Stop()
		return nil, fmt.Errorf("opt-out watch: %w", ctx.Err())
	case <-time.After(10 * time.Second):
		_ = w.Stop()
		return nil, fmt.Errorf("opt-out watch: no initial values after 10s")
	}
}

func (v *optOutView) has(conversation string) bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.keys[bus.OptOutKey(conversation)]
}

// set opts the conversation out (true) or back in (false) because of a
// message of time at, in the bucket and the view; a change older than the
// last one applied (a redelivered STOP after a START) changes nothing.
func (v *optOutView) set(ctx context.Context, b *bus.Bus, conversation string, out bool, at time.Time) error {
	key := bus.OptOutKey(conversation)
	applied, err := b.SetOptOut(ctx, conversation, out, at)
	if err != nil {
		return fmt.Errorf("opt-out: %w", err)
	}
	if !applied {
		return nil
	}
	v.mu.Lock()
	if out {
		v.keys[key] = true
	} else {
		delete(v.keys, key)
	}
	v.mu.Unlock()
	return nil
}
