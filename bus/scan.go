package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// ScanBack hands a stream's messages to visit from the newest back, until
// visit returns false, the first message is passed, or maxScan sequences
// were looked at. Sequences removed by limits or by hand are skipped. It
// is how the operators' views (audit, review, dead letters, deliveries)
// read the recent end of a stream without a consumer.
func (b *Bus) ScanBack(ctx context.Context, stream string, maxScan int, visit func(*jetstream.RawStreamMsg) bool) error {
	st, err := b.js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream %s: info: %w", stream, err)
	}
	first, last := info.State.FirstSeq, info.State.LastSeq
	if info.State.Msgs == 0 || last == 0 {
		return nil
	}
	for seq, n := last, 0; seq >= first && seq > 0 && n < maxScan; seq, n = seq-1, n+1 {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("stream %s: get %d: %w", stream, seq, err)
		}
		if !visit(m) {
			return nil
		}
	}
	return nil
}
