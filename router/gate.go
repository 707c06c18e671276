package router

import (
	"context"

	"hotline/envelope"
)

// Gate applies the degraded modes operators switch on during outages.
// The fallback package implements it; the router only asks.
type Gate interface {
	// Check is asked once per inbound message, before anything is
	// answered. static says whether the answer would be static help
	// (help, menu, status, FAQ), which read-only mode still gives.
	Check(ctx context.Context, m *envelope.Message, static bool) Decision
}

// Decision says how modes change one message's handling.
type Decision struct {
	// Refuse, when set, is the text key to answer with instead of the
	// normal answer (read_only, busy); an empty Refuse answers normally.
	Refuse string
	// Silent suppresses every reply (over the rate limit after the one
	// busy notice); the message is still stored and recorded.
	Silent bool
	// DeferHandoff queues a handoff for later even when the answer was
	// refused, so nothing the user asked is lost.
	DeferHandoff bool
	// HoldForReview sends bot replies other than static help to the
	// review queue instead of the user.
	HoldForReview bool
	// Announcement is incident text per language, added to replies and
	// to STATUS.
	Announcement map[string]string
}

// NormalGate is the gate with no mode on.
type NormalGate struct{}

// Check answers every message normally.
func (NormalGate) Check(context.Context, *envelope.Message, bool) Decision { return Decision{} }

var _ Gate = NormalGate{}
