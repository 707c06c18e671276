// Package gateway assembles one hotline instance from its configuration
// and runs it: the bus, degraded modes, the router, each account's
// adapter and delivery loop, the public and admin listeners and the
// console. serve, hotline bench and the end-to-end tests all start
// hotline through it (docs/design.md, "Wiring").
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"hotline/bus"
	"hotline/config"
	"hotline/console"
	"hotline/envelope"
	"hotline/fallback"
	"hotline/media"
	"hotline/outbound"
	"hotline/platform"
	"hotline/router"
)

// Deps are what the caller gives the gateway besides its configuration.
type Deps struct {
	Logger *slog.Logger
	// Platforms are the platforms this build has (platform/builtin): the
	// admin API names them when a request asks for another.
	Platforms []platform.Platform
	// Version is reported by /admin/v1/status.
	Version string
	// Bus, when set, is used instead of opening one from cfg.NATS, and
	// is not closed by Run: tests share one between gateways.
	Bus *bus.Bus
	// OutboundBackoff replaces the delivery loops' delay after a failed
	// send (1s doubling to 5m); drills and tests shorten it.
	OutboundBackoff func(attempt int) time.Duration
}

// Gateway is one hotline instance assembled from its configuration: the
// bus, degraded modes, router, every account's adapter and delivery
// loop, and the public and admin listeners with the console.
type Gateway struct {
	cfg     config.Config
	log     *slog.Logger
	started time.Time

	bus      *bus.Bus
	ownsBus  bool
	modes    *fallback.Store
	bindings *fallback.Bindings
	router   *router.Router
	adapters adapterSet
	loops    []*outbound.Loop
	meter    *trafficMeter
	console  *console.Console

	publicLn, adminLn   net.Listener
	publicSrv, adminSrv *httpServer

	// consumersCtx outlives a stop's first phase: consumers stop after
	// the listeners, so nothing published by a request is left unrouted.
	consumersCtx  context.Context
	stopConsumers context.CancelFunc
}

