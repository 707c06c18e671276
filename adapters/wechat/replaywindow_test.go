package wechat

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"hotline/adapters/replay"
	"hotline/bus/bustest"
)

// An account that runs without a replay window says so once at
// start-up; one with a window says nothing.
func TestNoReplayWindowWarnsAtStart(t *testing.T) {
	b := bustest.Open(t)
	for _, tc := range []struct {
		window time.Duration
		warn   bool
	}{{0, true}, {5 * time.Minute, false}} {
		var logs bytes.Buffer
		if _, err := New(testConfig("http://127.0.0.1:1", time.Second, tc.window), Deps{Bus: b, Logger: slog.New(slog.NewTextHandler(&logs, nil))}); err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(logs.String(), replay.NoWindowWarning[:40]); got != map[bool]int{true: 1, false: 0}[tc.warn] {
			t.Errorf("replay_window %v: warned %d times, want warn=%v:\n%s", tc.window, got, tc.warn, logs.String())
		}
		if tc.warn && !strings.Contains(logs.String(), "level=WARN") {
			t.Errorf("replay_window 0: not logged at warn level:\n%s", logs.String())
		}
	}
}
