package main

// `hotline bench --http`: the whole path a platform sees, over real HTTP.
// Signed webhooks go to the public listener, are verified, stored on
// HOTLINE_IN and routed, and the reply comes back inside the webhook's
// response (the passive reply of passive/). A bare net/http handler run
// first with the same client says how much of the time is the HTTP stack
// itself on this machine.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"hotline/bus"
	"hotline/config"
	"hotline/envelope"
	"hotline/gateway"
)

// benchText is what every simulated user sends: a command the router
// answers at once from its texts, so the reply can make it into the
// webhook's response and the run measures the passive path.
const benchText = "help"

// clientTimeout is how long the simulated platform waits for an answer:
// Twilio's 15 s, the longest any of them waits.
const clientTimeout = 15 * time.Second

// httpBenchPlatforms are the webhooks `bench --http` drives, in the order
// --platform all runs them. The web chat is not one: its messages arrive
// over a WebSocket, and its only HTTP intake is the file upload.
func httpBenchPlatforms() []string {
	return []string{"telegram", "wechat", "wechat-safe", "weibo", "twilio"}
}

// httpBenchOptions sizes one `hotline bench --http` run.
type httpBenchOptions struct {
	Platforms   []string
	Connections int
	// Messages or Duration bounds each platform's run (one of them is 0).
	Messages int
	Duration time.Duration
	// Rate is the offered load in requests/s, paced open loop; 0 keeps
	// every connection busy (closed loop), which measures throughput.
	Rate float64
	// Users is how many distinct senders the messages come from, in turn.
	Users int
	// Workers is router.workers of the in-process gateway.
	Workers int
	// Target drives a running gateway instead of one in process.
	Target string
	// NATSURL runs the in-process gateway on that NATS (a throwaway
	// cluster) with Replicas, instead of an embedded server.
	NATSURL  string
	Replicas int
	// Bare measures a bare net/http handler before each platform.
	Bare bool
	// Drain bounds the wait after a run for replies sent through the API.
	Drain time.Duration
	// CPUProfile, when set, profiles the process during each hotline run.
	CPUProfile string
	// Progress gets a one-line progress indicator; nil for none.
	Progress io.Writer
}

// httpBenchFlags are bench's flags of the --http mode.
type httpBenchFlags struct {
	enabled     bool
	platform    string
	connections int
	duration    time.Duration
	users       int
	json        bool
	target      string
	natsURL     string
	replicas    int
	bare        bool
	drain       time.Duration
	cpuprofile  string
}

func (h *httpBenchFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&h.enabled, "http", false, "measure signed webhooks over HTTP to the reply in the response, against a bare net/http handler (--messages defaults to 5000)")
	f.StringVar(&h.platform, "platform", "telegram", "with --http: "+strings.Join(httpBenchPlatforms(), ", ")+" or all")
	f.IntVar(&h.connections, "connections", 32, "with --http: concurrent keep-alive connections")
	f.DurationVar(&h.duration, "duration", 0, "with --http: run each platform this long instead of --messages")
	f.IntVar(&h.users, "users", 1000, "with --http: distinct senders")
	f.BoolVar(&h.json, "json", false, "with --http: print the report as JSON")
	f.StringVar(&h.target, "target", "", "with --http: drive the gateway at this URL (accounts and secrets from --config) instead of one in process")
	f.StringVar(&h.natsURL, "nats-url", "", "with --http: run the gateway on this NATS instead of an embedded one; a throwaway cluster, since the bench creates hotline's streams there")
	f.IntVar(&h.replicas, "replicas", 1, "with --http and --nats-url: replicas of the streams (3 on a 3-node cluster)")
	f.BoolVar(&h.bare, "bare", true, "with --http: measure a bare net/http handler first")
	f.DurationVar(&h.drain, "drain", 30*time.Second, "with --http: how long to wait after a run for replies sent through the API")
	f.StringVar(&h.cpuprofile, "cpuprofile", "", "with --http: write a CPU profile of the hotline runs to this file (one per platform, suffixed, with several)")
}

