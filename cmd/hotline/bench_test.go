package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"hotline/config"
	"hotline/platform/builtin"
)

// TestBenchCommand runs a small bench end to end: every message answered,
// the figures and the machine printed. It says nothing about speed.
func TestBenchCommand(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs a bench; skipped with -short")
	}
	opts := benchOptions{Messages: 300, Conversations: 40, Senders: 4, Workers: 8, Timeout: time.Minute}
	res, err := runBench(context.Background(), config.DefaultFor(builtin.Platforms()), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 300 || res.Elapsed <= 0 || res.P50 <= 0 || res.P50 > res.P99 || res.P99 > res.Max || res.CPUs < 1 {
		t.Fatalf("implausible result %+v", res)
	}
	var out bytes.Buffer
	printBench(&out, res, opts)
	for _, want := range []string{"300 messages as fast as possible", "CPUs", "messages/s", "p99"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"bench", "--messages", "0"}, &stdout, &stderr); code != 2 {
		t.Errorf("bench --messages 0: exit %d, want 2 (usage): %s", code, stderr.String())
	}
}
