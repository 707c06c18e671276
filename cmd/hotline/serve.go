package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"hotline/bus"
	"hotline/config"
	"hotline/console"
	"hotline/envelope"
	"hotline/fallback"
	"hotline/media"
	"hotline/outbound"
	"hotline/router"
)

func (r *rootCommand) serveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway: NATS (embedded unless nats.url is set), webhooks, health and admin API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, file, err := r.loadConfig()
			if err != nil {
				return err
			}
			log, err := newLogger(r.stderr, cfg.Log)
			if err != nil {
				return err
			}
			if file != "" {
				log.Info("config loaded", "file", file)
			} else {
				log.Info("no config file; running on defaults", "hint", "copy hotline.example.yaml to hotline.yaml to change them")
			}
			return serve(cmd.Context(), cfg, log, nil)
		},
	}
}

// listening is told the addresses once both listeners are bound (tests
// listen on port 0 and need to know where).
type listening func(public, admin net.Addr)

// serve runs the gateway until ctx ends, then shuts down in order: stop
// taking requests, drain consumers and the NATS connection, stop the
// embedded server. The whole stop is bounded by http.shutdown_timeout.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger, onListen listening) error {
	started := time.Now()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	hm := newHTTPMetrics(reg)

	b, err := bus.Open(ctx, busConfig(cfg), bus.Deps{Logger: log, Registry: reg})
	if err != nil {
		return err
	}
	// Consumers get their own context: on shutdown they stop after the
	// listeners (so nothing published by a request is left unrouted)
	// and before the bus closes.
	consumersCtx, stopConsumers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopConsumers()
	// From here on every exit path closes the bus, so buffered
	// publishes are flushed and the store is closed cleanly; what runs
	// on it stops first.
	closeBus := func() error {
		stopConsumers()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.HTTP.ShutdownTimeout)
		defer cancel()
		return b.Close(cctx)
	}

	modes, err := fallback.NewStore(consumersCtx, b, fallback.StoreDeps{Logger: log, Registry: reg})
	if err != nil {
		return errors.Join(err, closeBus())
	}
	review, err := fallback.NewReview(b, fallback.ReviewDeps{Logger: log})
	if err != nil {
		return errors.Join(err, closeBus())
	}
	bindings := fallback.NewBindings(b.KV(bus.BucketBindings))
	gate := fallback.NewGate(modes, rateConfig(cfg.Fallback.RateLimit), nil)
	rt, err := router.New(consumersCtx, routerConfig(cfg), router.Deps{Bus: b, Gate: gate, Binder: bindings, Logger: log, Registry: reg})
	if err != nil {
		return errors.Join(err, closeBus())
	}
	public := http.NewServeMux()
	// Each platform account mounts its webhooks and gets one delivery loop.
	adapters, err := mountAdapters(cfg, public, b, reg, log)
	if err != nil {
		return errors.Join(usageError{err}, closeBus())
	}
	if err := mountWebChat(ctx, cfg, public, b, announcer{modes: modes, defaultLang: cfg.Router.DefaultLang}, webchatLabels(rt.Catalog()), log, &adapters); err != nil {
		return errors.Join(err, closeBus())
	}
	loops, err := newLoops(cfg, adapters.senders, outbound.Deps{Bus: b, Modes: modes, Phones: bindings,
		Metrics: outbound.NewMetrics(reg), Logger: log})
	if err != nil {
		return errors.Join(err, closeBus())
	}

	publicLn, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return errors.Join(fmt.Errorf("serve: public listener: %w", err), closeBus())
	}
	adminLn, err := net.Listen("tcp", cfg.HTTP.AdminListen)
	if err != nil {
		publicLn.Close()
		return errors.Join(fmt.Errorf("serve: admin listener: %w", err), closeBus())
	}

	public.HandleFunc("GET /healthz", healthz)
	public.Handle("GET /readyz", readyz(b))
	public.Handle("GET /metrics", metricsHandler(reg))

	admin := http.NewServeMux()
	admin.HandleFunc("GET /healthz", healthz)
	admin.Handle("GET /readyz", readyz(b))
	admin.Handle("GET /metrics", metricsHandler(reg))
	auth := console.NewAuth(console.AuthConfig{Token: cfg.HTTP.AdminToken,
		Revocations: revocations{kv: b.KV(bus.BucketTokens), now: time.Now}})
	report := statusSources{bus: b, router: rt, modes: modes, review: review, loops: loops, adapters: adapters.ready, started: started}
	admin.Handle("GET /admin/v1/status", auth.Require(report.handler()))
	modesAPI := auth.Require(fallback.AdminHandler(modes, review, b, adapters.accounts))
	for _, path := range []string{"/admin/v1/modes", "/admin/v1/modes/", "/admin/v1/audit", "/admin/v1/review", "/admin/v1/review/"} {
		admin.Handle(path, modesAPI)
	}
	admin.Handle("POST /admin/v1/simulate", auth.Require(simulateHandler(b)))
	admin.Handle("POST /admin/v1/send", auth.Require(sendHandler(b, func(platform, account string) bool {
		_, ok := adapters.senders[accountKey{platform, account}]
		return ok
	})))
	admin.Handle("/admin/v1/handoffs", auth.Require(rt.AdminHandler()))
	admin.Handle("/admin/v1/handoffs/", auth.Require(rt.AdminHandler()))
	// Every adapter that can download what its users sent serves it to
	// agents, under the same guard as the rest of the admin API.
	mediaFetchers := media.NewRegistry()
	for key, s := range adapters.senders {
		if f, ok := s.(media.Fetcher); ok {
			mediaFetchers.Add(key.platform, key.account, f)
		}
	}
	admin.Handle(media.Pattern, auth.Require(media.NewHandler(media.Config{}, media.Deps{Registry: mediaFetchers, Logger: log})))
	meter, err := startTrafficMeter(consumersCtx, b.Conn(), time.Second)
	if err != nil {
		publicLn.Close()
		adminLn.Close()
		return errors.Join(err, closeBus())
	}
	operatorConsole := console.New(console.Config{}, console.Deps{Auth: auth, Source: &liveView{status: report, meter: meter}, Logger: log})
	for pattern, h := range operatorConsole.Routes() {
		admin.Handle(pattern, h)
	}
	if cfg.HTTP.AdminToken.IsZero() {
		log.Warn("admin API has no token; it answers loopback callers only", "admin_listen", cfg.HTTP.AdminListen)
	}

	publicSrv := newHTTPServer(instrument("public", cfg.HTTP.MaxBodyBytes, log, hm, public), log)
	adminSrv := newHTTPServer(instrument("admin", cfg.HTTP.MaxBodyBytes, log, hm, admin), log)
	adminSrv.RegisterOnShutdown(operatorConsole.Shutdown)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serveHTTP(publicSrv, publicLn) })
	g.Go(func() error { return serveHTTP(adminSrv, adminLn) })
	// A consumer that fails outright (its stream deleted, say) stops the
	// whole gateway rather than leaving it up and deaf.
	runs := append([]func(context.Context) error{rt.Run}, adapters.runs...)
	for _, l := range loops {
		runs = append(runs, l.Run)
	}
	consumers := make(chan error, len(runs))
	runConsumer := func(run func(context.Context) error) {
		g.Go(func() error {
			err := run(consumersCtx)
			consumers <- nil
			return err
		})
	}
	for _, run := range runs {
		runConsumer(run)
	}
	if cfg.WebChat.Enabled {
		log.Info("web chat: open this in a browser", "url", browseURL(publicLn.Addr(), "/chat/"))
	}
	log.Info("operator console", "url", browseURL(adminLn.Addr(), "/console/"), "login", loginHint(cfg))
	log.Info("hotline serving",
		"public", "http://"+publicLn.Addr().String(),
		"admin", "http://"+adminLn.Addr().String(),
		"readyz", "http://"+publicLn.Addr().String()+"/readyz",
		"nats", natsDescription(cfg))
	if onListen != nil {
		onListen(publicLn.Addr(), adminLn.Addr())
	}

	g.Go(func() error {
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
		herr := errors.Join(publicSrv.stop(hctx), adminSrv.stop(hctx))
		stopConsumers()
		cctx, cancelC := context.WithTimeout(base, phase)
		defer cancelC()
		if stopped := waitStopped(cctx, consumers, len(runs)); stopped < len(runs) {
			herr = errors.Join(herr, fmt.Errorf("%d consumers did not stop in %s", len(runs)-stopped, phase))
		}
		bctx, cancelB := context.WithTimeout(base, phase)
		defer cancelB()
		return errors.Join(herr, b.Close(bctx))
	})
	if err := g.Wait(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped cleanly", "uptime", time.Since(started).Round(time.Second))
	return nil
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
		DefaultLang:          cfg.Router.DefaultLang,
		Menu:                 cfg.Router.Menu,
		FAQFile:              cfg.Router.FAQFile,
		TextsDir:             cfg.Router.TextsDir,
		HandoffDailyLimit:    cfg.Router.HandoffDailyLimit,
		TranslatorURL:        cfg.Router.Translator.URL,
		TranslatorKey:        cfg.Router.Translator.APIKey,
		SMSAccount:           cfg.Fallback.SMSAccount,
		Workers:              cfg.Router.Workers,
		VerifyRegions:        verifyRegions(cfg),
		VerifyPerAddressHour: cfg.SMS.VerifyPerAddressHour,
		VerifyPerHour:        cfg.SMS.VerifyPerHour,
	}
}