// options checks the flags against bench's shared ones. --messages
// defaults to 5,000 here (bench's 20,000 would make --platform all long).
func (h *httpBenchFlags) options(base benchOptions, messagesSet bool) (httpBenchOptions, error) {
	o := httpBenchOptions{Connections: h.connections, Messages: base.Messages, Duration: h.duration, Rate: base.Rate,
		Users: h.users, Workers: base.Workers, Target: strings.TrimRight(h.target, "/"), NATSURL: h.natsURL, Replicas: h.replicas, Bare: h.bare, Drain: h.drain, CPUProfile: h.cpuprofile}
	switch {
	case h.duration > 0 && messagesSet:
		return o, errors.New("--messages and --duration: give one")
	case h.duration > 0:
		o.Messages = 0
	case h.duration < 0:
		return o, errors.New("--duration must be positive")
	case !messagesSet:
		o.Messages = 5000
	}
	if h.platform == "all" {
		o.Platforms = httpBenchPlatforms()
	} else if slices.Contains(httpBenchPlatforms(), h.platform) {
		o.Platforms = []string{h.platform}
	} else {
		return o, fmt.Errorf("--platform %q is not %s or all", h.platform, strings.Join(httpBenchPlatforms(), ", "))
	}
	if o.Connections < 1 || o.Users < 1 || o.Workers < 1 || (o.Duration == 0 && o.Messages < 1) || o.Rate < 0 || o.Drain < 0 {
		return o, errors.New("--connections, --users, --workers and --messages must be at least 1, --rate and --drain not negative")
	}
	if o.Target != "" {
		if u, err := url.Parse(o.Target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return o, fmt.Errorf("--target %q is not an http(s) URL", h.target)
		}
	}
	return o, nil
}

// runHTTPBenchCommand is `hotline bench --http`.
func (r *rootCommand) runHTTPBenchCommand(c *cobra.Command, h *httpBenchFlags, base benchOptions) error {
	opts, err := h.options(base, c.Flags().Changed("messages"))
	if err != nil {
		return usageError{err}
	}
	cfg, _, err := r.loadConfig()
	if err != nil {
		return err
	}
	if isTerminal(r.stderr) {
		opts.Progress = r.stderr
	}
	ctx, cancel := context.WithTimeout(c.Context(), base.Timeout)
	defer cancel()
	rep, err := runHTTPBench(ctx, cfg, opts)
	if err != nil {
		return err
	}
	if h.json {
		enc := json.NewEncoder(c.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printHTTPBench(c.OutOrStdout(), rep)
	return nil
}

// httpBenchReport is what `bench --http` measured; --json prints it as is.
type httpBenchReport struct {
	// Target is the gateway driven; empty when it ran in this process.
	Target        string        `json:"target,omitempty"`
	Messages      int           `json:"messages_per_platform,omitempty"`
	Duration      string        `json:"duration_per_platform,omitempty"`
	Rate          float64       `json:"rate,omitempty"`
	Connections   int           `json:"connections"`
	Users         int           `json:"users"`
	RouterWorkers int           `json:"router_workers,omitempty"`
	Machine       machineInfo   `json:"machine"`
	RSS           rssInfo       `json:"rss"`
	Runs          []platformRun `json:"runs"`
}

type machineInfo struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	Go         string `json:"go"`
}

// rssInfo is the whole process's resident memory: gateway, load
// generator and fake APIs together when the gateway runs in process.
type rssInfo struct {
	IdleBytes uint64 `json:"idle_bytes"`
	EndBytes  uint64 `json:"end_bytes"`
	PeakBytes uint64 `json:"peak_bytes"`
}

// platformRun is one platform's bare and hotline runs.
type platformRun struct {
	Platform string      `json:"platform"`
	Bare     *phaseStats `json:"bare,omitempty"`
	Hotline  phaseStats  `json:"hotline"`
	// Ratio is hotline's requests/s over the bare handler's.
	Ratio float64 `json:"ratio,omitempty"`
}

// phaseStats is one run against one server. For the bare handler, a 200
// counts as an answer in the response.
type phaseStats struct {
	Requests  int            `json:"requests"`
	Elapsed   float64        `json:"elapsed_s"`
	ReqPerSec float64        `json:"req_per_s"`
	Status    map[string]int `json:"status"` // "error": no HTTP answer
	// InResponse: answered 200 with exactly the reply in the body.
	InResponse int `json:"in_response"`
	// ViaAPI: answered 200 without a reply, which then reached the fake
	// platform API (matched by sender, see summarize).
	ViaAPI int `json:"via_api"`
	// Lost: answered 200 and no reply anywhere by the end of the drain.
	Lost int `json:"lost"`
	// Duplicated: messages that got more than one reply.
	Duplicated int `json:"duplicated"`
	// Invalid: a reply in the response that was malformed, failed its
	// signature or went to another user (counted as not answered too).
	Invalid int `json:"invalid"`
	// Failed: no 200 (not stored, a platform would retry).
	Failed int `json:"failed"`
	// Unsent: offered by an open loop (--rate with --duration) and not
	// sent before the time was up, every connection being busy: the
	// offered rate was more than the connections carry.
	Unsent int `json:"unsent"`
	// APIObserved is false with --target: API sends cannot be seen, and
	// Lost is every 200 without a reply in the response.
	APIObserved bool `json:"api_observed"`
	// Settled: the gateway's inbound and outbound consumers had nothing
	// left before the drain deadline.
	Settled bool         `json:"settled"`
	Latency latencyStats `json:"latency"`
	// CPUPerMsg is the process's user+system CPU over the run and the
	// drain, per request.
	CPUPerMsg float64   `json:"cpu_us_per_msg"`
	JetStream *jsReport `json:"jetstream,omitempty"`
}

// latencyStats: request sent (or scheduled, open loop) to response with
// the reply read, over the requests answered in the response.
type latencyStats struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// jsReport is what the run cost JetStream. Writes are messages appended
// to any stream (HOTLINE_*, the KV buckets' KV_* and object stores'
// OBJ_* streams): the sum of every stream's last sequence, so a KV put
// that replaces a key counts where State.Msgs would not. API requests are
// the account's JetStream API counter ($JS.API: stream and consumer info,
// consumer creation, non-direct gets); publishes, pull fetches and direct
// KV gets are not API requests. The bench's own requests are taken off.
type jsReport struct {
	Writes       uint64  `json:"writes"`
	WritesPerMsg float64 `json:"writes_per_msg"`
	// PerMsgByStream are the writes per message of each stream written.
	PerMsgByStream map[string]float64 `json:"writes_per_msg_by_stream"`
	API            int64              `json:"api_requests"`
	APIPerMsg      float64            `json:"api_requests_per_msg"`
}

// runHTTPBench runs opts.Platforms one after another against one gateway.
func runHTTPBench(ctx context.Context, cfg config.Config, opts httpBenchOptions) (httpBenchReport, error) {
	rep := httpBenchReport{Target: opts.Target, Messages: opts.Messages, Rate: opts.Rate, Connections: opts.Connections, Users: opts.Users,
		Machine: machineInfo{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), OS: runtime.GOOS, Arch: runtime.GOARCH, Go: runtime.Version()}}
	if opts.Duration > 0 {
		rep.Duration = opts.Duration.String()
	}
	if opts.Target == "" {
		rep.RouterWorkers = opts.Workers
	}
	env, err := openBenchEnv(ctx, cfg, opts)
	if err != nil {
		return rep, err
	}
	defer env.close()
	rep.RSS.IdleBytes, _ = readRSS()
	for _, p := range opts.Platforms {
		run, err := env.benchPlatform(ctx, p, opts)
		if err != nil {
			return rep, err
		}
		rep.Runs = append(rep.Runs, run)
	}
	rep.RSS.EndBytes, rep.RSS.PeakBytes = readRSS()
	return rep, nil
}

