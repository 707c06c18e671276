package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"hotline/bus/bustest"
	"hotline/config"
	"hotline/platform/builtin"
)

// TestBenchHTTPEveryPlatform runs `bench --http --platform all` briefly:
// for every platform each "help" is answered inside the webhook's
// response, none is lost or answered twice, the bare handler answers,
// and the JSON and the table say so. It says nothing about speed.
func TestBenchHTTPEveryPlatform(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	args := []string{"bench", "--http", "--platform", "all", "--messages", "200", "--connections", "4", "--users", "50", "--json"}
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("hotline %v: exit %d: %s", args, code, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("progress or errors on stderr, which is not a terminal: %q", stderr.String())
	}
	var rep httpBenchReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("JSON output does not parse: %v\n%s", err, stdout.String())
	}
	if rep.Machine.CPUs < 1 || rep.Machine.Go == "" || rep.RSS.IdleBytes == 0 || rep.RSS.PeakBytes < rep.RSS.EndBytes {
		t.Errorf("machine or memory missing: %+v %+v", rep.Machine, rep.RSS)
	}
	if len(rep.Runs) != len(httpBenchPlatforms()) {
		t.Fatalf("%d runs, want one per platform: %+v", len(rep.Runs), rep.Runs)
	}
	for i, r := range rep.Runs {
		t.Run(r.Platform, func(t *testing.T) {
			if r.Platform != httpBenchPlatforms()[i] {
				t.Errorf("run %d is %s, want %s", i, r.Platform, httpBenchPlatforms()[i])
			}
			if r.Bare == nil || r.Bare.ReqPerSec <= 0 || r.Bare.Status["200"] != 200 || r.Ratio <= 0 {
				t.Errorf("bare run: %+v, ratio %v", r.Bare, r.Ratio)
			}
			checkAllAnsweredInResponse(t, r.Hotline, 200)
			if js := r.Hotline.JetStream; js == nil || js.WritesPerMsg < 2 {
				// At least the message on HOTLINE_IN and a session write.
				t.Errorf("JetStream writes not counted: %+v", js)
			}
			if !r.Hotline.APIObserved || !r.Hotline.Settled || r.Hotline.CPUPerMsg <= 0 {
				t.Errorf("hotline run: api observed %v, settled %v, cpu %v", r.Hotline.APIObserved, r.Hotline.Settled, r.Hotline.CPUPerMsg)
			}
		})
	}
	var table bytes.Buffer
	printHTTPBench(&table, rep)
	for _, want := range append(httpBenchPlatforms(), "req/s", "vs bare", "in resp", "p99 ms", "JS writes/msg", "CPUs", "RSS") {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

// checkAllAnsweredInResponse wants every one of n requests answered 200
// with its reply in the response.
func checkAllAnsweredInResponse(t *testing.T, s phaseStats, n int) {
	t.Helper()
	if s.Requests != n || s.Status["200"] != n || s.InResponse != n {
		t.Errorf("%d requests, status %v, %d replies in the response; want all %d", s.Requests, s.Status, s.InResponse, n)
	}
	if s.Lost != 0 || s.Duplicated != 0 || s.Invalid != 0 || s.Failed != 0 || s.ViaAPI != 0 {
		t.Errorf("lost %d, duplicated %d, invalid %d, failed %d, via API %d; want none", s.Lost, s.Duplicated, s.Invalid, s.Failed, s.ViaAPI)
	}
	l := s.Latency
	if l.Count != n || l.P50 <= 0 || l.P50 > l.P95 || l.P95 > l.P99 || l.P99 > l.Max {
		t.Errorf("implausible latency %+v", l)
	}
}

// TestBenchHTTPTarget drives a gateway started as serve starts it, with
// the accounts and secrets of its configuration.
func TestBenchHTTPTarget(t *testing.T) {
	t.Parallel()
	fake := newFakeAPIs()
	t.Cleanup(fake.srv.Close)
	accounts, err := newBenchAccounts(fake.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	// What an operator's file gives: the default per-number SMS limit
	// (10 at once), so no number sends more than that here.
	accounts.twilio.InboundEvery, accounts.twilio.InboundBurst = 0, 0
	cfg := testConfig(t, t.TempDir())
	cfg.Accounts = accounts.configured(httpBenchPlatforms())
	public, _, _ := startServe(t, cfg)

	opts := httpBenchOptions{Platforms: httpBenchPlatforms(), Connections: 2, Messages: 40, Users: 40, Workers: 1,
		Target: "http://" + public, Drain: time.Second}
	rep, err := runHTTPBench(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Runs {
		t.Run(r.Platform, func(t *testing.T) {
			if r.Bare != nil {
				t.Error("a bare run with Bare off")
			}
			checkAllAnsweredInResponse(t, r.Hotline, 40)
			if r.Hotline.APIObserved || r.Hotline.JetStream != nil {
				t.Errorf("API sends or JetStream reported for a gateway the bench cannot see into: %+v", r.Hotline)
			}
		})
	}
	var table bytes.Buffer
	printHTTPBench(&table, rep)
	if !strings.Contains(table.String(), "gateway at http://"+public) {
		t.Errorf("table does not name the target:\n%s", table.String())
	}
	cfg.Accounts = nil
	if _, err := runHTTPBench(context.Background(), cfg, opts); err == nil || !strings.Contains(err.Error(), "no Telegram webhook account") {
		t.Errorf("target without accounts: %v, want the missing account named", err)
	}
}

// TestBenchHTTPOpenLoopForADuration paces requests to the bare handler
// for a while: the requests due are sent, each answered, none after
// the end.
func TestBenchHTTPOpenLoopForADuration(t *testing.T) {
	t.Parallel()
	accounts, err := newBenchAccounts("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	hook, err := accounts.hook("wechat-safe")
	if err != nil {
		t.Fatal(err)
	}
	opts := httpBenchOptions{Connections: 3, Duration: 300 * time.Millisecond, Rate: 200, Users: 7}
	st, err := runBare(context.Background(), hook, newBenchIDs(opts.Users), opts, "wechat-safe")
	if err != nil {
		t.Fatal(err)
	}
	// 200/s for 0.3 s offers 60 requests; a slow machine may leave some
	// unsent when the time is up, never send more.
	if st.Requests == 0 || st.Requests+st.Unsent != 60 || st.Status["200"] != st.Requests || st.InResponse != st.Requests {
		t.Errorf("open loop for 300ms at 200/s: %+v", st)
	}
}

// TestBenchHTTPMatchesAPIRepliesByUser checks the accounting of replies
// that went through the platform API, which names users, not messages.
func TestBenchHTTPMatchesAPIRepliesByUser(t *testing.T) {
	t.Parallel()
	outs := []outcome{
		{user: 0, status: 200, latency: time.Millisecond},                          // answered by API
		{user: 1, status: 200, replies: 1, valid: true, latency: time.Millisecond}, // and by API too: duplicated
		{user: 2, status: 200},                           // never answered: lost
		{user: 3, status: 503},                           // not stored, answered anyway: not a duplicate
		{user: 4, status: 200, replies: 2, valid: true},  // two replies in one response
		{user: 5, status: 200, replies: 1, valid: false}, // reply to someone else
		{user: 6, status: 0},                             // timed out, never answered
	}
	api := map[string]int{"u0": 1, "u1": 1, "u3": 1}
	st := summarize(outs, time.Second, api, func(u int) string { return "u" + string(rune('0'+u)) })
	want := phaseStats{InResponse: 2, ViaAPI: 1, Lost: 2, Duplicated: 2, Invalid: 1, Failed: 2}
	got := phaseStats{InResponse: st.InResponse, ViaAPI: st.ViaAPI, Lost: st.Lost, Duplicated: st.Duplicated, Invalid: st.Invalid, Failed: st.Failed}
	if !equalCounts(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if st.Status["200"] != 5 || st.Status["503"] != 1 || st.Status["error"] != 1 || st.Requests != 7 || st.ReqPerSec != 7 {
		t.Errorf("status %v, %d requests, %v/s", st.Status, st.Requests, st.ReqPerSec)
	}
	if blind := summarize(outs, time.Second, nil, nil); blind.Lost != 3 || blind.ViaAPI != 0 || blind.APIObserved {
		t.Errorf("without the API: lost %d, via API %d, want every 200 without a reply lost", blind.Lost, blind.ViaAPI)
	}
}

func equalCounts(a, b phaseStats) bool {
	return a.InResponse == b.InResponse && a.ViaAPI == b.ViaAPI && a.Lost == b.Lost && a.Duplicated == b.Duplicated &&
		a.Invalid == b.Invalid && a.Failed == b.Failed
}

// TestBenchHTTPUsage refuses bad flags before starting anything.
func TestBenchHTTPUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--platform", "webchat"},
		{"--messages", "10", "--duration", "1s"},
		{"--connections", "0"},
		{"--target", "ftp://example.com"},
	} {
		var stdout, stderr bytes.Buffer
		full := append([]string{"bench", "--http"}, args...)
		if code := run(context.Background(), full, &stdout, &stderr); code != exitUsage {
			t.Errorf("hotline %v: exit %d, want %d (usage): %s", full, code, exitUsage, stderr.String())
		}
	}
}

// BenchmarkHTTPCluster is `hotline bench --http` with the gateway on a
// 3-node cluster in this process (replicas 3, loopback), for the cost of
// replication beside the embedded figures: Telegram webhooks, 32
// connections.
func BenchmarkHTTPCluster(b *testing.B) {
	c := bustest.StartCluster(b, 3)
	cfg := config.DefaultFor(builtin.Platforms())
	opts := httpBenchOptions{Platforms: []string{"telegram"}, Connections: 32, Messages: b.N, Users: 1000, Workers: 64,
		NATSURL: c.URL(), Replicas: 3, Drain: 10 * time.Second}
	b.ResetTimer()
	rep, err := runHTTPBench(context.Background(), cfg, opts)
	if err != nil {
		b.Fatal(err)
	}
	run := rep.Runs[0].Hotline
	if run.Lost > 0 || run.Duplicated > 0 {
		b.Fatalf("%d lost, %d duplicated", run.Lost, run.Duplicated)
	}
	b.ReportMetric(run.ReqPerSec, "req/s")
	b.ReportMetric(run.Latency.P99, "p99-ms")
}