// verifyRegions are where binding codes may go: sms.verify_regions, else
// the country of the SMS account that sends them.
func verifyRegions(cfg config.Config) []string {
	if len(cfg.SMS.VerifyRegions) > 0 {
		return cfg.SMS.VerifyRegions
	}
	for _, a := range cfg.Accounts.SMS {
		if a.Name == cfg.Fallback.SMSAccount && a.DefaultRegion != "" {
			return []string{strings.ToUpper(a.DefaultRegion)}
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

// accountKey names one platform account.
type accountKey struct{ platform, account string }

// newLoops builds one delivery loop per account that has a sender.
func newLoops(cfg config.Config, senders map[accountKey]outbound.Sender, deps outbound.Deps) ([]*outbound.Loop, error) {
	var loops []*outbound.Loop
	for key, sender := range senders {
		d := deps
		d.Sender = sender
		sendRate := accountSendRate(cfg, key)
		l, err := outbound.New(outbound.Config{
			AccountRate:     rate.Limit(sendRate),
			AccountBurst:    max(1, int(sendRate)),
			Platform:        key.platform,
			Account:         key.account,
			MaxAttempts:     cfg.Outbound.MaxAttempts,
			MaxAge:          cfg.Outbound.MaxAge,
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

// accountSendRate is the send_rate configured for one account (0: the
// platform's default).
func accountSendRate(cfg config.Config, key accountKey) float64 {
	var common []config.AccountCommon
	switch key.platform {
	case envelope.PlatformSMS:
		for _, a := range cfg.Accounts.SMS {
			common = append(common, a.AccountCommon)
		}
	case envelope.PlatformTelegram:
		for _, a := range cfg.Accounts.Telegram {
			common = append(common, a.AccountCommon)
		}
	case envelope.PlatformWeibo:
		for _, a := range cfg.Accounts.Weibo {
			common = append(common, a.AccountCommon)
		}
	case envelope.PlatformWeChat:
		for _, a := range cfg.Accounts.WeChat {
			common = append(common, a.AccountCommon)
		}
	}
	for _, c := range common {
		if c.Name == key.account {
			return c.SendRate
		}
	}
	return 0
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