// benchEnv is what the webhooks are driven against: the gateway, the
// secrets of its accounts, and in process its bus and the fake APIs.
type benchEnv struct {
	url string // the public listener
	// signURL is the base URL Twilio's signature covers: http.public_url
	// when the gateway has one, else url.
	signURL  string
	accounts benchAccounts
	bus      *bus.Bus  // nil with --target
	fake     *fakeAPIs // nil with --target
	close    func()
}

func openBenchEnv(ctx context.Context, cfg config.Config, opts httpBenchOptions) (*benchEnv, error) {
	var env *benchEnv
	var err error
	if opts.Target != "" {
		env, err = targetEnv(cfg, opts)
	} else {
		env, err = inProcessEnv(ctx, cfg, opts)
	}
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, env.url); err != nil {
		env.close()
		return nil, err
	}
	return env, nil
}

// inProcessEnv starts a gateway like serve does, on a throwaway store,
// with one account per platform whose API is a fake in this process.
func inProcessEnv(ctx context.Context, cfg config.Config, opts httpBenchOptions) (*benchEnv, error) {
	fake := newFakeAPIs()
	accounts, err := newBenchAccounts(fake.srv.URL)
	if err != nil {
		fake.srv.Close()
		return nil, err
	}
	dir, err := os.MkdirTemp("", "hotline-bench-http-")
	if err != nil {
		fake.srv.Close()
		return nil, fmt.Errorf("bench: %w", err)
	}
	cfg.NATS.URL, cfg.NATS.StoreDir, cfg.NATS.Listen = envelope.Secret(opts.NATSURL), dir, ""
	if opts.NATSURL != "" {
		cfg.NATS.Replicas = max(1, opts.Replicas)
	}
	cfg.HTTP.Listen, cfg.HTTP.AdminListen, cfg.HTTP.PublicURL = "127.0.0.1:0", "127.0.0.1:0", ""
	cfg.Router.Workers = opts.Workers
	cfg.Accounts = accounts.configured(opts.Platforms)
	gw, err := gateway.New(ctx, cfg, gateway.Deps{Version: buildVersion()})
	if err != nil {
		fake.srv.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("bench: gateway: %w", err)
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- gw.Run(rctx) }()
	base := "http://" + gw.PublicAddr().String()
	return &benchEnv{url: base, signURL: base, accounts: accounts, bus: gw.Bus(), fake: fake, close: func() {
		stop()
		<-done
		fake.srv.Close()
		os.RemoveAll(dir)
	}}, nil
}

