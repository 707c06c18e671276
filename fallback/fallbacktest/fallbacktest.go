// Package fallbacktest wires degraded modes into a test gateway the way
// serve does, for the adapters' end-to-end tests.
package fallbacktest

import (
	"context"
	"testing"

	"hotline/bus"
	"hotline/envelope"
	"hotline/fallback"
	"hotline/outbound"
	"hotline/outbound/outboundtest"
	"hotline/router"
)

// SMSAccount is the SMS account the wired gateway reroutes to.
const SMSAccount = "sms-main"

// Modes is what Wire adds to a gateway.
type Modes struct {
	Store    *fallback.Store
	Bindings *fallback.Bindings
	// SMS is the fake provider behind SMSAccount; RunSMS runs its loop.
	SMS    *outboundtest.Platform
	RunSMS func(context.Context) error
}

// Wire gives the router and the delivery loop of a test gateway the mode
// store, its gate and the phone bindings, with SMSAccount as the fallback
// account, as serve does. The caller runs RunSMS beside its own loops.
func Wire(ctx context.Context, t testing.TB, b *bus.Bus, rcfg *router.Config, rdeps *router.Deps, ocfg *outbound.Config, odeps *outbound.Deps) Modes {
	t.Helper()
	store, err := fallback.NewStore(ctx, b, fallback.StoreDeps{})
	if err != nil {
		t.Fatal(err)
	}
	bindings := fallback.NewBindings(b.KV(bus.BucketBindings))
	rcfg.SMSAccount = SMSAccount
	rdeps.Gate, rdeps.Binder = fallback.NewGate(store, fallback.RateConfig{}, nil), bindings
	ocfg.SMSAccount = SMSAccount
	odeps.Modes, odeps.Phones = store, bindings
	provider := outboundtest.NewPlatform(t)
	loop, err := outbound.New(outbound.Config{Platform: envelope.PlatformSMS, Account: SMSAccount, Backoff: ocfg.Backoff},
		outbound.Deps{Bus: b, Sender: provider.Sender(), Logger: odeps.Logger})
	if err != nil {
		t.Fatal(err)
	}
	return Modes{Store: store, Bindings: bindings, SMS: provider, RunSMS: loop.Run}
}
