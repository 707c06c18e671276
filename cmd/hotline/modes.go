package main

import (
	"context"
	"errors"

	"hotline/fallback"
	"hotline/outbound"
)

// autoModes lets the outbound loops engage and release sms_fallback
// through the mode store; an operator's own setting always wins.
type autoModes struct{ store *fallback.Store }

var _ outbound.Modes = autoModes{}

func (m autoModes) SMSFallback(platform, account string) (on, auto bool) {
	s := m.store.Active(platform, account).SMSFallback
	return s != nil, s != nil && s.Auto()
}

func (m autoModes) EngageAuto(ctx context.Context, platform, account, reason string) error {
	_, err := m.store.Set(ctx, fallback.Setting{
		Mode:   fallback.ModeSMSFallback,
		Scope:  fallback.Scope{Platform: platform, Account: account},
		Reason: reason,
		SetBy:  fallback.SetByAuto,
	})
	if errors.Is(err, fallback.ErrOperatorOwns) {
		return nil
	}
	return err
}

func (m autoModes) ReleaseAuto(ctx context.Context, platform, account string) error {
	err := m.store.ClearAuto(ctx, fallback.ModeSMSFallback, fallback.Scope{Platform: platform, Account: account})
	if errors.Is(err, fallback.ErrNotSet) || errors.Is(err, fallback.ErrOperatorOwns) {
		return nil
	}
	return err
}

func (m autoModes) Changed() <-chan struct{} { return m.store.Changed() }