// targetEnv drives a running gateway with the accounts of the
// configuration it runs with (--config), whose secrets sign the webhooks.
func targetEnv(cfg config.Config, opts httpBenchOptions) (*benchEnv, error) {
	accounts := accountsFromConfig(cfg)
	for _, p := range opts.Platforms {
		if _, err := accounts.hook(p); err != nil {
			return nil, usageError{fmt.Errorf("--target: %w in the configuration (--config) of the gateway", err)}
		}
	}
	sign := opts.Target
	if cfg.HTTP.PublicURL != "" {
		sign = strings.TrimRight(cfg.HTTP.PublicURL, "/")
	}
	return &benchEnv{url: opts.Target, signURL: sign, accounts: accounts, close: func() {}}, nil
}

// waitReady waits for the gateway's /readyz, which answers 200 once NATS
// and every stream are up.
func waitReady(ctx context.Context, base string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		last = err
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("bench: %s/readyz not ready: %w", base, errors.Join(last, ctx.Err()))
		}
	}
}

// benchPlatform runs the bare handler, then the gateway, with the same
// requests.
func (e *benchEnv) benchPlatform(ctx context.Context, name string, opts httpBenchOptions) (platformRun, error) {
	hook, err := e.accounts.hook(name)
	if err != nil {
		return platformRun{}, err
	}
	ids := newBenchIDs(opts.Users)
	run := platformRun{Platform: name}
	if opts.Bare {
		st, err := runBare(ctx, hook, ids, opts, name)
		if err != nil {
			return run, err
		}
		run.Bare = &st
	}
	if run.Hotline, err = e.runHotline(ctx, hook, ids, opts, name); err != nil {
		return run, err
	}
	if run.Bare != nil && run.Bare.ReqPerSec > 0 {
		run.Ratio = run.Hotline.ReqPerSec / run.Bare.ReqPerSec
	}
	return run, ctx.Err()
}

// runBare measures a handler that only reads the body and answers 200
// with a small fixed body, on loopback, with the same client and requests.
func runBare(ctx context.Context, hook webhookHook, ids benchIDs, opts httpBenchOptions, name string) (phaseStats, error) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	cpu0 := cpuTime()
	spec := loadSpec{base: srv.URL, signBase: srv.URL, hook: hook, ids: ids, opts: opts, label: name + " bare",
		judge: func(status int, _ []byte, _ benchMsg) (int, bool) { return boolInt(status == http.StatusOK), true }}
	outs, elapsed, unsent := drive(ctx, spec)
	st := summarize(outs, elapsed, nil, nil)
	st.Unsent = unsent
	st.APIObserved, st.Settled = true, true
	st.CPUPerMsg = perMsgMicros(cpuTime()-cpu0, len(outs))
	return st, ctx.Err()
}

// runHotline drives the gateway, waits for whatever went through the API,
// and counts what each message got.
func (e *benchEnv) runHotline(ctx context.Context, hook webhookHook, ids benchIDs, opts httpBenchOptions, name string) (phaseStats, error) {
	js0, jsErr := e.jsCounters(ctx)
	var api0 map[string]int
	if e.fake != nil {
		api0 = e.fake.sends(hook.apiPlatform())
	}
	stopProfile, err := startProfile(opts.CPUProfile, name, len(opts.Platforms) > 1)
	if err != nil {
		return phaseStats{}, err
	}
	cpu0 := cpuTime()
	spec := loadSpec{base: e.url, signBase: e.signURL, hook: hook, ids: ids, opts: opts, label: name, judge: hook.replies}
	outs, elapsed, unsent := drive(ctx, spec)
	settled, checks := e.drain(ctx, opts.Drain)
	cpu := cpuTime() - cpu0
	if err := stopProfile(); err != nil {
		return phaseStats{}, err
	}
	var api map[string]int
	if e.fake != nil {
		api = subtractCounts(e.fake.sends(hook.apiPlatform()), api0)
	}
	st := summarize(outs, elapsed, api, func(user int) string { return hook.recipient(ids.userID(user)) })
	st.Settled, st.Unsent = settled, unsent
	st.CPUPerMsg = perMsgMicros(cpu, len(outs))
	if js1, err := e.jsCounters(ctx); err == nil && jsErr == nil && len(outs) > 0 {
		st.JetStream = js1.since(js0, int64(2+drainCallsPerCheck*checks), len(outs))
	}
	return st, ctx.Err()
}

