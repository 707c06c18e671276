package modem

import (
	"context"

	"hotline/adapters/sms/modem/at"
)

// poll is the periodic check: signal, registration and memory, anything
// stored without an indication, and long messages whose parts waited
// long enough.
func (a *Adapter) poll(ctx context.Context, c *at.Conn) error {
	if err := a.checkHealth(ctx, c); err != nil {
		return err
	}
	if err := a.sweep(ctx, c); err != nil {
		return err
	}
	a.flushParts(ctx)
	return nil
}
