package main

// `hotline bench --http`: the whole path a platform sees, over real HTTP.
// Signed webhooks go to the public listener, are verified, stored on
// HOTLINE_IN and routed, and the reply comes back inside the webhook's
// response (the passive reply of passive/). A bare net/http handler run
// first with the same client says how much of the time is the HTTP stack
// itself on this machine.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"hotline/adapters/sms/twilio"
	"hotline/adapters/telegram"
	"hotline/adapters/wechat"
	"hotline/adapters/weibo"
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
	f.BoolVar(&h.bare, "bare", true, "with --http: measure a bare net/http handler first")
	f.DurationVar(&h.drain, "drain", 30*time.Second, "with --http: how long to wait after a run for replies sent through the API")
	f.StringVar(&h.cpuprofile, "cpuprofile", "", "with --http: write a CPU profile of the hotline runs to this file (one per platform, suffixed, with several)")
}

// options checks the flags against bench's shared ones. --messages
// defaults to 5,000 here (bench's 20,000 would make --platform all long).
func (h *httpBenchFlags) options(base benchOptions, messagesSet bool) (httpBenchOptions, error) {
	o := httpBenchOptions{Connections: h.connections, Messages: base.Messages, Duration: h.duration, Rate: base.Rate,
		Users: h.users, Workers: base.Workers, Target: strings.TrimRight(h.target, "/"), Bare: h.bare, Drain: h.drain, CPUProfile: h.cpuprofile}
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
	cfg.NATS.URL, cfg.NATS.StoreDir, cfg.NATS.Listen = "", dir, ""
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

// loadSpec is one run's load: where, which requests, how much, how fast.
type loadSpec struct {
	base, signBase string
	hook           webhookHook
	ids            benchIDs
	opts           httpBenchOptions
	label          string // on the progress line
	// judge counts the replies in an answer and says whether they are
	// right (well formed, to the sender).
	judge func(status int, body []byte, m benchMsg) (int, bool)
}

// outcome is what one request got.
type outcome struct {
	user    int
	status  int // 0: no HTTP answer
	replies int
	valid   bool
	latency time.Duration
}

// job is one request to send: message i, due when the open loop
// scheduled it (zero in a closed loop, where it goes when a connection
// is free).
type job struct {
	i   int
	due time.Time
}

// drive sends spec's requests over opts.Connections keep-alive
// connections of one transport, each worker taking the next job as soon
// as its previous answer is read, and returns what they got, how long
// the sending took, and how many requests an open loop offered that were
// not sent before opts.Duration was up because every connection was busy.
func drive(ctx context.Context, spec loadSpec) ([]outcome, time.Duration, int) {
	n := spec.opts.Connections
	client := &http.Client{Timeout: clientTimeout, Transport: &http.Transport{
		MaxIdleConns: n, MaxIdleConnsPerHost: n, MaxConnsPerHost: n, IdleConnTimeout: time.Minute,
	}}
	defer client.CloseIdleConnections()
	var done, answered atomic.Int64
	stopProgress := startProgress(spec.opts.Progress, spec.label, spec.opts.Messages, &done, &answered)
	defer stopProgress()
	jobs := make(chan job, n)
	start := time.Now()
	var end time.Time
	if spec.opts.Duration > 0 {
		end = start.Add(spec.opts.Duration)
	}
	go generate(ctx, spec.opts, start, end, jobs)
	results := make([][]outcome, n)
	var unsent atomic.Int64
	var wg sync.WaitGroup
	for w := range results {
		wg.Go(func() {
			for j := range jobs {
				if !end.IsZero() && time.Now().After(end) {
					// Time is up: what an open loop still holds
					// was offered and never sent.
					unsent.Add(int64(boolInt(!j.due.IsZero())))
					continue
				}
				o := send(ctx, client, spec, j)
				results[w] = append(results[w], o)
				done.Add(1)
				if o.replies > 0 && o.valid {
					answered.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return slices.Concat(results...), time.Since(start), int(unsent.Load())
}

// generate hands out the jobs: as fast as they are taken, or at
// opts.Rate, for opts.Messages or until end. An open loop hands out every
// job due before end, even late, so the workers can count what they did
// not send in time.
func generate(ctx context.Context, opts httpBenchOptions, start, end time.Time, jobs chan<- job) {
	defer close(jobs)
	for i := 0; opts.Messages == 0 || i < opts.Messages; i++ {
		var due time.Time
		if opts.Rate > 0 {
			due = start.Add(time.Duration(float64(i) / opts.Rate * float64(time.Second)))
			if (!end.IsZero() && !due.Before(end)) || !waitUntil(ctx, due) {
				return
			}
		} else if !end.IsZero() && time.Now().After(end) {
			return
		}
		select {
		case jobs <- job{i: i, due: due}:
		case <-ctx.Done():
			return
		}
	}
}

// waitUntil sleeps until t, or returns at once when t is less than half a
// millisecond away: at thousands of requests a second a timer per request
// would cost more than the sends, so they go in small bursts.
func waitUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d < 500*time.Microsecond {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// send makes one request and judges its answer. Latency runs from the
// moment the request goes, or, open loop, from when it was due if that is
// earlier: a backlog behind busy connections shows as latency rather than
// as a lower offered rate.
func send(ctx context.Context, client *http.Client, spec loadSpec, j job) outcome {
	m := spec.ids.msg(j.i)
	o := outcome{user: m.user}
	req, err := spec.hook.request(ctx, spec.base, spec.signBase, m)
	if err != nil {
		return o
	}
	start := time.Now()
	if !j.due.IsZero() && j.due.Before(start) {
		start = j.due
	}
	resp, err := client.Do(req)
	if err != nil {
		return o
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return o
	}
	o.latency = time.Since(start)
	o.status = resp.StatusCode
	o.replies, o.valid = spec.judge(resp.StatusCode, body, m)
	return o
}

// startProgress rewrites one line on w with the run's progress until the
// returned function is called, which clears it.
func startProgress(w io.Writer, label string, total int, done, answered *atomic.Int64) func() {
	if w == nil {
		return func() {}
	}
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		start := time.Now()
		of := ""
		if total > 0 {
			of = "/" + strconv.Itoa(total)
		}
		for {
			select {
			case <-tick.C:
				n := done.Load()
				fmt.Fprintf(w, "\r\x1b[K%s: %d%s requests, %d answered in the response, %.0f req/s",
					label, n, of, answered.Load(), float64(n)/time.Since(start).Seconds())
			case <-stop:
				fmt.Fprint(w, "\r\x1b[K")
				return
			}
		}
	}()
	return func() {
		close(stop)
		<-finished
	}
}

// summarize counts a run's outcomes. api is what each recipient got
// through the fake platform API during the run and its drain (nil when
// it cannot be seen). Sends through the API name the user, not the
// message, so they are matched per user: first to that user's 200s that
// carried no reply, then to requests that failed (a request that timed
// out may still have been stored and answered later); anything beyond is
// duplicated. With several messages per user, one message answered twice
// and another never answered would cancel out; --users at least
// --messages makes the matching exact.
func summarize(outs []outcome, elapsed time.Duration, api map[string]int, recipient func(user int) string) phaseStats {
	st := phaseStats{Requests: len(outs), Elapsed: elapsed.Seconds(), Status: map[string]int{}, APIObserved: api != nil}
	if elapsed > 0 {
		st.ReqPerSec = float64(len(outs)) / elapsed.Seconds()
	}
	type tally struct{ unanswered, failed int }
	users := map[int]*tally{}
	var lat []time.Duration
	for _, o := range outs {
		t := users[o.user]
		if t == nil {
			t = &tally{}
			users[o.user] = t
		}
		st.Status[statusKey(o.status)]++
		switch {
		case o.status != http.StatusOK:
			st.Failed++
			t.failed++
		case o.replies > 0 && o.valid:
			st.InResponse++
			lat = append(lat, o.latency)
			if o.replies > 1 {
				st.Duplicated++
			}
		case o.replies > 0:
			st.Invalid++
			t.unanswered++
		default:
			t.unanswered++
		}
	}
	st.Latency = percentiles(lat)
	for user, t := range users {
		if api == nil {
			st.Lost += t.unanswered
			continue
		}
		sent := api[recipient(user)]
		matched := min(sent, t.unanswered)
		st.ViaAPI += matched
		st.Lost += t.unanswered - matched
		st.Duplicated += max(0, sent-matched-t.failed)
	}
	return st
}

func statusKey(code int) string {
	if code == 0 {
		return "error"
	}
	return strconv.Itoa(code)
}

func percentiles(lat []time.Duration) latencyStats {
	if len(lat) == 0 {
		return latencyStats{}
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	pct := func(p float64) float64 { return ms(lat[min(len(lat)-1, int(p*float64(len(lat))))]) }
	return latencyStats{Count: len(lat), P50: pct(0.50), P95: pct(0.95), P99: pct(0.99), Max: ms(lat[len(lat)-1])}
}

func subtractCounts(after, before map[string]int) map[string]int {
	out := make(map[string]int, len(after))
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func perMsgMicros(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(d) / float64(time.Microsecond) / float64(n)
}

// cpuTime is the user and system CPU this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// readRSS is the process's resident set now and at its peak, from
// /proc/self/status (zero where there is no /proc).
func readRSS() (now, peak uint64) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			continue
		}
		if key == "VmRSS" {
			now = kb << 10
		} else {
			peak = kb << 10
		}
	}
	return now, peak
}

// benchIDs make a run's messages and users unique, also against a running
// gateway that saw earlier runs: platforms' message ids are its dedup ids
// (remembered for two days in hotline_seen), and fresh users keep
// sessions from earlier runs out of the measurement.
type benchIDs struct {
	users    int
	userBase int64
	msgBase  int64
	start    time.Time
}

func newBenchIDs(users int) benchIDs {
	return benchIDs{users: users, userBase: mrand.Int64N(1_000_000_000), msgBase: mrand.Int64N(1<<36) << 24, start: time.Now()}
}

// benchMsg is one message of a run: from user i mod users of message i,
// that user's seq-th.
type benchMsg struct {
	user, seq int
	id        int64     // unique message number
	userID    int64     // unique user number
	start     time.Time // of the run
}

func (b benchIDs) msg(i int) benchMsg {
	u := i % b.users
	return benchMsg{user: u, seq: i / b.users, id: b.msgBase + int64(i), userID: b.userID(u), start: b.start}
}

func (b benchIDs) userID(user int) int64 { return b.userBase + int64(user) }

// webhookHook is one platform as the bench plays it: it builds signed
// webhook requests as the platform does and reads the answers as the
// platform would.
type webhookHook interface {
	// request is message m signed for a gateway at base whose
	// signatures cover signBase.
	request(ctx context.Context, base, signBase string, m benchMsg) (*http.Request, error)
	// replies counts the replies an answer carries and whether they are
	// well formed and addressed to m's sender.
	replies(status int, body []byte, m benchMsg) (int, bool)
	// apiPlatform and recipient name the sender of a user number as the
	// fake API records a reply sent to them, to match replies that went
	// that way.
	apiPlatform() string
	recipient(userID int64) string
}

// benchAccounts are one account per platform the bench can drive.
type benchAccounts struct {
	telegram   *telegram.Config
	wechat     *wechat.Config
	wechatSafe *wechat.Config
	weibo      *weibo.Config
	twilio     *twilio.Config
}

// newBenchAccounts makes accounts with fresh secrets whose platform APIs
// are at apiBase.
func newBenchAccounts(apiBase string) (benchAccounts, error) {
	aes := make([]byte, 32)
	if _, err := rand.Read(aes); err != nil {
		return benchAccounts{}, fmt.Errorf("bench: %w", err)
	}
	// An EncodingAESKey is 43 characters: base64 of 32 bytes without "=".
	aesKey := strings.TrimRight(base64.StdEncoding.EncodeToString(aes), "=")
	secret := func() envelope.Secret { return envelope.Secret(rand.Text()) }
	return benchAccounts{
		telegram: &telegram.Config{Account: "bench-tg", APIBase: apiBase, Token: envelope.Secret("7000000001:" + rand.Text()),
			Mode: telegram.ModeWebhook, WebhookSecret: secret(), ReplyWindow: telegram.DefaultReplyWindow},
		wechat: &wechat.Config{Account: "bench-oa", APIBase: apiBase, AppID: "wxbench00000000001", AppSecret: secret(), Token: secret(),
			ReplyWindow: wechat.DefaultReplyWindow, ReplayWindow: wechat.DefaultReplayWindow},
		wechatSafe: &wechat.Config{Account: "bench-oa-safe", APIBase: apiBase, AppID: "wxbench00000000002", AppSecret: secret(), Token: secret(),
			EncodingAESKey: envelope.Secret(aesKey), ReplyWindow: wechat.DefaultReplyWindow, ReplayWindow: wechat.DefaultReplayWindow},
		weibo: &weibo.Config{Account: "bench-weibo", APIBase: apiBase, AppKey: "100000", AppSecret: secret(), AccessToken: secret(),
			ReplyWindow: weibo.DefaultReplyWindow, ReplayWindow: weibo.DefaultReplayWindow},
		// Each number may text 10 messages, then one every 2 s; past that
		// a message is stored and not answered. A run sends far more per
		// number than a person can, so the limit is lifted here.
		twilio: &twilio.Config{Account: "bench-sms", Provider: twilio.Provider, APIBase: apiBase, AccountSID: "AC" + strings.Repeat("0", 32),
			AuthToken: secret(), From: "+14155550100", ReplyWindow: 4 * time.Second, InboundEvery: time.Nanosecond, InboundBurst: math.MaxInt32},
	}, nil
}

// configured are the config entries of the accounts the platforms need.
func (a benchAccounts) configured(platforms []string) []config.Account {
	var out []config.Account
	for _, p := range platforms {
		switch p {
		case "telegram":
			out = append(out, config.AccountOf(telegram.Platform(), a.telegram))
		case "wechat":
			out = append(out, config.AccountOf(wechat.Platform(), a.wechat))
		case "wechat-safe":
			out = append(out, config.AccountOf(wechat.Platform(), a.wechatSafe))
		case "weibo":
			out = append(out, config.AccountOf(weibo.Platform(), a.weibo))
		case "twilio":
			out = append(out, config.AccountOf(twilio.Platform(), a.twilio))
		}
	}
	return out
}

// accountsFromConfig takes the first enabled account of each kind.
func accountsFromConfig(cfg config.Config) benchAccounts {
	var a benchAccounts
	for _, acct := range cfg.Accounts {
		if !acct.Enabled() {
			continue
		}
		switch s := acct.Settings.(type) {
		case *telegram.Config:
			if a.telegram == nil && s.Mode == telegram.ModeWebhook {
				a.telegram = s
			}
		case *wechat.Config:
			if s.EncodingAESKey.IsZero() && a.wechat == nil {
				a.wechat = s
			} else if !s.EncodingAESKey.IsZero() && a.wechatSafe == nil {
				a.wechatSafe = s
			}
		case *weibo.Config:
			if a.weibo == nil {
				a.weibo = s
			}
		case *twilio.Config:
			if a.twilio == nil {
				a.twilio = s
			}
		}
	}
	return a
}

// hook is the webhook player of the named platform's account.
func (a benchAccounts) hook(name string) (webhookHook, error) {
	missing := func(what string) error { return fmt.Errorf("no %s account", what) }
	switch name {
	case "telegram":
		if a.telegram == nil {
			return nil, missing("Telegram webhook")
		}
		return telegramHook{cfg: a.telegram}, nil
	case "wechat", "wechat-safe":
		cfg := a.wechat
		if name == "wechat-safe" {
			cfg = a.wechatSafe
		}
		if cfg == nil && name == "wechat-safe" {
			return nil, missing("WeChat safe-mode (with encoding_aes_key)")
		}
		if cfg == nil {
			return nil, missing("WeChat plaintext (without encoding_aes_key)")
		}
		h := wechatHook{cfg: cfg, prefix: "oBench"}
		if !cfg.EncodingAESKey.IsZero() {
			key, err := wechat.AESKey(cfg.EncodingAESKey.Reveal())
			if err != nil {
				return nil, fmt.Errorf("bench: %w", err)
			}
			h.key, h.prefix = key, "oBenchSafe"
		}
		return h, nil
	case "weibo":
		if a.weibo == nil {
			return nil, missing("Weibo")
		}
		return weiboHook{cfg: a.weibo}, nil
	case "twilio":
		if a.twilio == nil {
			return nil, missing("Twilio SMS")
		}
		return twilioHook{cfg: a.twilio}, nil
	}
	return nil, fmt.Errorf("bench: no platform %q", name)
}

// telegramHook posts updates with the webhook's secret token; a reply
// in the window comes back as a sendMessage call in the response body.
type telegramHook struct{ cfg *telegram.Config }

func (h telegramHook) apiPlatform() string { return envelope.PlatformTelegram }

func (h telegramHook) chatID(userID int64) int64 { return 1_000_000_000_000 + userID }

func (h telegramHook) recipient(userID int64) string { return strconv.FormatInt(h.chatID(userID), 10) }

func (h telegramHook) request(ctx context.Context, base, _ string, m benchMsg) (*http.Request, error) {
	chat := h.chatID(m.userID)
	body := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":%d,"chat":{"id":%d,"type":"private"},`+
		`"from":{"id":%d,"is_bot":false,"first_name":"Bench"},"text":%q}}`, m.id, m.seq+1, time.Now().Unix(), chat, chat, benchText)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/webhooks/telegram/"+h.cfg.Account, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("bench: telegram request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", h.cfg.WebhookSecret.Reveal())
	return req, nil
}

func (h telegramHook) replies(status int, body []byte, m benchMsg) (int, bool) {
	if status != http.StatusOK || len(bytes.TrimSpace(body)) == 0 {
		return 0, false
	}
	var call struct {
		Method string `json:"method"`
		ChatID int64  `json:"chat_id"`
		Text   string `json:"text"`
	}
	if json.Unmarshal(body, &call) != nil || call.Method != "sendMessage" {
		// answerCallbackQuery, or something unreadable: no reply.
		return 0, false
	}
	return 1, call.ChatID == h.chatID(m.userID) && call.Text != ""
}

// wechatHook pushes text messages signed with the account's token, in
// plaintext or, with key, in safe mode; a reply comes back as the passive
// XML, sealed and signed in safe mode.
type wechatHook struct {
	cfg    *wechat.Config
	key    []byte // safe mode
	prefix string // of openids, apart per account
}

func (h wechatHook) apiPlatform() string { return envelope.PlatformWeChat }

func (h wechatHook) openID(userID int64) string { return fmt.Sprintf("%s%012d", h.prefix, userID) }

func (h wechatHook) recipient(userID int64) string { return h.openID(userID) }

func (h wechatHook) request(ctx context.Context, base, _ string, m benchMsg) (*http.Request, error) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	// A nonce per request: a plaintext signature does not cover the body,
	// so the same signed query with another body is refused as a replay.
	nonce := strconv.FormatInt(m.id, 10)
	token := h.cfg.Token.Reveal()
	body := fmt.Sprintf(`<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>`+
		`<CreateTime>%s</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content><MsgId>%d</MsgId></xml>`,
		h.openID(m.userID), ts, benchText, m.id)
	q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {wechat.Signature(token, ts, nonce)}, "openid": {h.openID(m.userID)}}
	if h.key != nil {
		enc, err := wechat.Encrypt(h.key, h.cfg.AppID, nil, []byte(body))
		if err != nil {
			return nil, fmt.Errorf("bench: wechat encrypt: %w", err)
		}
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", wechat.Signature(token, ts, nonce, enc))
		body = fmt.Sprintf(`<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt></xml>`, enc)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/webhooks/wechat/"+h.cfg.Account+"?"+q.Encode(), strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("bench: wechat request: %w", err)
	}
	req.Header.Set("Content-Type", "text/xml")
	return req, nil
}

func (h wechatHook) replies(status int, body []byte, m benchMsg) (int, bool) {
	if status != http.StatusOK || len(body) == 0 || string(body) == "success" {
		return 0, false
	}
	if h.key != nil {
		var sealed struct {
			Encrypt      string `xml:"Encrypt"`
			MsgSignature string `xml:"MsgSignature"`
			TimeStamp    string `xml:"TimeStamp"`
			Nonce        string `xml:"Nonce"`
		}
		if xml.Unmarshal(body, &sealed) != nil {
			return 1, false
		}
		if wechat.Signature(h.cfg.Token.Reveal(), sealed.TimeStamp, sealed.Nonce, sealed.Encrypt) != strings.ToLower(sealed.MsgSignature) {
			return 1, false
		}
		plain, err := wechat.Decrypt(h.key, h.cfg.AppID, sealed.Encrypt)
		if err != nil {
			return 1, false
		}
		body = plain
	}
	var rep struct {
		ToUserName string `xml:"ToUserName"`
		MsgType    string `xml:"MsgType"`
		Content    string `xml:"Content"`
	}
	if xml.Unmarshal(body, &rep) != nil {
		return 1, false
	}
	return 1, rep.ToUserName == h.openID(m.userID) && rep.MsgType == "text" && rep.Content != ""
}

// weiboHook pushes text messages signed with the app secret; a reply
// comes back as the passive JSON.
type weiboHook struct{ cfg *weibo.Config }

// weiboReceiver is the account's own uid, which the configuration does
// not hold; any will do.
const weiboReceiver = 5_000_000_001

func (h weiboHook) apiPlatform() string { return envelope.PlatformWeibo }

func (h weiboHook) sender(userID int64) int64 { return 1_000_000_000_000 + userID }

func (h weiboHook) recipient(userID int64) string { return strconv.FormatInt(h.sender(userID), 10) }

func (h weiboHook) request(ctx context.Context, base, _ string, m benchMsg) (*http.Request, error) {
	now := time.Now()
	// Weibo sends no message id: the dedup id is the sender, created_at
	// to the second, the type and the content. Each user's messages are
	// dated a second apart, as a person could send them, or the same
	// "help" twice in a second would be taken for a retry.
	created := m.start.Add(time.Duration(m.seq) * time.Second)
	body := fmt.Sprintf(`{"type":"text","receiver_id":%d,"sender_id":%d,"created_at":%q,"text":%q,"data":{}}`,
		weiboReceiver, h.sender(m.userID), created.Format(weibo.CreatedAtLayout), benchText)
	ts, nonce := strconv.FormatInt(now.UnixMilli(), 10), strconv.FormatInt(m.id, 10)
	q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {weibo.Signature(h.cfg.AppSecret.Reveal(), ts, nonce)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/webhooks/weibo/"+h.cfg.Account+"?"+q.Encode(), strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("bench: weibo request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

func (h weiboHook) replies(status int, body []byte, m benchMsg) (int, bool) {
	if status != http.StatusOK || len(bytes.TrimSpace(body)) == 0 {
		return 0, false
	}
	var rep struct {
		Result     bool   `json:"result"`
		ReceiverID string `json:"receiver_id"`
		Type       string `json:"type"`
		Data       string `json:"data"`
	}
	if json.Unmarshal(body, &rep) != nil {
		return 1, false
	}
	return 1, rep.Result && rep.ReceiverID == strconv.FormatInt(h.sender(m.userID), 10) && rep.Data != ""
}

// twilioHook posts inbound SMS forms signed with X-Twilio-Signature; a
// reply comes back as TwiML <Message> elements.
type twilioHook struct{ cfg *twilio.Config }

func (h twilioHook) apiPlatform() string { return envelope.PlatformSMS }

// phone is a valid Chinese mobile number per user (the gateway refuses
// numbers libphonenumber does not accept).
func (h twilioHook) phone(userID int64) string { return fmt.Sprintf("+86138%08d", userID%100_000_000) }

func (h twilioHook) recipient(userID int64) string { return h.phone(userID) }

func (h twilioHook) request(ctx context.Context, base, signBase string, m benchMsg) (*http.Request, error) {
	path := "/webhooks/sms/" + h.cfg.Account
	form := url.Values{"MessageSid": {fmt.Sprintf("SM%032x", m.id)}, "AccountSid": {h.cfg.AccountSID}, "From": {h.phone(m.userID)},
		"To": {h.cfg.From}, "Body": {benchText}, "NumMedia": {"0"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("bench: twilio request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Signature(h.cfg.AuthToken.Reveal(), signBase+path, form))
	return req, nil
}

func (h twilioHook) replies(status int, body []byte, _ benchMsg) (int, bool) {
	if status != http.StatusOK {
		return 0, false
	}
	var doc struct {
		XMLName  xml.Name `xml:"Response"`
		Messages []string `xml:"Message"`
	}
	if xml.Unmarshal(body, &doc) != nil {
		return 0, false
	}
	n := 0
	for _, m := range doc.Messages {
		if strings.TrimSpace(m) != "" {
			n++
		}
	}
	return n, true
}

// fakeAPIs answer every platform API the in-process gateway calls as the
// real one answers a success, and count the replies sent to each user.
type fakeAPIs struct {
	srv *httptest.Server
	mu  sync.Mutex
	n   map[string]int // platform + " " + recipient
}

func newFakeAPIs() *fakeAPIs {
	f := &fakeAPIs{n: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

func (f *fakeAPIs) count(platformName, recipient string) {
	f.mu.Lock()
	f.n[platformName+" "+recipient]++
	f.mu.Unlock()
}

// sends are the replies each recipient of a platform got so far.
func (f *fakeAPIs) sends(platformName string) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.n {
		if p, recipient, _ := strings.Cut(k, " "); p == platformName {
			out[recipient] = v
		}
	}
	return out
}

func (f *fakeAPIs) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/bot"):
		f.telegram(w, r, p[strings.LastIndex(p, "/")+1:])
	case p == "/cgi-bin/token":
		writeJSON(w, http.StatusOK, `{"access_token":"bench-access-token","expires_in":7200}`)
	case p == "/cgi-bin/message/custom/send":
		var body struct {
			ToUser string `json:"touser"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.count(envelope.PlatformWeChat, body.ToUser)
		writeJSON(w, http.StatusOK, `{"errcode":0,"errmsg":"ok"}`)
	case p == "/2/messages/reply.json":
		_ = r.ParseForm()
		f.count(envelope.PlatformWeibo, r.PostForm.Get("receiver_id"))
		writeJSON(w, http.StatusOK, `{"id":4000000000000001,"idstr":"4000000000000001"}`)
	case strings.HasPrefix(p, "/2010-04-01/Accounts/") && strings.HasSuffix(p, "/Messages.json"):
		_ = r.ParseForm()
		f.count(envelope.PlatformSMS, r.PostForm.Get("To"))
		writeJSON(w, http.StatusCreated, `{"sid":"SM00000000000000000000000000000001","status":"queued","num_segments":"1"}`)
	default:
		http.NotFound(w, r)
	}
}

// telegram answers Bot API method calls: getMe (the adapter calls it
// before it reports ready) and sendMessage, counted; anything else is ok.
func (f *fakeAPIs) telegram(w http.ResponseWriter, r *http.Request, method string) {
	switch method {
	case "getMe":
		writeJSON(w, http.StatusOK, `{"ok":true,"result":{"id":7000000001,"is_bot":true,"first_name":"Bench","username":"hotline_bench_bot"}}`)
	case "sendMessage":
		chat := r.FormValue("chat_id")
		f.count(envelope.PlatformTelegram, chat)
		writeJSON(w, http.StatusOK, `{"ok":true,"result":{"message_id":1,"date":1764072000,"chat":{"id":`+chat+`,"type":"private"}}}`)
	default:
		writeJSON(w, http.StatusOK, `{"ok":true,"result":true}`)
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// printHTTPBench writes the report as a table.
func printHTTPBench(w io.Writer, rep httpBenchReport) {
	load := "as fast as possible (closed loop)"
	if rep.Rate > 0 {
		load = fmt.Sprintf("offered at %.0f/s (open loop)", rep.Rate)
	}
	size := fmt.Sprintf("%d messages", rep.Messages)
	if rep.Duration != "" {
		size = rep.Duration
	}
	where := fmt.Sprintf("gateway in process (router.workers %d); gateway, load and fake platform APIs share the process", rep.RouterWorkers)
	if rep.Target != "" {
		where = "gateway at " + rep.Target + "; replies sent through the platform APIs are not seen"
	}
	fmt.Fprintf(w, "hotline bench --http: %s per platform %s, %d connections, %d users, text %q\n", size, load, rep.Connections, rep.Users, benchText)
	fmt.Fprintf(w, "%s\n", where)
	m := rep.Machine
	fmt.Fprintf(w, "machine: %d CPUs (GOMAXPROCS %d), %s/%s, %s\n\n", m.CPUs, m.GOMAXPROCS, m.OS, m.Arch, m.Go)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "platform\trun\treq/s\tvs bare\tok\tin resp\tvia API\tlost\tdup\tinvalid\tfailed\tp50 ms\tp95 ms\tp99 ms\tmax ms\tCPU µs/msg\tJS writes/msg\tJS API/msg\t")
	for _, run := range rep.Runs {
		if run.Bare != nil {
			fmt.Fprintln(tw, phaseRow(run.Platform, "bare", *run.Bare, 0, true))
		}
		fmt.Fprintln(tw, phaseRow(run.Platform, "hotline", run.Hotline, run.Ratio, false))
	}
	_ = tw.Flush()
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	fmt.Fprintf(w, "\nRSS: %.0f MiB idle before, %.0f MiB at the end, %.0f MiB peak\n", mib(rep.RSS.IdleBytes), mib(rep.RSS.EndBytes), mib(rep.RSS.PeakBytes))
	for _, run := range rep.Runs {
		if js := run.Hotline.JetStream; js != nil {
			fmt.Fprintf(w, "%s: JetStream writes per message by stream: %s\n", run.Platform, streamBreakdown(js.PerMsgByStream))
		}
	}
	for _, run := range rep.Runs {
		if h := run.Hotline; h.APIObserved && !h.Settled {
			fmt.Fprintf(w, "%s: the gateway still had messages or replies pending at the end of --drain; lost may include late replies\n", run.Platform)
		}
		for _, ph := range []struct {
			name string
			s    *phaseStats
		}{{"bare", run.Bare}, {"hotline", &run.Hotline}} {
			if ph.s != nil && ph.s.Unsent > 0 {
				fmt.Fprintf(w, "%s %s: %d of %d offered requests not sent in time: all %d connections were busy\n",
					run.Platform, ph.name, ph.s.Unsent, ph.s.Unsent+ph.s.Requests, rep.Connections)
			}
		}
		if h := run.Hotline; len(h.Status) > 1 || h.Status["200"] != h.Requests {
			fmt.Fprintf(w, "%s: status codes %v\n", run.Platform, h.Status)
		}
	}
	cpu := "the whole process (gateway included), per request"
	if rep.Target != "" {
		cpu = "this process only (load and bare handler), per request"
	}
	fmt.Fprintf(w, "latency: request sent (open loop: when due) to the response with the reply read; CPU: %s\n", cpu)
}

// streamBreakdown lists streams by how much they were written, most first.
func streamBreakdown(perMsg map[string]float64) string {
	names := slices.Collect(maps.Keys(perMsg))
	slices.SortFunc(names, func(a, b string) int {
		if c := cmp.Compare(perMsg[b], perMsg[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %.2f", n, perMsg[n])
	}
	return strings.Join(parts, ", ")
}

func phaseRow(platformName, run string, s phaseStats, ratio float64, bare bool) string {
	dash := func(v string) string {
		if bare {
			return "-"
		}
		return v
	}
	vs, js, api := "-", "-", "-"
	if ratio > 0 {
		vs = fmt.Sprintf("%.2f", ratio)
	}
	if s.JetStream != nil {
		js, api = fmt.Sprintf("%.2f", s.JetStream.WritesPerMsg), fmt.Sprintf("%.2f", s.JetStream.APIPerMsg)
	}
	viaAPI := strconv.Itoa(s.ViaAPI)
	if !s.APIObserved {
		viaAPI = "?"
	}
	lat := []string{"-", "-", "-", "-"}
	if s.Latency.Count > 0 {
		for i, v := range []float64{s.Latency.P50, s.Latency.P95, s.Latency.P99, s.Latency.Max} {
			lat[i] = fmt.Sprintf("%.2f", v)
		}
	}
	cols := []string{platformName, run, fmt.Sprintf("%.0f", s.ReqPerSec), vs, strconv.Itoa(s.Status["200"]),
		dash(strconv.Itoa(s.InResponse)), dash(viaAPI), dash(strconv.Itoa(s.Lost)), dash(strconv.Itoa(s.Duplicated)),
		dash(strconv.Itoa(s.Invalid)), strconv.Itoa(s.Failed)}
	cols = append(cols, lat...)
	return strings.Join(append(cols, fmt.Sprintf("%.0f", s.CPUPerMsg), js, api, ""), "\t")
}
