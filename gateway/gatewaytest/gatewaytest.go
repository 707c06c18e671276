// Package gatewaytest runs a whole gateway inside a test, wired exactly as
// serve wires it, on the test's own bus: the one harness every adapter's
// end-to-end tests share.
package gatewaytest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"hotline/bus"
	"hotline/config"
	"hotline/gateway"
)

// Config is the default configuration with listeners on free loopback
// ports, answering in English, serving accounts.
func Config(accounts ...config.Account) config.Config {
	cfg := config.Default()
	cfg.HTTP.Listen, cfg.HTTP.AdminListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Router.DefaultLang = "en"
	cfg.Accounts = accounts
	return cfg
}

// Start builds the gateway on b and runs it until the test ends; the test
// fails if it does not stop cleanly. Failed sends are retried after 50 ms
// instead of seconds.
func Start(t testing.TB, b *bus.Bus, cfg config.Config, log *slog.Logger) *gateway.Gateway {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	g, err := gateway.New(ctx, cfg, gateway.Deps{Bus: b, Logger: log,
		OutboundBackoff: func(int) time.Duration { return 50 * time.Millisecond }})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway: %v", err)
		}
	})
	return g
}

// URL is the gateway's public listener as a base URL.
func URL(g *gateway.Gateway) string { return "http://" + g.PublicAddr().String() }

// Metric returns the sum of the series of name at base+"/metrics" whose
// labels include every name-value pair of labels.
func Metric(t testing.TB, base, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for line := range strings.Lines(string(body)) {
		series, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || (series != name && !strings.HasPrefix(series, name+"{")) {
			continue
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			match = match && strings.Contains(series, labels[i]+"="+strconv.Quote(labels[i+1]))
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil && match {
			sum += v
		}
	}
	return sum
}
