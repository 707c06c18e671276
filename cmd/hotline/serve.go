package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/spf13/cobra"

	"hotline/bus"
	"hotline/config"
	"hotline/gateway"
	"hotline/platform/builtin"
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
			for _, warning := range config.UnknownEnv(nil, builtin.Platforms()) {
				log.Warn(warning)
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

// serve runs the gateway with the built-in platforms until ctx ends.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger, onListen listening) error {
	g, err := gateway.New(ctx, cfg, gateway.Deps{Logger: log, Platforms: builtin.Platforms(), Version: buildVersion()})
	if err != nil {
		if ce := (gateway.ConfigError{}); errors.As(err, &ce) {
			return usageError{err}
		}
		if errors.Is(err, bus.ErrStoreLocked) {
			// Not a failure of this run but of how it was started: a
			// second serve pointed at the first one's store.
			return usageError{fmt.Errorf("%w; stop that one or give this one its own nats.store_dir", err)}
		}
		return err
	}
	if onListen != nil {
		onListen(g.PublicAddr(), g.AdminAddr())
	}
	return g.Run(ctx)
}
