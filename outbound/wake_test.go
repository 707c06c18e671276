package outbound_test

import (
	"fmt"
	"testing"
	"time"

	"hotline/bus/bustest"
	"hotline/envelope"
	"hotline/outbound/outboundtest"
)

// Replies held by an operator's sms_fallback (their users have no phone)
// leave the moment the mode clears, not at the next recheck.
func TestClearingModeReleasesHeldRepliesAtOnce(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	p := outboundtest.NewPlatform(t)
	cfg := fastConfig("telegram", "tg-main")
	cfg.HoldRecheck = time.Hour // only the wake can release them
	cfg.SMSAccount = "sms-main"
	modes := newModes(true, false) // an operator's
	startLoop(t, b, cfg, p.Sender(), modes, phoneBook(nil))
	var rs []envelope.Reply
	for i := range 6 {
		r := reply("telegram", "tg-main", fmt.Sprint("u", i%3), fmt.Sprint("held ", i))
		rs = append(rs, r)
		publish(t, b, r)
	}
	bustest.WaitFor(t, "every reply held", func() bool {
		n := 0
		for _, r := range rs {
			if got := statuses(t, b, r.ID); len(got) == 1 && got[0] == envelope.StateHeld {
				n++
			}
		}
		return n == len(rs)
	})
	if n := len(p.Calls()); n != 0 {
		t.Fatalf("%d sends while sms_fallback held the replies", n)
	}
	cleared := time.Now()
	modes.set(false)
	bustest.WaitFor(t, "held replies delivered", func() bool {
		for _, r := range rs {
			if p.Count(r.ID) != 1 {
				return false
			}
		}
		return true
	})
	took := time.Since(cleared)
	t.Logf("%d held replies delivered %v after the mode cleared", len(rs), took)
	if took > 5*time.Second {
		t.Errorf("held replies left %v after the clear; a wake should release them at once", took)
	}
	if n := len(deadLetters(t, b)); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
}

// After an outage the circuit's probe succeeds and every reply it held
// leaves at once: the wait is the probe's, never the hold's full time.
func TestRecoveredPlatformReleasesHeldRepliesAtOnce(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	p := outboundtest.NewPlatform(t)
	p.SetMode("down")
	cfg := fastConfig("telegram", "tg-main")
	cfg.Backoff = func(int) time.Duration { return time.Hour } // a failed send waits for the circuit, not its backoff
	cfg.BreakerProbe, cfg.BreakerOpen = 200*time.Millisecond, 400*time.Millisecond
	cfg.HoldRecheck = time.Hour
	l := startLoop(t, b, cfg, p.Sender(), nil, nil)
	var rs []envelope.Reply
	for i := range 8 {
		r := reply("telegram", "tg-main", fmt.Sprint("u", i), "x")
		rs = append(rs, r)
		publish(t, b, r)
	}
	bustest.WaitFor(t, "the circuit to open", func() bool { return l.CircuitState() == "open" })
	bustest.WaitFor(t, "a failed probe", func() bool { return len(p.Calls()) > int(cfg.BreakerFailures) })
	recovered := time.Now()
	p.SetMode("ok")
	bustest.WaitFor(t, "every held reply delivered", func() bool {
		for _, r := range rs {
			if p.Count(r.ID) != 1 {
				return false
			}
		}
		return true
	})
	took := time.Since(recovered)
	t.Logf("%d held replies delivered %v after the platform recovered (probe every %v at most)", len(rs), took, cfg.BreakerOpen)
	if took > 5*time.Second {
		t.Errorf("held replies left %v after recovery; want the next probe plus a moment", took)
	}
	if n := len(deadLetters(t, b)); n != 0 {
		t.Fatalf("%d dead letters: waiting on a circuit uses up no attempt", n)
	}
}
