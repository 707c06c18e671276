package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"hotline/config"
	"hotline/platform/builtin"
	"hotline/router"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// rootCommand is the command tree plus what its flags hold.
type rootCommand struct {
	*cobra.Command
	configFile string
	logFormat  string
	logLevel   string
	stdout     io.Writer
	stderr     io.Writer
	// started is set once flags parsed and a command began, so errors
	// before that are reported as usage errors.
	started bool
}

func newRootCommand(stdout, stderr io.Writer) *rootCommand {
	r := &rootCommand{stdout: stdout, stderr: stderr}
	r.Command = &cobra.Command{
		Use:           "hotline",
		Short:         "Bot gateway for customer service on chat platforms and SMS",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(*cobra.Command, []string) {
			r.started = true
		},
	}
	r.SetOut(stdout)
	r.SetErr(stderr)
	r.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	flags := r.PersistentFlags()
	flags.StringVar(&r.configFile, "config", "", "YAML config file (default ./hotline.yaml when present)")
	flags.StringVar(&r.logFormat, "log-format", "", "log format: auto, text or json (overrides log.format)")
	flags.StringVar(&r.logLevel, "log-level", "", "log level: debug, info, warn or error (overrides log.level)")
	r.AddCommand(r.serveCommand(), r.versionCommand(), r.configCommand(), r.healthCommand(), r.handoffCommand(), r.simulateCommand(), r.sendCommand(), r.benchCommand(), r.modeCommand(), r.reviewCommand(), r.statusCommand(), r.deadCommand(), r.deliveriesCommand(), r.tierCommand(), r.faqCommand(), r.textCommand())
	return r
}

// loadConfig reads the configuration and applies the logging flags.
func (r *rootCommand) loadConfig() (config.Config, string, error) {
	// The languages the built-in texts have: router.default_lang is
	// checked with every other key, not at serve's start.
	texts, err := router.LoadCatalog("")
	if err != nil {
		return config.Config{}, "", err
	}
	cfg, file, err := config.Load(config.Options{File: r.configFile, Platforms: builtin.Platforms(), Languages: texts.Codes()})
	if err != nil {
		return config.Config{}, file, usageError{err}
	}
	if r.logFormat != "" {
		cfg.Log.Format = r.logFormat
	}
	if r.logLevel != "" {
		cfg.Log.Level = r.logLevel
	}
	return cfg, file, nil
}

// newLogger builds the process logger: text for a person at a terminal,
// JSON for a log pipeline.
func newLogger(w io.Writer, cfg config.Log) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Level)); err != nil {
		return nil, usageError{fmt.Errorf("log level %q: %w", cfg.Level, err)}
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: readableDuration}
	switch cfg.Format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "auto":
		if isTerminal(w) {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Errorf("log format %q is not auto, text or json", cfg.Format)}
}

// readableDuration writes durations as Go prints them ("1.5s", "250ms")
// in either format: the JSON handler would write nanoseconds, which
// nobody reading a log line or a dashboard wants to count.
func readableDuration(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (r *rootCommand) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of this build",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "hotline %s\n", buildVersion())
		},
	}
}

// buildVersion is the -ldflags version, or the VCS revision Go recorded.
func buildVersion() string {
	if version != "dev" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return version
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return version
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "dev-" + rev
}
