package fallback

import (
	"context"
	"errors"
)

// The Store is also what the delivery loops ask about sms_fallback
// (outbound.Modes): whether replies go by SMS, and the automatic setting
// a loop makes when its circuit opens and clears when it closes. An
// operator's own setting always wins over these.

// SMSFallback reports whether sms_fallback is in force for the account
// and whether hotline set it by itself.
func (s *Store) SMSFallback(platform, account string) (on, auto bool) {
	set := s.Active(platform, account).SMSFallback
	return set != nil, set != nil && set.Auto()
}

// EngageAuto switches sms_fallback on for the account, set by "auto",
// unless an operator has a setting there (then it does nothing).
func (s *Store) EngageAuto(ctx context.Context, platform, account, reason string) error {
	_, err := s.Set(ctx, Setting{
		Mode:   ModeSMSFallback,
		Scope:  Scope{Platform: platform, Account: account},
		Reason: reason,
		SetBy:  SetByAuto,
	})
	if errors.Is(err, ErrOperatorOwns) {
		return nil
	}
	return err
}

// ReleaseAuto clears the account's automatic sms_fallback; an operator's
// setting, or none, is left as it is.
func (s *Store) ReleaseAuto(ctx context.Context, platform, account string) error {
	err := s.ClearAuto(ctx, ModeSMSFallback, Scope{Platform: platform, Account: account})
	if errors.Is(err, ErrNotSet) || errors.Is(err, ErrOperatorOwns) {
		return nil
	}
	return err
}
