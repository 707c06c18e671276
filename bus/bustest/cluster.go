package bustest

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"hotline/bus"
)

// clusterName is the NATS cluster name every harness node shares.
const clusterName = "hotline-test"

// clusterDeadline bounds each wait on the cluster (start, rejoin,
// healthy): elections after a clean shutdown take well under a second,
// a fresh meta group a second or two, groups that lost quorum up to the
// raft election timeout (9 s).
const clusterDeadline = 30 * time.Second

// Cluster is a NATS cluster of JetStream servers running inside the test
// process on loopback, for tests of what hotline does when a node goes
// away and comes back.
type Cluster struct {
	t     testing.TB
	mu    sync.Mutex
	nodes []*clusterNode
}

// clusterNode is one server and what it needs to start again as itself.
// Clients reach it through client, and node j reaches it through
// routes[j] (its own entry unused): Crash cuts those.
type clusterNode struct {
	name        string
	clientPort  int
	clusterPort int
	storeDir    string
	srv         *server.Server // nil while killed
	client      *proxy
	routes      []*proxy
}

// StartCluster starts n JetStream servers (named n1..nN) routed to each
// other, waits until they have elected a JetStream meta leader and every
// one is current with it, and shuts them all down when the test ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("cluster: %d nodes", n)
	}
	c := &Cluster{t: t}
	// Clients and peers reach a node only through its proxies, whose
	// addresses do not change; the node's own ports are the kernel's
	// choice at first start and kept for Restart (start points the
	// proxies at them).
	for i := range n {
		nd := &clusterNode{name: fmt.Sprintf("n%d", i+1), storeDir: t.TempDir()}
		nd.client = newProxy(t)
		for range n {
			nd.routes = append(nd.routes, newProxy(t))
		}
		c.nodes = append(c.nodes, nd)
	}
	t.Cleanup(c.shutdown)
	for i := range c.nodes {
		if err := c.start(i); err != nil {
			t.Fatalf("cluster: %v", err)
		}
	}
	c.waitMeta(t)
	return c
}

// options are node i's server options; every start builds them afresh
// because the server keeps and changes the ones it is given.
func (c *Cluster) options(i int) *server.Options {
	nd := c.nodes[i]
	var routes []*url.URL
	for j, peer := range c.nodes {
		if j != i {
			// Through the proxy for this pair, which Crash can cut.
			routes = append(routes, &url.URL{Scheme: "nats", Host: peer.routes[i].addr()})
		}
	}
	return &server.Options{
		ServerName: nd.name,
		Host:       "127.0.0.1",
		Port:       portOrRandom(nd.clientPort),
		// Clients learn the other nodes' proxies, not their ports.
		ClientAdvertise: nd.client.addr(),
		NoSigs:          true,
		NoLog:           true,
		JetStream:       true,
		StoreDir:        nd.storeDir,
		// As in the embedded server: every hotline stream is on disk.
		JetStreamMaxMemory: 64 << 20,
		// A real deployment sizes this from its disk (the default is
		// 75% of what is free); a bound keeps three nodes on one test
		// machine from each reserving most of the same disk.
		JetStreamMaxStore: 4 << 30,
		Cluster: server.ClusterOpts{
			Name: clusterName,
			Host: "127.0.0.1",
			Port: portOrRandom(nd.clusterPort),
			// Every route is configured, through its proxy; a node
			// gossiping its own address would let peers go around it.
			NoAdvertise: true,
		},
		Routes: routes,
		// nats-server's raft timings (heartbeat 1 s, election timeout
		// 4-9 s, lost quorum after 10 s) are the production ones and
		// cannot be set through Options; the harness keeps them.
	}
}

// portOrRandom is port, or nats-server's "any free port" before the
// node first started. Picking a free port ahead and binding it later
// lost races on a busy CI machine (another test's connection took it
// in between, and the server never came up).
func portOrRandom(port int) int {
	if port == 0 {
		return server.RANDOM_PORT
	}
	return port
}

// start runs node i on its store, and on the ports it had before if it
// ran before; it points the node's proxies at them.
func (c *Cluster) start(i int) error {
	nd := c.nodes[i]
	srv, err := server.NewServer(c.options(i))
	if err != nil {
		return fmt.Errorf("node %s: %w", nd.name, err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return fmt.Errorf("node %s: not ready for connections after 10s (client port %d, cluster port %d; 0 is any)", nd.name, nd.clientPort, nd.clusterPort)
	}
	nd.clientPort = srv.Addr().(*net.TCPAddr).Port
	nd.clusterPort = srv.ClusterAddr().Port
	nd.client.point(net.JoinHostPort("127.0.0.1", strconv.Itoa(nd.clientPort)))
	for _, p := range nd.routes {
		p.point(net.JoinHostPort("127.0.0.1", strconv.Itoa(nd.clusterPort)))
	}
	c.mu.Lock()
	nd.srv = srv
	c.mu.Unlock()
	return nil
}

// running returns the servers that are up, by index.
func (c *Cluster) running() map[int]*server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[int]*server.Server{}
	for i, nd := range c.nodes {
		if nd.srv != nil {
			out[i] = nd.srv
		}
	}
	return out
}

// waitMeta waits until one running node leads the JetStream meta group
// and every running node is current with it.
func (c *Cluster) waitMeta(t testing.TB) {
	t.Helper()
	c.poll(t, "a JetStream meta leader with every node current", func() string {
		leader := false
		for i, srv := range c.running() {
			if !srv.JetStreamIsCurrent() {
				return c.nodes[i].name + " is not current with the meta group"
			}
			leader = leader || srv.JetStreamIsLeader()
		}
		if !leader {
			return "no node leads the meta group"
		}
		return ""
	})
}