// New builds the gateway and binds its listeners; Run serves. On error
// everything New opened is closed again.
func New(ctx context.Context, cfg config.Config, deps Deps) (_ *Gateway, err error) {
	g := &Gateway{cfg: cfg, log: deps.Logger, started: time.Now()}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	log := g.log
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	hm := newHTTPMetrics(reg)

	g.bus = deps.Bus
	if g.bus == nil {
		if g.bus, err = bus.Open(ctx, busConfig(cfg), bus.Deps{Logger: log, Registry: reg}); err != nil {
			return nil, err
		}
		g.ownsBus = true
	}
	b := g.bus
	g.consumersCtx, g.stopConsumers = context.WithCancel(context.WithoutCancel(ctx))
	// From here on every exit path closes the bus (if ours), so
	// buffered publishes are flushed and the store is closed cleanly;
	// what runs on it stops first.
	var closers []func()
	defer func() {
		if err != nil {
			for _, c := range slices.Backward(closers) {
				c()
			}
			err = errors.Join(err, g.closeBus(ctx))
		}
	}()

	if g.modes, err = fallback.NewStore(g.consumersCtx, b, fallback.StoreDeps{Logger: log, Registry: reg}); err != nil {
		return nil, err
	}
	review, err := fallback.NewReview(b, fallback.ReviewDeps{Logger: log})
	if err != nil {
		return nil, err
	}
	g.bindings = fallback.NewBindings(b.KV(bus.BucketBindings))
	// rate_limited's account buckets are for the whole cluster: this
	// instance keeps its share of the router's partitions of them.
	rc := rateConfig(cfg.Fallback.RateLimit)
	rc.Share = func() float64 { return b.Share(router.OwnGroup) }
	gate := fallback.NewGate(g.modes, rc, nil)
	g.router, err = router.New(g.consumersCtx, routerConfig(cfg), router.Deps{Bus: b, Gate: gate, Binder: g.bindings, Logger: log, Registry: reg})
	if err != nil {
		return nil, err
	}
	public := http.NewServeMux()
	// Each platform account mounts its webhooks and gets one delivery loop.
	env := platform.Env{Bus: b, Logger: log, Registry: reg, PublicURL: cfg.HTTP.PublicURL, Labels: catalogLabels(g.router.Catalog())}
	if g.adapters, err = openAdapters(ctx, cfg, env, g.modes, public); err != nil {
		return nil, ConfigError{err}
	}
	if g.loops, err = newLoops(cfg, g.adapters, outbound.Deps{Bus: b, Modes: g.modes, Phones: g.bindings,
		Metrics: outbound.NewMetrics(reg), Logger: log}, deps.OutboundBackoff); err != nil {
		return nil, err
	}

	if g.publicLn, err = net.Listen("tcp", cfg.HTTP.Listen); err != nil {
		return nil, fmt.Errorf("gateway: public listener: %w", err)
	}
	closers = append(closers, func() { g.publicLn.Close() })
	if g.adminLn, err = net.Listen("tcp", cfg.HTTP.AdminListen); err != nil {
		return nil, fmt.Errorf("gateway: admin listener: %w", err)
	}
	closers = append(closers, func() { g.adminLn.Close() })

	public.HandleFunc("GET /healthz", healthz)
	// Adapters' errors name devices and files: the admin listener's
	// /readyz lists them, the public one does not.
	public.Handle("GET /readyz", readyz(b, nil))
	public.Handle("GET /metrics", metricsHandler(reg))

	admin := http.NewServeMux()
	admin.HandleFunc("GET /healthz", healthz)
	admin.Handle("GET /readyz", readyz(b, g.adapters.ready))
	admin.Handle("GET /metrics", metricsHandler(reg))
	auth := console.NewAuth(console.AuthConfig{Token: cfg.HTTP.AdminToken,
		Revocations: revocations{kv: b.KV(bus.BucketTokens), now: time.Now}})
	report := statusSources{bus: b, router: g.router, modes: g.modes, review: review, loops: g.loops,
		adapters: g.adapters.ready, health: g.adapters.health, started: g.started, version: deps.Version, platforms: platformNames(cfg.Accounts)}
	admin.Handle("GET /admin/v1/status", auth.Require(report.handler()))
	modesAPI := auth.Require(fallback.AdminHandler(g.modes, review, b, g.adapters.accounts))
	for _, path := range []string{"/admin/v1/modes", "/admin/v1/modes/", "/admin/v1/audit", "/admin/v1/review", "/admin/v1/review/"} {
		admin.Handle(path, modesAPI)
	}
	admin.Handle("POST /admin/v1/simulate", auth.Require(simulateHandler(b, g.adapters.simulated())))
	admin.Handle("POST /admin/v1/send", auth.Require(sendHandler(b, knownPlatforms(deps.Platforms, cfg.Accounts), func(platformName, account string) bool {
		_, ok := g.adapters.senders[platform.Key{Platform: platformName, Account: account}]
		return ok
	})))
	deliveriesAPI := auth.Require(deliveriesHandler(b, log))
	for _, path := range []string{"/admin/v1/deliveries", "/admin/v1/dead", "/admin/v1/dead/"} {
		admin.Handle(path, deliveriesAPI)
	}
	agentsAPI := auth.Require(g.router.AdminHandler())
	for _, path := range []string{"/admin/v1/handoffs", "/admin/v1/handoffs/", "/admin/v1/tiers", "/admin/v1/tiers/", "/admin/v1/canned", "/admin/v1/faq", "/admin/v1/faq/", "/admin/v1/texts", "/admin/v1/texts/"} {
		admin.Handle(path, agentsAPI)
	}
	// Every adapter that can download what its users sent serves it to
	// agents, under the same guard as the rest of the admin API.
	mediaFetchers := media.NewRegistry()
	for key, s := range g.adapters.senders {
		if f, ok := s.(media.Fetcher); ok {
			mediaFetchers.Add(key.Platform, key.Account, f)
		}
	}
	admin.Handle(media.Pattern, auth.Require(media.NewHandler(media.Config{}, media.Deps{Registry: mediaFetchers, Logger: log})))
	if g.meter, err = startTrafficMeter(g.consumersCtx, b.Conn(), time.Second); err != nil {
		return nil, err
	}
	g.console = console.New(console.Config{}, console.Deps{Auth: auth, Source: &liveView{status: report, meter: g.meter}, Logger: log})
	for pattern, h := range g.console.Routes() {
		admin.Handle(pattern, h)
	}
	if cfg.HTTP.AdminToken.IsZero() {
		log.Warn("admin API has no token; it answers loopback callers only", "admin_listen", cfg.HTTP.AdminListen)
	}

	g.publicSrv = newHTTPServer(instrument("public", cfg.HTTP.MaxBodyBytes, g.adapters.bodyLimits, log, hm, public), log)
	g.adminSrv = newHTTPServer(instrument("admin", cfg.HTTP.MaxBodyBytes, nil, log, hm, admin), log)
	g.adminSrv.RegisterOnShutdown(g.console.Shutdown)
	return g, nil
}

