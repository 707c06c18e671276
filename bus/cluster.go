package bus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Kinds of replicated group a ClusterReport lists.
const (
	KindStream = "stream"
	KindKV     = "kv"
	KindObject = "object"
)

// ClusterReport is where this bus's NATS runs and how every stream and
// bucket hotline owns is replicated, for `hotline status`.
type ClusterReport struct {
	// Embedded is a single in-process server: no cluster, no replicas.
	Embedded bool `json:"embedded"`
	// Cluster is the NATS cluster's name; empty on a single server.
	Cluster string `json:"cluster,omitempty"`
	// Connected is the name of the server this client talks to, and
	// URL its address (credentials redacted; empty when embedded).
	Connected string `json:"connected"`
	URL       string `json:"url,omitempty"`
	// Known are the server URLs the client may move to: those
	// configured and those the cluster told it about.
	Known []string `json:"known,omitempty"`
	// Servers are every server named as a leader or replica of a
	// group, and the connected one.
	Servers []ClusterServer `json:"servers"`
	// Groups are the streams, then the KV buckets, then the object
	// stores.
	Groups []GroupReplicas `json:"groups"`
}

// ClusterServer is one server of the cluster as the groups see it.
type ClusterServer struct {
	Name string `json:"name"`
	// Reachable: this client is connected to it, it leads a group, or a
	// group's leader reports it current.
	Reachable bool `json:"reachable"`
	Connected bool `json:"connected,omitempty"`
	// Leads counts the groups it leads.
	Leads int `json:"leads"`
}

// GroupReplicas is one stream's (or bucket's) raft group.
type GroupReplicas struct {
	Name string `json:"name"` // the stream's or the bucket's name
	Kind string `json:"kind"` // KindStream, KindKV or KindObject
	// Replicas is what the group is configured with.
	Replicas int    `json:"replicas"`
	Leader   string `json:"leader,omitempty"`
	// Followers are the replicas besides the leader (all of them while
	// there is no leader).
	Followers []Replica `json:"followers,omitempty"`
	// Quorum: a leader and, with it, a majority of the replicas up.
	Quorum bool `json:"quorum"`
	// Error is why the group's state could not be read (a timeout when
	// it has no leader).
	Error string `json:"error,omitempty"`
}

// Replica is one follower of a group, as its leader sees it.
type Replica struct {
	Name string `json:"name"`
	// Current: caught up with the leader and heard from recently.
	Current bool `json:"current"`
	Offline bool `json:"offline,omitempty"`
	// Lag is how many operations it is behind the leader.
	Lag uint64 `json:"lag,omitempty"`
	// Active is how long ago the leader last heard from it.
	Active time.Duration `json:"active"`
}

// groupInfoTimeout bounds each group's info request: a group without a
// leader does not answer at all, and a status page must not wait out the
// caller's whole deadline on every one of them.
const groupInfoTimeout = 1500 * time.Millisecond

// peerSilence is how long a follower may go unheard before it no longer
// counts towards quorum: nats-server's own lost-quorum interval.
const peerSilence = 10 * time.Second

// Cluster reports the NATS servers this bus uses and the replication of
// every stream and bucket. A group whose state cannot be read is listed
// with its error; only a connection that is down fails the whole report.
func (b *Bus) Cluster(ctx context.Context) (ClusterReport, error) {
	if st := b.nc.Status(); st != nats.CONNECTED {
		return ClusterReport{}, fmt.Errorf("bus: cluster: nats connection is %s", st)
	}
	rep := ClusterReport{Embedded: b.srv != nil, Cluster: b.nc.ConnectedClusterName(), Connected: b.nc.ConnectedServerName()}
	if !rep.Embedded {
		rep.URL = b.nc.ConnectedUrlRedacted()
		rep.Known = b.nc.Servers()
	}
	groups := b.groups()
	rep.Groups = make([]GroupReplicas, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Go(func() { rep.Groups[i] = b.groupReplicas(ctx, g) })
	}
	wg.Wait()
	rep.Servers = clusterServers(rep.Connected, rep.Groups)
	return rep, nil
}

// group is one stream or bucket and the stream that holds it.
type group struct {
	name, kind, stream string
}

