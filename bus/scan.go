package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// scanWindow is how many sequences ScanBack reads per request. One
// message per request made a 1,000-event delivery view cost about 90 ms;
// in windows it is a few requests.
const scanWindow = 256

// ScanBack hands a stream's messages to visit from the newest back, until
// visit returns false, the first message is passed, or maxScan sequences
// were looked at. Sequences removed by limits or by hand are skipped. It
// is how the operators' views (audit, review, dead letters, deliveries)
// read the recent end of a stream without a durable consumer: each
// window of sequences is read forward by a short-lived ordered consumer
// and handed over newest first.
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
	for end, scanned := last, uint64(0); end >= first && end > 0 && scanned < uint64(maxScan); {
		n := min(uint64(scanWindow), uint64(maxScan)-scanned, end-first+1)
		start := end - n + 1
		msgs, err := readRange(ctx, st, start, end)
		if err != nil {
			return fmt.Errorf("stream %s: read %d-%d: %w", stream, start, end, err)
		}
		for i := len(msgs) - 1; i >= 0; i-- {
			if !visit(msgs[i]) {
				return nil
			}
		}
		scanned += n
		end = start - 1
	}
	return nil
}

// readRange returns the messages stored from start to end, oldest first.
func readRange(ctx context.Context, st jetstream.Stream, start, end uint64) ([]*jetstream.RawStreamMsg, error) {
	c, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: start, InactiveThreshold: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	defer func() {
		// Gone now rather than at its inactivity threshold: a console
		// polling the view would otherwise keep dozens alive.
		if info := c.CachedInfo(); info != nil {
			_ = st.DeleteConsumer(context.WithoutCancel(ctx), info.Name)
		}
	}()
	var out []*jetstream.RawStreamMsg
	for {
		batch, err := c.FetchNoWait(int(end - start + 1))
		if err != nil {
			return nil, err
		}
		got := 0
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				return nil, err
			}
			if md.Sequence.Stream > end {
				return out, nil
			}
			out = append(out, &jetstream.RawStreamMsg{Subject: m.Subject(), Sequence: md.Sequence.Stream, Header: m.Headers(), Data: m.Data(), Time: md.Timestamp})
			if md.Sequence.Stream == end {
				return out, nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, err
		}
		if got == 0 {
			return out, nil // nothing more stored in the range (removed at its end)
		}
	}
}