// poll calls check until it returns "", failing the test with check's
// last answer after clusterDeadline.
func (c *Cluster) poll(t testing.TB, what string, check func() string) {
	t.Helper()
	deadline := time.After(clusterDeadline)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		why := check()
		if why == "" {
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("cluster: no %s after %s: %s", what, clusterDeadline, check())
		}
	}
}

// URL lists every node's client URL, comma-separated, as bus.Config.URL
// takes them: a client keeps all of them and moves to another when its
// server goes away.
func (c *Cluster) URL() string {
	urls := make([]string, len(c.nodes))
	for i, nd := range c.nodes {
		urls[i] = "nats://" + nd.client.addr()
	}
	return strings.Join(urls, ",")
}

// Len is the number of nodes, running or not.
func (c *Cluster) Len() int { return len(c.nodes) }

// Name is node i's server name (n1, n2, ...), as stream leaders and
// replicas are reported.
func (c *Cluster) Name(i int) string { return c.nodes[i].name }

// Index returns the index of the node with the given server name, or -1.
func (c *Cluster) Index(name string) int {
	for i, nd := range c.nodes {
		if nd.name == name {
			return i
		}
	}
	return -1
}

// Server returns node i's server, or nil while it is killed.
func (c *Cluster) Server(i int) *server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].srv
}

// Kill shuts node i down and waits until it is gone. nats-server hands
// off the leaderships it holds as it shuts down, as it does on SIGTERM,
// so the other nodes elect new leaders within a second; a node that
// crashes (SIGKILL, power loss) leaves them to notice by missed
// heartbeats, which takes the raft election timeout (4-9 s).
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	c.mu.Lock()
	srv := c.nodes[i].srv
	c.nodes[i].srv = nil
	c.mu.Unlock()
	if srv == nil {
		c.t.Fatalf("cluster: kill %s: not running", c.nodes[i].name)
	}
	srv.Shutdown()
	srv.WaitForShutdown()
}

// Crash takes node i away as SIGKILL or a power cut would: every
// connection to it, from clients and from the other nodes, drops at once
// and no leadership is handed over, so the others notice by missed
// heartbeats and elect after the raft election timeout (4-9 s). The
// node itself is then stopped, cut off, so nothing it says on the way
// out reaches anyone. Restart brings it back.
func (c *Cluster) Crash(i int) {
	c.t.Helper()
	c.isolate(i, true)
	c.Kill(i)
}

// isolate cuts node i off from clients and peers, or lets them in again.
func (c *Cluster) isolate(i int, cut bool) {
	nd := c.nodes[i]
	nd.client.cut(cut)
	for j, peer := range c.nodes {
		if j != i {
			nd.routes[j].cut(cut)
			peer.routes[i].cut(cut)
		}
	}
}

// Restart starts node i again on its ports and store, so it rejoins the
// cluster and catches up on what it missed; WaitHealthy waits for that.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	if c.Server(i) != nil {
		c.t.Fatalf("cluster: restart %s: still running", c.nodes[i].name)
	}
	c.isolate(i, false)
	if err := c.start(i); err != nil {
		c.t.Fatalf("cluster: restart: %v", err)
	}
}

// WaitHealthy waits until every running node answers its health check
// (what nats-server's /healthz serves: JetStream current with the meta
// leader, every stream and consumer it hosts caught up) and every stream
// and consumer it hosts has a leader. After a quorum loss the groups
// elect only when their raft election timeout (4-9 s) runs out.
func (c *Cluster) WaitHealthy(t testing.TB) {
	t.Helper()
	c.waitMeta(t)
	c.poll(t, "healthy nodes", func() string {
		for i, srv := range c.running() {
			if h := srv.Healthz(nil); h.StatusCode != 200 {
				return fmt.Sprintf("%s: %s %s", c.nodes[i].name, h.Status, h.Error)
			}
			if why := leaderless(srv); why != "" {
				return c.nodes[i].name + ": " + why
			}
		}
		return ""
	})
}

// leaderless names a stream or consumer srv hosts that has no leader,
// or returns "".
func leaderless(srv *server.Server) string {
	acc, err := srv.JszAccount(&server.JSzOptions{Account: server.DEFAULT_GLOBAL_ACCOUNT, Streams: true, Consumer: true})
	if err != nil {
		return "jsz: " + err.Error()
	}
	for _, sd := range acc.Streams {
		if sd.Cluster != nil && sd.Cluster.Leader == "" {
			return "stream " + sd.Name + " has no leader"
		}
		for _, ci := range sd.Consumer {
			if ci != nil && ci.Cluster != nil && ci.Cluster.Leader == "" {
				return "consumer " + sd.Name + "/" + ci.Name + " has no leader"
			}
		}
	}
	return ""
}

// shutdown stops every running node and the proxies.
func (c *Cluster) shutdown() {
	for _, srv := range c.running() {
		srv.Shutdown()
	}
	for _, srv := range c.running() {
		srv.WaitForShutdown()
	}
	for _, nd := range c.nodes {
		nd.client.close()
		for _, p := range nd.routes {
			p.close()
		}
	}
}

// OpenOn opens a bus against the cluster with the given replicas and
// client name, and closes it when the test ends (before the cluster
// stops).
func OpenOn(t testing.TB, c *Cluster, replicas int, name string) *bus.Bus {
	t.Helper()
	return openWith(t, bus.Config{URL: c.URL(), Replicas: replicas, Name: name}, clusterDeadline)
}