// drainCallsPerCheck are the JetStream API requests one drain check
// makes: the info and the consumer list of HOTLINE_IN and HOTLINE_OUT.
const drainCallsPerCheck = 4

// drain waits, up to d, until every message taken is routed and every
// reply queued for the API sent: the inbound and outbound consumers have
// nothing pending or unacknowledged, twice in a row (a reply published
// just after its response was written is not missed). It reports whether
// that happened and how many checks it made. Without a bus (--target)
// there is nothing to wait on.
func (e *benchEnv) drain(ctx context.Context, d time.Duration) (settled bool, checks int) {
	if e.bus == nil {
		return false, 0
	}
	deadline := time.Now().Add(d)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	calm := 0
	for {
		checks++
		if idle, err := consumersIdle(ctx, e.bus.JetStream()); err == nil && idle {
			calm++
		} else {
			calm = 0
		}
		if calm == 2 {
			return true, checks
		}
		if time.Now().After(deadline) {
			return false, checks
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return false, checks
		}
	}
}

// consumersIdle reports whether no consumer of HOTLINE_IN or HOTLINE_OUT
// has messages pending or unacknowledged.
func consumersIdle(ctx context.Context, js jetstream.JetStream) (bool, error) {
	for _, name := range []string{bus.StreamIn, bus.StreamOut} {
		st, err := js.Stream(ctx, name)
		if err != nil {
			return false, fmt.Errorf("bench: stream %s: %w", name, err)
		}
		list := st.ListConsumers(ctx)
		busy := false
		for ci := range list.Info() {
			busy = busy || ci.NumPending > 0 || ci.NumAckPending > 0
		}
		if err := list.Err(); err != nil {
			return false, fmt.Errorf("bench: consumers of %s: %w", name, err)
		}
		if busy {
			return false, nil
		}
	}
	return true, nil
}

// jsCounters are the two JetStream totals a run is charged with.
type jsCounters struct {
	writes map[string]uint64 // last sequence by stream
	api    int64
}

// jsCounters reads the account's API counter first, then every stream's
// last sequence: one API request each (the info, one page of the stream
// list), which since() takes off.
func (e *benchEnv) jsCounters(ctx context.Context) (jsCounters, error) {
	if e.bus == nil {
		return jsCounters{}, errors.New("bench: no bus")
	}
	js := e.bus.JetStream()
	info, err := js.AccountInfo(ctx)
	if err != nil {
		return jsCounters{}, fmt.Errorf("bench: account info: %w", err)
	}
	c := jsCounters{writes: map[string]uint64{}, api: int64(info.API.Total)}
	list := js.ListStreams(ctx)
	for si := range list.Info() {
		c.writes[si.Config.Name] = si.State.LastSeq
	}
	if err := list.Err(); err != nil {
		return jsCounters{}, fmt.Errorf("bench: stream list: %w", err)
	}
	return c, nil
}

// since is the cost of n messages between before and c, without own
// API requests the bench itself made in between.
func (c jsCounters) since(before jsCounters, own int64, n int) *jsReport {
	r := &jsReport{API: max(0, c.api-before.api-own), PerMsgByStream: map[string]float64{}}
	for name, last := range c.writes {
		if d := last - before.writes[name]; last > before.writes[name] {
			r.Writes += d
			r.PerMsgByStream[name] = float64(d) / float64(n)
		}
	}
	r.WritesPerMsg = float64(r.Writes) / float64(n)
	r.APIPerMsg = float64(r.API) / float64(n)
	return r
}

// startProfile profiles the whole process into file (suffixed with the
// platform when several run) until the returned function is called.
func startProfile(file, platformName string, several bool) (func() error, error) {
	if file == "" {
		return func() error { return nil }, nil
	}
	if several {
		file += "." + platformName
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("bench: cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: cpu profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("bench: cpu profile: %w", err)
		}
		return nil
	}, nil
}