// ConfigError is an error in the configuration found while assembling
// the gateway (an account its platform refuses): the CLI exits 2 for it.
type ConfigError struct{ Err error }

func (e ConfigError) Error() string { return e.Err.Error() }
func (e ConfigError) Unwrap() error { return e.Err }

// Bus is the gateway's bus.
func (g *Gateway) Bus() *bus.Bus { return g.bus }

// Modes is the gateway's degraded-mode store.
func (g *Gateway) Modes() *fallback.Store { return g.modes }

// Bindings are the gateway's phone bindings.
func (g *Gateway) Bindings() *fallback.Bindings { return g.bindings }

// PublicAddr and AdminAddr are where the listeners are bound.
func (g *Gateway) PublicAddr() net.Addr { return g.publicLn.Addr() }

// AdminAddr is where the admin listener is bound.
func (g *Gateway) AdminAddr() net.Addr { return g.adminLn.Addr() }

// Adapter returns the adapter of platform/account, if the gateway runs it.
func (g *Gateway) Adapter(platformName, account string) (platform.Sender, bool) {
	s, ok := g.adapters.senders[platform.Key{Platform: platformName, Account: account}]
	return s, ok
}

func (g *Gateway) closeBus(ctx context.Context) error {
	g.stopConsumers()
	if !g.ownsBus {
		return nil
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.cfg.HTTP.ShutdownTimeout)
	defer cancel()
	return g.bus.Close(cctx)
}

