package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"hotline/config"
	"hotline/envelope"
	"hotline/gateway"
)

// benchOptions sizes one `hotline bench` run.
type benchOptions struct {
	Messages      int
	Conversations int
	Senders       int
	Workers       int
	// Rate is the offered load in messages per second; 0 sends as fast
	// as the senders can, which measures throughput (and latency then
	// includes the queue that builds up).
	Rate    float64
	Timeout time.Duration
}

// benchResult is what a run measured.
type benchResult struct {
	Messages      int
	Elapsed       time.Duration
	P50, P99, Max time.Duration
	CPUs, Procs   int
}

func (r benchResult) rate() float64 { return float64(r.Messages) / r.Elapsed.Seconds() }

// runBench measures the gateway's core path on this machine: messages
// stored on HOTLINE_IN by concurrent senders (as webhooks do), routed
// (session, commands, texts), and their replies stored on HOTLINE_OUT. It
// uses a throwaway embedded server with file storage, like a default
// `serve`, and the configured router settings.
func runBench(ctx context.Context, cfg config.Config, opts benchOptions) (benchResult, error) {
	dir, err := os.MkdirTemp("", "hotline-bench-")
	if err != nil {
		return benchResult{}, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir)
	// The whole gateway, as serve runs it, minus the accounts: messages
	// come from a "bench" platform nobody delivers for, so replies stay
	// on HOTLINE_OUT where they are counted.
	cfg.NATS.URL, cfg.NATS.StoreDir, cfg.NATS.Listen = "", dir, ""
	cfg.HTTP.Listen, cfg.HTTP.AdminListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Accounts = nil
	cfg.Router.Workers = opts.Workers
	gw, err := gateway.New(ctx, cfg, gateway.Deps{})
	if err != nil {
		return benchResult{}, err
	}
	b := gw.Bus()
	rctx, stopRouter := context.WithCancel(ctx)
	routerDone := make(chan error, 1)
	go func() { routerDone <- gw.Run(rctx) }()
	defer func() {
		stopRouter()
		<-routerDone
	}()

	// Replies are matched to their message by InReplyTo.
	var mu sync.Mutex
	sentAt := make(map[string]time.Time, opts.Messages)
	latencies := make([]time.Duration, 0, opts.Messages)
	all := make(chan struct{})
	sub, err := b.Conn().Subscribe("hotline.out.>", func(msg *nats.Msg) {
		var rep envelope.Reply
		if envelope.Decode(msg.Data, &rep) != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if at, ok := sentAt[rep.InReplyTo]; ok {
			latencies = append(latencies, time.Since(at))
			delete(sentAt, rep.InReplyTo) // the first reply counts
			if len(latencies) == opts.Messages {
				close(all)
			}
		}
	})
	if err != nil {
		return benchResult{}, fmt.Errorf("bench: subscribe: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	_ = sub.SetPendingLimits(-1, -1)

	texts := []string{"help", "menu", "1", "status", "help+en", "2", "帮助", "help+ar"}
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	next := make(chan int)
	var pace *rate.Limiter
	if opts.Rate > 0 {
		pace = rate.NewLimiter(rate.Limit(opts.Rate), max(1, int(opts.Rate/100)))
	}
	g.Go(func() error {
		defer close(next)
		for i := range opts.Messages {
			if pace != nil {
				if err := pace.Wait(gctx); err != nil {
					return err
				}
			}
			select {
			case next <- i:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for range opts.Senders {
		g.Go(func() error {
			for i := range next {
				now := time.Now().UTC()
				user := fmt.Sprint("bench-", i%opts.Conversations)
				m := envelope.Message{
					ID: envelope.NewID(now), Platform: "bench", Account: "bench", PlatformMsgID: fmt.Sprint("bench-", i),
					Conversation: envelope.ConversationKey("bench", "bench", user), From: envelope.Party{ID: user},
					Kind: envelope.KindText, Text: texts[i%len(texts)], ReceivedAt: now,
				}
				mu.Lock()
				sentAt[m.ID] = time.Now()
				mu.Unlock()
				if _, err := b.PublishInbound(gctx, &m, nil); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return benchResult{}, fmt.Errorf("bench: publish: %w", err)
	}
	select {
	case <-all:
	case err := <-routerDone:
		routerDone <- err
		return benchResult{}, fmt.Errorf("bench: gateway stopped: %w", err)
	case <-time.After(opts.Timeout):
		mu.Lock()
		n := len(latencies)
		mu.Unlock()
		return benchResult{}, fmt.Errorf("bench: %d of %d replies after %s", n, opts.Messages, opts.Timeout)
	case <-ctx.Done():
		return benchResult{}, ctx.Err()
	}
	elapsed := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(latencies)
	pct := func(p float64) time.Duration { return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))] }
	return benchResult{
		Messages: opts.Messages, Elapsed: elapsed, P50: pct(0.50), P99: pct(0.99), Max: latencies[len(latencies)-1],
		CPUs: runtime.NumCPU(), Procs: runtime.GOMAXPROCS(0),
	}, nil
}

func printBench(w io.Writer, r benchResult, opts benchOptions) {
	load := "as fast as possible"
	if opts.Rate > 0 {
		load = fmt.Sprintf("offered at %.0f/s", opts.Rate)
	}
	fmt.Fprintf(w, "hotline bench: %d messages %s, %d conversations, %d senders, %d router workers\n",
		r.Messages, load, opts.Conversations, opts.Senders, opts.Workers)
	fmt.Fprintf(w, "machine: %d CPUs (GOMAXPROCS %d), %s/%s, %s\n", r.CPUs, r.Procs, runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintf(w, "throughput: %.0f messages/s (stored, routed, reply stored) in %s\n", r.rate(), r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "latency, message sent to reply stored: p50 %s, p99 %s, max %s\n",
		r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond))
}

func (r *rootCommand) benchCommand() *cobra.Command {
	opts := benchOptions{Messages: 20000, Conversations: 2000, Senders: 32, Workers: 64, Timeout: 5 * time.Minute}
	httpFlags := &httpBenchFlags{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure messages per second and latency through the bus and the router on this machine",
		Long: "Runs a throwaway embedded NATS server with file storage, the router with the configured\n" +
			"settings, and concurrent senders; prints throughput, latency percentiles and the core count.\n" +
			"It does not touch a running gateway or its data.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if httpFlags.enabled {
				return r.runHTTPBenchCommand(c, httpFlags, opts)
			}
			if opts.Messages < 1 || opts.Conversations < 1 || opts.Senders < 1 || opts.Workers < 1 || opts.Rate < 0 {
				return usageError{errors.New("--messages, --conversations, --senders and --workers must be at least 1, --rate not negative")}
			}
			cfg, _, err := r.loadConfig()
			if err != nil {
				return err
			}
			res, err := runBench(c.Context(), cfg, opts)
			if err != nil {
				return err
			}
			printBench(c.OutOrStdout(), res, opts)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Messages, "messages", opts.Messages, "messages to send")
	f.IntVar(&opts.Conversations, "conversations", opts.Conversations, "distinct users they come from")
	f.IntVar(&opts.Senders, "senders", opts.Senders, "concurrent senders (webhook handlers)")
	f.IntVar(&opts.Workers, "workers", opts.Workers, "router workers (router.workers)")
	f.Float64Var(&opts.Rate, "rate", 0, "offered load in messages/s for a latency measurement (0: as fast as possible)")
	f.DurationVar(&opts.Timeout, "timeout", opts.Timeout, "give up after this long")
	httpFlags.register(cmd)
	return cmd
}
