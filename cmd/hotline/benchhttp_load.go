package main

// The load of `hotline bench --http`: closed- or open-loop senders, the
// outcome of each request, percentiles, and the process's own CPU and
// memory.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

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