// Run serves until ctx ends, then shuts down in order: stop taking
// requests, drain consumers and the NATS connection, stop the embedded
// server. The whole stop is bounded by http.shutdown_timeout.
func (g *Gateway) Run(ctx context.Context) error {
	cfg, log := g.cfg, g.log
	eg, gctx := errgroup.WithContext(ctx)
	eg.Go(func() error { return serveHTTP(g.publicSrv, g.publicLn) })
	eg.Go(func() error { return serveHTTP(g.adminSrv, g.adminLn) })
	// A consumer that fails outright (its stream deleted, say) stops the
	// whole gateway rather than leaving it up and deaf.
	runs := append([]func(context.Context) error{g.router.Run, g.runLoops}, g.adapters.runs...)
	consumers := make(chan error, len(runs))
	for _, run := range runs {
		eg.Go(func() error {
			err := run(g.consumersCtx)
			consumers <- nil
			return err
		})
	}
	for _, p := range g.adapters.pages {
		log.Info("web page: open this in a browser", "channel", p.key.String(), "url", browseURL(g.publicLn.Addr(), p.path))
	}
	log.Info("operator console", "url", browseURL(g.adminLn.Addr(), "/console/"), "login", loginHint(cfg))
	log.Info("hotline serving",
		"public", "http://"+g.publicLn.Addr().String(),
		"admin", "http://"+g.adminLn.Addr().String(),
		"readyz", "http://"+g.publicLn.Addr().String()+"/readyz",
		"nats", natsDescription(cfg))

	eg.Go(func() error {
		<-gctx.Done()
		log.Info("shutting down", "timeout", cfg.HTTP.ShutdownTimeout)
		// Each phase gets its own share of the budget, so a slow one
		// cannot leave the bus no time to flush.
		phase := cfg.HTTP.ShutdownTimeout / 3
		base := context.WithoutCancel(gctx)
		hctx, cancel := context.WithTimeout(base, phase)
		defer cancel()
		// Stop taking requests first, then stop the consumers (they hand
		// back what they had not started), then drain the connection.
		herr := errors.Join(g.publicSrv.stop(hctx), g.adminSrv.stop(hctx))
		g.stopConsumers()
		cctx, cancelC := context.WithTimeout(base, phase)
		defer cancelC()
		if stopped := waitStopped(cctx, consumers, len(runs)); stopped < len(runs) {
			herr = errors.Join(herr, fmt.Errorf("%d consumers did not stop in %s", len(runs)-stopped, phase))
		}
		if !g.ownsBus {
			return herr
		}
		bctx, cancelB := context.WithTimeout(base, phase)
		defer cancelB()
		return errors.Join(herr, g.bus.Close(bctx))
	})
	if err := eg.Wait(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped cleanly", "uptime", time.Since(g.started).Round(time.Second))
	return nil
}

// runLoops runs the delivery loops of the accounts this instance owns
// among the gateways sharing the NATS (bus.Own).
func (g *Gateway) runLoops(ctx context.Context) error {
	byDurable := make(map[string]*outbound.Loop, len(g.loops))
	units := make([]string, 0, len(g.loops))
	eg, ctx := errgroup.WithContext(ctx)
	for i, l := range g.loops {
		if g.adapters.order[i].platform.Attached {
			// The device is on this host, so its replies leave from here.
			// The loop's consumer is exclusive: an instance configured
			// with the same account waits its turn.
			eg.Go(func() error { return keepRunning(ctx, g.log, l.Durable(), l.Run) })
			continue
		}
		byDurable[l.Durable()] = l
		units = append(units, l.Durable())
	}
	eg.Go(func() error {
		return g.bus.Own(ctx, outbound.OwnGroup, units, func(ctx context.Context, durable string) error {
			return byDurable[durable].Run(ctx)
		})
	})
	return eg.Wait()
}

// keepRunning runs run until ctx ends, starting it again with backoff
// when it fails (a consumer not created during a NATS election), as
// bus.Own does for the units it shares out.
func keepRunning(ctx context.Context, log *slog.Logger, name string, run func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := run(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := bus.Backoff(attempt, time.Second, 30*time.Second)
		log.Warn("delivery loop failed; starting it again", "loop", name, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// browseURL is an address a person can open: a wildcard listener is
// reached through localhost.
func browseURL(addr net.Addr, path string) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String() + path
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + path
}

func loginHint(cfg config.Config) string {
	if cfg.HTTP.AdminToken.IsZero() {
		return "none (no admin token: local browsers only)"
	}
	return "the admin token (http.admin_token)"
}

func busConfig(cfg config.Config) bus.Config {
	limits := map[string]bus.StreamLimits{}
	for key, l := range cfg.NATS.Streams.ByKey() {
		limits[key] = bus.StreamLimits{MaxAge: l.MaxAge, MaxBytes: l.MaxBytes}
	}
	return bus.Config{
		URL:        cfg.NATS.URL.Reveal(),
		StoreDir:   cfg.NATS.StoreDir,
		Listen:     cfg.NATS.Listen,
		Replicas:   cfg.NATS.Replicas,
		Streams:    limits,
		SessionTTL: cfg.NATS.SessionTTL,
		SeenTTL:    cfg.NATS.SeenTTL,
		Name:       "hotline",
	}
}

func routerConfig(cfg config.Config) router.Config {
	return router.Config{
		DefaultLang:       cfg.Router.DefaultLang,
		Menu:              cfg.Router.Menu,
		FAQFile:           cfg.Router.FAQFile,
		TextsDir:          cfg.Router.TextsDir,
		HandoffDailyLimit: cfg.Router.HandoffDailyLimit,
		TranslatorURL:     cfg.Router.Translator.URL,
		TranslatorKey:     cfg.Router.Translator.APIKey,
		SMSAccount:        cfg.Fallback.SMSAccount,
		Workers:           cfg.Router.Workers,
		Agents:            agents(cfg.Router.Agents),
		TierLookup: router.TierLookup{URL: cfg.Router.TierLookup.URL, Token: cfg.Router.TierLookup.Token,
			Cache: cfg.Router.TierLookup.Cache, Timeout: cfg.Router.TierLookup.Timeout},
		VerifyRegions:        verifyRegions(cfg),
		VerifyPerAddressHour: cfg.SMS.VerifyPerAddressHour,
		VerifyPerHour:        cfg.SMS.VerifyPerHour,
	}
}

func tiers(m map[string]config.Tier) map[string]router.Tier {
	if m == nil {
		return nil // router.DefaultTiers
	}
	out := make(map[string]router.Tier, len(m))
	for name, t := range m {
		sla := make(map[envelope.Priority]time.Duration, len(t.SLA))
		for p, d := range t.SLA {
			sla[envelope.Priority(p)] = d
		}
		out[name] = router.Tier{Raise: t.Raise, SLA: sla}
	}
	return out
}

func agents(list []config.Agent) []router.Agent {
	out := make([]router.Agent, len(list))
	for i, a := range list {
		out[i] = router.Agent{Name: a.Name, Languages: a.Languages, Senior: a.Senior}
	}
	return out
}

// verifyRegions are where binding codes may go: sms.verify_regions, else
// the home country of the SMS account that sends them.
func verifyRegions(cfg config.Config) []string {
	if len(cfg.SMS.VerifyRegions) > 0 {
		return cfg.SMS.VerifyRegions
	}
	if a, ok := cfg.Find(envelope.PlatformSMS, cfg.Fallback.SMSAccount); ok {
		if r, ok := a.Settings.(platform.Regional); ok && r.Region() != "" {
			return []string{strings.ToUpper(r.Region())}
		}
	}
	return nil
}

func natsDescription(cfg config.Config) string {
	if cfg.NATS.URL.IsZero() {
		if cfg.NATS.Listen != "" {
			return "embedded, store " + cfg.NATS.StoreDir + ", clients on " + cfg.NATS.Listen
		}
		return "embedded, store " + cfg.NATS.StoreDir
	}
	return "cluster"
}

func rateConfig(c config.RateLimit) fallback.RateConfig {
	return fallback.RateConfig{
		PerSender:      rate.Every(c.PerSenderEvery),
		PerSenderBurst: c.PerSenderBurst,
		Global:         rate.Limit(c.GlobalPerSecond),
		GlobalBurst:    c.GlobalBurst,
		NoticeWindow:   c.NoticeWindow,
	}
}

// The mode store is what the delivery loops ask about sms_fallback.
var _ outbound.Modes = (*fallback.Store)(nil)

// newLoops builds one delivery loop per account that has a sender, with
// its platform's documented limits unless the account sets send_rate.
// Every opened account has one, so loops[i] is set.order[i]'s, which
// runLoops relies on.
func newLoops(cfg config.Config, set adapterSet, deps outbound.Deps, backoff func(int) time.Duration) ([]*outbound.Loop, error) {
	var loops []*outbound.Loop
	for _, acct := range set.order {
		d := deps
		d.Sender = set.senders[acct.key]
		lim := acct.platform.Limits
		if r, ok := acct.settings.(platform.RateSetter); ok && r.AccountSendRate() > 0 {
			lim.PerSecond, lim.Burst = r.AccountSendRate(), max(1, int(r.AccountSendRate()))
		}
		l, err := outbound.New(outbound.Config{
			Platform:        acct.key.Platform,
			Account:         acct.key.Account,
			Label:           acct.platform.Label,
			AccountRate:     rate.Limit(lim.PerSecond),
			AccountBurst:    lim.Burst,
			RecipientRate:   rate.Limit(lim.PerRecipient),
			RecipientBurst:  lim.RecipientBurst,
			MaxAttempts:     cfg.Outbound.MaxAttempts,
			MaxAge:          cfg.Outbound.MaxAge,
			Backoff:         backoff,
			BreakerFailures: uint32(cfg.Outbound.BreakerFailures),
			BreakerProbe:    cfg.Outbound.BreakerProbe,
			BreakerOpen:     cfg.Outbound.BreakerOpen,
			HoldRecheck:     cfg.Outbound.HoldRecheck,
			SMSAccount:      cfg.Fallback.SMSAccount,
			AutoFallback:    cfg.Fallback.AutoSMSFallback,
		}, d)
		if err != nil {
			return nil, err
		}
		loops = append(loops, l)
	}
	return loops, nil
}

// waitStopped counts up to n stop signals and returns how many came
// before ctx ended.
func waitStopped(ctx context.Context, stopped <-chan error, n int) int {
	for i := range n {
		select {
		case <-stopped:
		case <-ctx.Done():
			return i
		}
	}
	return n
}

// knownPlatforms are the names of the build's platforms and of the
// configured accounts' (a test's fakes), each once.
func knownPlatforms(build []platform.Platform, accounts []config.Account) []string {
	out := platformNames(accounts)
	for _, p := range build {
		if !slices.Contains(out, p.Name) {
			out = append(out, p.Name)
		}
	}
	return out
}

// platformNames are the names of the platforms of the configured accounts,
// each once, in their order.
func platformNames(accounts []config.Account) []string {
	var out []string
	for _, a := range accounts {
		if a.Enabled() && !slices.Contains(out, a.Platform.Name) {
			out = append(out, a.Platform.Name)
		}
	}
	return out
}
