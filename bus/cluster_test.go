package bus_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"hotline/bus"
	"hotline/bus/bustest"
)

// streamLeader is the server leading stream on b's cluster, or "" while
// it has none (or its info cannot be read).
func streamLeader(t *testing.T, b *bus.Bus, stream string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := b.JetStream().Stream(ctx, stream)
	if err != nil {
		return ""
	}
	info, err := st.Info(ctx)
	if err != nil || info.Cluster == nil {
		return ""
	}
	return info.Cluster.Leader
}

// TestClusterStreamSurvivesItsLeader: on three nodes with three
// replicas, HOTLINE_IN elects a new leader when its leader goes, keeps
// what it had stored, and the old leader catches up on it when it comes
// back.
func TestClusterStreamSurvivesItsLeader(t *testing.T) {
	t.Parallel()
	c := bustest.StartCluster(t, 3)
	b := bustest.OpenOn(t, c, 3, "cluster-test")
	ctx := context.Background()

	const subject, payload = "hotline.in.sms.main", "before the leader went"
	if _, err := b.JetStream().Publish(ctx, subject, []byte(payload), jetstream.WithMsgID("cluster-1")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	old := streamLeader(t, b, bus.StreamIn)
	if c.Index(old) < 0 {
		t.Fatalf("HOTLINE_IN leader is %q, want one of the cluster's nodes", old)
	}

	c.Kill(c.Index(old))
	var leader string
	bustest.WaitFor(t, "HOTLINE_IN to elect a new leader", func() bool {
		leader = streamLeader(t, b, bus.StreamIn)
		return leader != "" && leader != old
	})
	if got := bustest.Messages(t, b, bus.StreamIn, subject); len(got) != 1 || string(got[0]) != payload {
		t.Fatalf("under the new leader %s HOTLINE_IN holds %q, want [%q]", leader, got, payload)
	}

	c.Restart(c.Index(old))
	c.WaitHealthy(t)
	// The restarted node's own copy, not the leader's: it caught up on
	// the message stored before it went.
	acc, err := c.Server(c.Index(old)).JszAccount(&server.JSzOptions{Account: server.DEFAULT_GLOBAL_ACCOUNT, Streams: true})
	if err != nil {
		t.Fatalf("jsz on %s: %v", old, err)
	}
	var msgs uint64
	for _, sd := range acc.Streams {
		if sd.Name == bus.StreamIn {
			msgs = sd.State.Msgs
		}
	}
	if msgs != 1 {
		t.Fatalf("the restarted %s holds %d messages of HOTLINE_IN, want 1", old, msgs)
	}
}

// TestClusterReport: the report names the servers and, for every stream
// and bucket, a leader with quorum; on the embedded server that is the
// one server.
func TestClusterReport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		open     func(t *testing.T) *bus.Bus
		embedded bool
		servers  []string
		replicas int
	}{
		{"embedded", func(t *testing.T) *bus.Bus { return bustest.Open(t) }, true, []string{"hotline"}, 1},
		{"three nodes", func(t *testing.T) *bus.Bus {
			return bustest.OpenOn(t, bustest.StartCluster(t, 3), 3, "report-test")
		}, false, []string{"n1", "n2", "n3"}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := tc.open(t)
			rep, err := b.Cluster(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if rep.Embedded != tc.embedded {
				t.Errorf("embedded %v, want %v", rep.Embedded, tc.embedded)
			}
			var names []string
			for _, s := range rep.Servers {
				if !s.Reachable {
					t.Errorf("server %s unreachable", s.Name)
				}
				names = append(names, s.Name)
			}
			if !slices.Equal(names, tc.servers) {
				t.Errorf("servers %v, want %v", names, tc.servers)
			}
			if len(rep.Groups) == 0 || rep.Groups[0].Name != bus.StreamIn {
				t.Fatalf("groups %+v, want HOTLINE_IN first", rep.Groups)
			}
			for _, g := range rep.Groups {
				if g.Error != "" || g.Leader == "" || !g.Quorum || g.Replicas != tc.replicas || len(g.Followers) != tc.replicas-1 {
					t.Errorf("%s %s: %+v, want a leader with quorum and %d followers", g.Kind, g.Name, g, tc.replicas-1)
				}
			}
			if err := b.Ready(context.Background()); err != nil {
				t.Errorf("ready: %v", err)
			}
		})
	}
}