// groups lists every stream and bucket hotline owns, in a fixed order.
func (b *Bus) groups() []group {
	var out []group
	for _, s := range streamSpecs() {
		out = append(out, group{s.name, KindStream, s.name})
	}
	buckets := map[string]bool{}
	for _, kc := range b.bucketConfigs() {
		out = append(out, group{kc.Bucket, KindKV, "KV_" + kc.Bucket})
		buckets[kc.Bucket] = true
	}
	b.ownMu.RLock()
	own := slices.Sorted(maps.Keys(b.own))
	b.ownMu.RUnlock()
	for _, name := range own {
		if !buckets[name] {
			out = append(out, group{name, KindKV, "KV_" + name})
		}
	}
	for _, oc := range b.objectStoreConfigs() {
		out = append(out, group{oc.Bucket, KindObject, "OBJ_" + oc.Bucket})
	}
	return out
}

// groupReplicas reads one group's raft state from its leader.
func (b *Bus) groupReplicas(ctx context.Context, g group) GroupReplicas {
	info, err := b.streamInfo(ctx, g.stream)
	if err != nil {
		return GroupReplicas{Name: g.name, Kind: g.kind, Error: err.Error()}
	}
	return groupFromInfo(g.name, g.kind, info)
}

// groupFromInfo is what a stream's info says about its raft group.
func groupFromInfo(name, kind string, info *jetstream.StreamInfo) GroupReplicas {
	out := GroupReplicas{Name: name, Kind: kind, Replicas: max(1, info.Config.Replicas)}
	if info.Cluster == nil {
		// No raft state reported: a single server runs the stream.
		out.Quorum = true
		return out
	}
	out.Leader = info.Cluster.Leader
	for _, p := range info.Cluster.Replicas {
		if p != nil {
			out.Followers = append(out.Followers, Replica{Name: p.Name, Current: p.Current, Offline: p.Offline, Lag: p.Lag, Active: p.Active})
		}
	}
	out.Quorum = upReplicas(out.Leader, out.Followers) > out.Replicas/2
	return out
}

// streamInfo asks the stream's leader for its state within
// groupInfoTimeout.
func (b *Bus) streamInfo(ctx context.Context, stream string) (*jetstream.StreamInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, groupInfoTimeout)
	defer cancel()
	st, err := b.js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	return st.CachedInfo(), nil
}

// upReplicas counts the leader, if any, and the followers that are
// online and were heard from within peerSilence. Lagging followers
// count: they are up, and catching up is what they do.
func upReplicas(leader string, followers []Replica) int {
	if leader == "" {
		return 0
	}
	up := 1
	for _, f := range followers {
		if !f.Offline && f.Active <= peerSilence {
			up++
		}
	}
	return up
}

// clusterServers names every server the groups mention, and which of
// them are reachable.
func clusterServers(connected string, groups []GroupReplicas) []ClusterServer {
	byName := map[string]*ClusterServer{}
	server := func(name string) *ClusterServer {
		s, ok := byName[name]
		if !ok {
			s = &ClusterServer{Name: name}
			byName[name] = s
		}
		return s
	}
	if connected != "" {
		s := server(connected)
		s.Connected, s.Reachable = true, true
	}
	for _, g := range groups {
		if g.Leader != "" {
			s := server(g.Leader)
			s.Reachable = true
			s.Leads++
		}
		for _, f := range g.Followers {
			s := server(f.Name)
			s.Reachable = s.Reachable || (g.Leader != "" && f.Current && !f.Offline)
		}
	}
	out := make([]ClusterServer, 0, len(byName))
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		out = append(out, *byName[name])
	}
	return out
}

// streamQuorum checks that stream has a leader and, with it, a majority
// of its replicas up, answering within groupInfoTimeout: a stream without
// a leader does not answer at all.
func (b *Bus) streamQuorum(ctx context.Context, stream string) error {
	info, err := b.streamInfo(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	if err != nil {
		return fmt.Errorf("no quorum for %s: stream info: %w", stream, err)
	}
	g := groupFromInfo(stream, KindStream, info)
	switch {
	case g.Quorum:
		return nil
	case g.Leader == "":
		return fmt.Errorf("no quorum for %s: no leader", stream)
	default:
		return fmt.Errorf("no quorum for %s: %d of %d replicas up (leader %s)", stream, upReplicas(g.Leader, g.Followers), g.Replicas, g.Leader)
	}
}
