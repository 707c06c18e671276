package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSecondServeOnAStoreExits2: a serve pointed at the store dir a
// running serve uses stops at once with exit status 2 and one line that
// names the dir, instead of a second NATS server corrupting the store.
func TestSecondServeOnAStoreExits2(t *testing.T) {
	t.Parallel()
	store := t.TempDir()
	startServe(t, testConfig(t, store))

	file := filepath.Join(t.TempDir(), "hotline.yaml")
	yaml := fmt.Sprintf("http: {listen: \"127.0.0.1:0\", admin_listen: \"127.0.0.1:0\"}\nnats: {store_dir: %q}\n", store)
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	// Bounded, so that a second serve that does start stops again and
	// the test fails on its exit status rather than hanging.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"serve", "--config", file, "--log-level", "error"}, &stdout, &stderr)
	if code != exitUsage {
		t.Fatalf("second serve exited %d, want %d; stderr: %s", code, exitUsage, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	last := lines[len(lines)-1]
	for _, want := range []string{"hotline: ", store, "in use by another hotline serve", "pid ", "nats.store_dir"} {
		if !strings.Contains(last, want) {
			t.Errorf("last stderr line %q does not contain %q", last, want)
		}
	}
}
