package router

import (
	"context"

	"hotline/envelope"
	"hotline/fallback"
)

// Gate applies the degraded modes operators switch on during outages.
// The fallback package implements it; the router only asks.
type Gate interface {
	// Check is asked once per inbound message, before anything is
	// answered. static says whether the answer would be static help
	// (help, menu, status, FAQ), which read-only mode still gives.
	Check(ctx context.Context, m *envelope.Message, static bool) fallback.Decision
}

// NormalGate is the gate with no mode on.
type NormalGate struct{}

// Check answers every message normally.
func (NormalGate) Check(context.Context, *envelope.Message, bool) fallback.Decision {
	return fallback.Decision{}
}

var _ Gate = NormalGate{}
