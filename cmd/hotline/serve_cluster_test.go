package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"hotline/bus/bustest"
	"hotline/config"
	"hotline/envelope"
)

// TestStatusShowsTheCluster: `hotline status` says where NATS runs: the
// embedded server alone, or every node of a cluster reachable and a
// leader with its current followers for each stream.
func TestStatusShowsTheCluster(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		nats func(t *testing.T, cfg *config.Config)
		// want are lines of the output, each as its leading fields.
		want [][]string
	}{
		{"embedded", func(*testing.T, *config.Config) {}, [][]string{
			{"CLUSTER", "embedded,", "single", "server", "hotline"},
		}},
		{"three nodes", func(t *testing.T, cfg *config.Config) {
			c := bustest.StartCluster(t, 3)
			cfg.NATS.URL, cfg.NATS.Replicas = envelope.Secret(c.URL()), 3
		}, [][]string{
			{"CLUSTER", "hotline-test,", "connected", "to"},
			{"n1", "yes"}, {"n2", "yes"}, {"n3", "yes"},
			{"stream", "HOTLINE_IN"}, {"stream", "HOTLINE_OUT"}, {"kv", "hotline_modes"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t, t.TempDir())
			tc.nats(t, &cfg)
			_, admin, _ := startServe(t, cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			if code := run(ctx, []string{"status", "--admin-url", "http://" + admin, "--token", testAdminToken}, &stdout, &stderr); code != exitOK {
				t.Fatalf("status exited %d: %s", code, stderr.String())
			}
			lines := strings.Split(stdout.String(), "\n")
			for _, want := range tc.want {
				found := slices.ContainsFunc(lines, func(line string) bool {
					fields := strings.Fields(line)
					return len(fields) >= len(want) && slices.Equal(fields[:len(want)], want)
				})
				if !found {
					t.Errorf("no line starting %q in:\n%s", strings.Join(want, " "), stdout.String())
				}
			}
			// Every group of a cluster has a leader and current followers.
			for _, line := range lines {
				if strings.Contains(line, "NO QUORUM") || strings.Contains(line, "lagging") || strings.Contains(line, "offline") {
					t.Errorf("a group is not well: %q", line)
				}
			}
		})
	}
}
