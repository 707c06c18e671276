package gateway_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hotline/adapters/sms/twilio"
	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/config"
	"hotline/envelope"
	"hotline/fallback"
	"hotline/gateway"
	"hotline/gateway/gatewaytest"
)

// The cluster drills run three gateways on a three-node NATS cluster
// (every stream and bucket with three replicas) inside the test, behind
// a round-robin "load balancer", with Twilio as the platform: it never
// sends an inbound webhook again, so a 503 is a lost message. Every
// reply is counted per message, in the webhook's TwiML answer and at the
// fake Messages API.

const (
	drillSID       = "AC00000000000000000000000000000001"
	drillToken     = "drill-auth-token-0123456789abcdef"
	drillPublicURL = "https://hotline.example.com"
	drillHook      = "/webhooks/sms/sms-main"
)

// smsAPI is a fake Twilio Messages API that records every message sent.
type smsAPI struct {
	srv  *httptest.Server
	mu   sync.Mutex
	sent map[string][]string    // To → bodies
	at   map[string][]time.Time // To → when each arrived
}

func newSMSAPI(t *testing.T) *smsAPI {
	api := &smsAPI{sent: map[string][]string{}, at: map[string][]time.Time{}}
	var n atomic.Int64
	api.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || !strings.HasSuffix(r.URL.Path, "/Messages.json") {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		api.mu.Lock()
		api.sent[r.PostForm.Get("To")] = append(api.sent[r.PostForm.Get("To")], r.PostForm.Get("Body"))
		api.at[r.PostForm.Get("To")] = append(api.at[r.PostForm.Get("To")], time.Now())
		api.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"sid":"SM%032d","status":"queued","num_segments":"1"}`, n.Add(1))
	}))
	t.Cleanup(api.srv.Close)
	return api
}

// drillGateway is one instance: its bus (its own NATS connection) and
// its listener.
type drillGateway struct {
	name string
	b    *bus.Bus
	g    *gateway.Gateway
	url  string
	stop context.CancelFunc
	done chan error
}

type clusterRig struct {
	// t is the test the rig's checks report to: the subtest running
	// (during), so a failed check ends that subtest, not its parent.
	t    *testing.T
	c    *bustest.Cluster
	api  *smsAPI
	gws  []*drillGateway
	rr   atomic.Int64 // the balancer's next instance
	sid  atomic.Int64
	down atomic.Int64 // instances below this index are out of the balancer
	// fallbackURL: a webhook that fails is posted again to the next
	// instance in rotation, as Twilio does with a number's fallback URL.
	fallbackURL atomic.Bool

	mu      sync.Mutex
	twiml   map[string][]string    // user → replies in webhook answers
	statuse map[int]int            // webhook status → count
	sentAt  map[string]time.Time   // user → when their last message was posted
	gotAt   map[string][]time.Time // user → when each reply in a webhook answer arrived
	slowest time.Duration          // the longest a webhook took to answer
}

// during makes t the test the rig reports to until the returned func.
func (r *clusterRig) during(t *testing.T) (restore func()) {
	prev := r.t
	r.t = t
	return func() { r.t = prev }
}

func newClusterRig(t *testing.T, instances int, tune func(*config.Config)) *clusterRig {
	t.Helper()
	r := &clusterRig{t: t, c: bustest.StartCluster(t, 3), api: newSMSAPI(t), twiml: map[string][]string{}, statuse: map[int]int{},
		sentAt: map[string]time.Time{}, gotAt: map[string][]time.Time{}}
	for i := range instances {
		name := fmt.Sprintf("gw-%c", 'a'+i)
		b := bustest.OpenOn(t, r.c, 3, name)
		settings := twilio.Config{Provider: twilio.Provider, Account: "sms-main", AccountSID: drillSID, AuthToken: drillToken,
			From: "+14155550100", APIBase: r.api.srv.URL, ReplyWindow: 2 * time.Second}
		cfg := gatewaytest.Config(config.AccountOf(twilio.Platform(), &settings))
		cfg.HTTP.PublicURL = drillPublicURL
		cfg.NATS.Replicas = 3
		if tune != nil {
			tune(&cfg)
		}
		ctx, cancel := context.WithCancel(context.Background())
		g, err := gateway.New(ctx, cfg, gateway.Deps{Bus: b, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
			OutboundBackoff: func(int) time.Duration { return 100 * time.Millisecond }})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		gw := &drillGateway{name: name, b: b, g: g, url: gatewaytest.URL(g), stop: cancel, done: make(chan error, 1)}
		go func() { gw.done <- g.Run(ctx) }()
		t.Cleanup(func() {
			gw.stop()
			select {
			case <-gw.done:
			case <-time.After(30 * time.Second):
				buf := make([]byte, 1<<22)
				t.Errorf("%s did not stop within 30 s\n%s", gw.name, buf[:runtime.Stack(buf, true)])
			}
		})
		r.gws = append(r.gws, gw)
	}
	// Every instance owns its share of the router's partitions before
	// the drill starts.
	bustest.WaitFor(t, "the router's partitions to be shared out", func() bool {
		total := 0.0
		for _, gw := range r.gws {
			total += gw.b.Share("router")
		}
		return total > 0.99 && total < 1.01
	})
	return r
}

// text is one user's SMS as Twilio posts it, with a fresh MessageSid.
func (r *clusterRig) text(user, body string) url.Values {
	return url.Values{"MessageSid": {fmt.Sprintf("SM%032d", 7e9+r.sid.Add(1))}, "AccountSid": {drillSID}, "From": {user},
		"To": {"+14155550100"}, "Body": {body}, "NumMedia": {"0"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"}}
}

// post sends one webhook to instance i (the next by round robin when i
// < 0) and records its status and the replies in its answer.
func (r *clusterRig) post(i int, form url.Values) int {
	if i < 0 {
		// The balancer skips instances taken out of rotation.
		from := int(r.down.Load())
		i = from + int(r.rr.Add(1))%(len(r.gws)-from)
	}
	sig := twilio.Signature(drillToken, drillPublicURL+drillHook, form)
	req, _ := http.NewRequest(http.MethodPost, r.gws[i].url+drillHook, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sig)
	// Twilio waits 15 s for an answer.
	client := &http.Client{Timeout: 15 * time.Second}
	start := time.Now()
	r.mu.Lock()
	r.sentAt[form.Get("From")] = start
	r.mu.Unlock()
	resp, err := client.Do(req)
	status := 0
	var replies []string
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		status = resp.StatusCode
		var twiml struct {
			Messages []string `xml:"Message"`
		}
		if status == http.StatusOK && len(body) > 0 {
			if err := xml.Unmarshal(body, &twiml); err != nil {
				r.t.Errorf("TwiML answer %q: %v", body, err)
			}
			replies = twiml.Messages
		}
	}
	r.mu.Lock()
	r.statuse[status]++
	user := form.Get("From")
	r.twiml[user] = append(r.twiml[user], replies...)
	for range replies {
		r.gotAt[user] = append(r.gotAt[user], time.Now())
	}
	r.slowest = max(r.slowest, time.Since(start))
	r.mu.Unlock()
	if status != http.StatusOK && r.fallbackURL.Load() {
		return r.post(-1, form)
	}
	return status
}

// replies are every reply user got, in the webhook answers and by the
// API, in the order they arrived, as the user's phone shows them. (Each
// way's list alone is not enough: a reply that missed its webhook's
// window comes by API, after one a later webhook carried.)
func (r *clusterRig) replies(user string) []string {
	type arrival struct {
		at   time.Time
		text string
	}
	var all []arrival
	r.mu.Lock()
	for i, text := range r.twiml[user] {
		all = append(all, arrival{r.gotAt[user][i], text})
	}
	r.mu.Unlock()
	r.api.mu.Lock()
	for i, text := range r.api.sent[user] {
		all = append(all, arrival{r.api.at[user][i], text})
	}
	r.api.mu.Unlock()
	slices.SortStableFunc(all, func(a, b arrival) int { return a.at.Compare(b.at) })
	out := make([]string, len(all))
	for i, a := range all {
		out[i] = a.text
	}
	return out
}

// replyDelays are, per user, how long after their (last) message their
// first reply came, in a webhook answer or by the API.
func (r *clusterRig) replyDelays(users []string) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.api.mu.Lock()
	defer r.api.mu.Unlock()
	var out []time.Duration
	for _, u := range users {
		first := time.Time{}
		for _, at := range append(slices.Clone(r.gotAt[u]), r.api.at[u]...) {
			if first.IsZero() || at.Before(first) {
				first = at
			}
		}
		if !first.IsZero() {
			out = append(out, first.Sub(r.sentAt[u]))
		}
	}
	slices.Sort(out)
	return out
}

// nonOK is how many webhooks got anything but 200.
func (r *clusterRig) nonOK() map[int]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[int]int{}
	for s, n := range r.statuse {
		if s != http.StatusOK {
			out[s] = n
		}
	}
	return out
}

// storedOnce checks that HOTLINE_IN holds every sid once.
func (r *clusterRig) storedOnce(sids map[string]bool) {
	r.t.Helper()
	seen := map[string]int{}
	for _, data := range bustest.Messages(r.t, r.gws[len(r.gws)-1].b, bus.StreamIn, "hotline.in.sms.sms-main") {
		var m envelope.Message
		if err := envelope.Decode(data, &m); err == nil {
			seen[m.PlatformMsgID]++
		}
	}
	lost, twice := 0, 0
	for sid := range sids {
		switch seen[sid] {
		case 0:
			lost++
		case 1:
		default:
			twice++
		}
	}
	r.t.Logf("HOTLINE_IN: %d messages sent, %d not stored, %d stored twice", len(sids), lost, twice)
	if lost+twice > 0 {
		r.t.Errorf("HOTLINE_IN: %d of %d messages not stored, %d stored twice", lost, len(sids), twice)
	}
}

// answeredOnce waits until every user has want replies, then checks no
// user got more.
func (r *clusterRig) answeredOnce(users []string, want int) {
	r.t.Helper()
	r.answeredAtLeastOnce(users, want, 0)
}

// answeredAtLeastOnce waits until every user has want replies, and
// allows at most extra users a second copy (see the crash drill).
func (r *clusterRig) answeredAtLeastOnce(users []string, want, extra int) {
	r.t.Helper()
	var short, over int
	bustest.Poll(45*time.Second, func() bool {
		short, over = 0, 0
		for _, u := range users {
			switch n := len(r.replies(u)); {
			case n < want:
				short++
			case n > want:
				over++
			}
		}
		return short == 0
	})
	r.t.Logf("replies: %d users, %d without their reply, %d answered twice (at most %d may be)", len(users), short, over, extra)
	if short > 0 || over > extra {
		r.t.Errorf("%d of %d users lack a reply and %d got one twice", short, len(users), over)
	}
}

// streamLeader is the index of the node leading stream.
func (r *clusterRig) streamLeader(stream string) int {
	r.t.Helper()
	st, err := r.gws[0].b.JetStream().Stream(context.Background(), stream)
	if err != nil {
		r.t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil || info.Cluster == nil {
		r.t.Fatalf("stream %s info: %v", stream, err)
	}
	return r.c.Index(info.Cluster.Leader)
}

// load sends n messages from n users, one each, from workers senders,
// round robin over the instances; at is called once after the first
// third went out.
func (r *clusterRig) load(prefix int, n, workers int, at func()) (users []string, sids map[string]bool) {
	sids = map[string]bool{}
	forms := make([]url.Values, n)
	for i := range n {
		user := drillUser(prefix, i)
		users = append(users, user)
		forms[i] = r.text(user, "help")
		sids[forms[i].Get("MessageSid")] = true
	}
	next := make(chan url.Values)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for f := range next {
				r.post(-1, f)
			}
		})
	}
	for i, f := range forms {
		if i == n/3 && at != nil {
			at()
		}
		next <- f
	}
	close(next)
	wg.Wait()
	return users, sids
}

// drillUser is user i of a drill's users: valid US numbers, a city per
// drill so drills never share a conversation.
func drillUser(drill, i int) string {
	return fmt.Sprintf("+1%d555%04d", []int{212, 312, 415, 646, 718, 917}[drill], i)
}

func TestClusterDrills(t *testing.T) {
	r := newClusterRig(t, 3, func(cfg *config.Config) {
		cfg.Fallback.RateLimit.GlobalPerSecond = 10
		cfg.Fallback.RateLimit.GlobalBurst = 10
	})

	// One help answer, as a user who is alone on the cluster gets it.
	calibrate := drillUser(0, 1)
	if status := r.post(0, r.text(calibrate, "help")); status != http.StatusOK {
		t.Fatalf("calibration: webhook answered %d", status)
	}
	bustest.WaitFor(t, "the calibration reply", func() bool { return len(r.replies(calibrate)) > 0 })
	perHelp := len(r.replies(calibrate))

	t.Run("stream leader crashed mid-load", func(t *testing.T) {
		defer r.during(t)()
		leader := r.streamLeader(bus.StreamIn)
		var killedAt time.Time
		users, sids := r.load(1, 240, 8, func() {
			killedAt = time.Now()
			r.c.Crash(leader)
			t.Logf("crashed %s, the leader of %s", r.c.Name(leader), bus.StreamIn)
		})
		t.Logf("load done %v after the kill", time.Since(killedAt).Round(time.Millisecond))
		if bad := r.nonOK(); len(bad) > 0 {
			t.Errorf("webhooks answered other than 200 (status → count): %v", bad)
		}
		r.mu.Lock()
		slowest := r.slowest
		r.mu.Unlock()
		r.c.Restart(leader)
		r.c.WaitHealthy(t)
		r.storedOnce(sids)
		r.answeredOnce(users, perHelp)
		d := r.replyDelays(users)
		t.Logf("node loss: the slowest webhook answered after %v; reply delays p50 %v, p99 %v, max %v",
			slowest.Round(time.Millisecond), d[len(d)/2].Round(time.Millisecond), d[len(d)*99/100].Round(time.Millisecond), d[len(d)-1].Round(time.Millisecond))
	})

	t.Run("a conversation alternating between instances is answered in order", func(t *testing.T) {
		defer r.during(t)()
		langs := []string{"fr", "de", "es", "ru", "ar", "en"}
		// What each switch answers, from a user who does it alone.
		want := map[string][]string{}
		for _, l := range langs {
			u := drillUser(0, 100+slices.Index(langs, l))
			r.post(0, r.text(u, "lang "+l))
			bustest.WaitFor(t, "the answer to lang "+l, func() bool { return len(r.replies(u)) > 0 })
			want[l] = r.replies(u)
		}
		const users = 20
		var wg sync.WaitGroup
		var outOfOrder atomic.Int64
		for u := range users {
			wg.Go(func() {
				user := drillUser(2, u)
				got := 0
				for k, l := range langs {
					r.post(k%len(r.gws), r.text(user, "lang "+l))
					// Each waits for its answer before the next.
					bustest.Poll(20*time.Second, func() bool { return len(r.replies(user)) >= got+len(want[l]) })
					replies := r.replies(user)
					if len(replies) < got+len(want[l]) || strings.Join(replies[got:got+len(want[l])], "\n") != strings.Join(want[l], "\n") {
						outOfOrder.Add(1)
						t.Errorf("%s: after lang %s got %q, want %q", user, l, replies[min(got, len(replies)):], want[l])
						return
					}
					got += len(want[l])
				}
			})
		}
		wg.Wait()
		t.Logf("%d users × %d language switches alternating between %d instances: %d out of order", users, len(langs), len(r.gws), outOfOrder.Load())
		// In order, and each exactly once.
		total := 0
		for _, l := range langs {
			total += len(want[l])
		}
		var all []string
		byAPI := 0
		r.api.mu.Lock()
		for u := range users {
			all = append(all, drillUser(2, u))
			byAPI += len(r.api.sent[drillUser(2, u)])
		}
		r.api.mu.Unlock()
		t.Logf("%d of the %d answers came by API (after their webhook's window closed)", byAPI, users*total)
		r.answeredOnce(all, total)
	})

	t.Run("one instance sends for the account", func(t *testing.T) {
		defer r.during(t)()
		// The account's send rate is kept where its loop runs: exactly
		// one instance may run it.
		var owners []string
		for _, gw := range r.gws {
			switch s := gw.b.Share("outbound"); s {
			case 1:
				owners = append(owners, gw.name)
			case 0:
			default:
				t.Errorf("%s owns %v of the one delivery loop", gw.name, s)
			}
		}
		if len(owners) != 1 {
			t.Errorf("instances running sms-main's delivery loop: %v, want exactly one", owners)
		}
	})

	t.Run("a mode set on one instance reaches the other in under a second", func(t *testing.T) {
		defer r.during(t)()
		scope := fallback.Scope{Platform: envelope.PlatformSMS, Account: "sms-main"}
		start := time.Now()
		if _, err := r.gws[0].g.Modes().Set(context.Background(), fallback.Setting{Mode: fallback.ModeReadOnly, Scope: scope, Reason: "drill", SetBy: "drill"}); err != nil {
			t.Fatal(err)
		}
		bustest.WaitFor(t, "read_only on the other instances", func() bool {
			for _, gw := range r.gws[1:] {
				if gw.g.Modes().Active(envelope.PlatformSMS, "sms-main").ReadOnly == nil {
					return false
				}
			}
			return true
		})
		took := time.Since(start)
		t.Logf("read_only set on %s was in force on the other %d instances after %v", r.gws[0].name, len(r.gws)-1, took.Round(time.Millisecond))
		if took > time.Second {
			t.Errorf("a mode took %v to reach the other instances, want < 1s", took)
		}
		if err := r.gws[1].g.Modes().Clear(context.Background(), fallback.ModeReadOnly, scope, "drill"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("rate_limited holds cluster-wide", func(t *testing.T) {
		defer r.during(t)()
		scope := fallback.Scope{Platform: envelope.PlatformSMS, Account: "sms-main"}
		modes := r.gws[0].g.Modes()
		if _, err := modes.Set(context.Background(), fallback.Setting{Mode: fallback.ModeRateLimited, Scope: scope, Reason: "drill", SetBy: "drill"}); err != nil {
			t.Fatal(err)
		}
		for _, gw := range r.gws {
			bustest.WaitFor(t, "rate_limited on "+gw.name, func() bool { return gw.g.Modes().Active(envelope.PlatformSMS, "sms-main").RateLimited != nil })
		}
		decisions := func(labels ...string) float64 {
			n := 0.0
			for _, gw := range r.gws {
				n += gatewaytest.Metric(t, gw.url, "hotline_gate_decisions_total", labels...)
			}
			return n
		}
		before, beforeAll := decisions("decision", "normal"), decisions()
		start := time.Now()
		r.load(3, 400, 16, nil)
		// The budget runs until the router decided on the last message,
		// which on a loaded machine is well after the last webhook
		// answered (with an empty response once its window closed).
		bustest.WaitFor(t, "a gate decision on every message", func() bool { return decisions()-beforeAll >= 400 })
		elapsed := time.Since(start)
		admitted := decisions("decision", "normal") - before
		budget := 10 + 10*elapsed.Seconds()
		t.Logf("rate_limited 10/s burst 10 on %d instances: %.0f of 400 answered normally in %v, budget %.0f (%.2f×)",
			len(r.gws), admitted, elapsed.Round(time.Millisecond), budget, admitted/budget)
		if admitted > 1.25*budget || admitted < 0.75*budget {
			t.Errorf("%.0f answered normally, outside ±25%% of the budget of %.0f", admitted, budget)
		}
		if err := modes.Clear(context.Background(), fallback.ModeRateLimited, scope, "drill"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a gateway killed mid-load", func(t *testing.T) {
		defer r.during(t)()
		victim := r.gws[0]
		var crashed time.Time
		// The number's fallback URL is the other instance.
		r.fallbackURL.Store(true)
		const inFlight = 8
		users, sids := r.load(4, 300, inFlight, func() {
			// A crash, not a stop: requests and the NATS connection
			// drop, nothing is drained, handed back or unpinned. The
			// balancer sends the rest to the survivor.
			r.down.Store(1)
			victim.g.Crash()
			crashed = time.Now()
			t.Logf("%s crashed; its traffic moves to the other %d instances", victim.name, len(r.gws)-1)
		})
		r.storedOnce(sids)
		// A reply given in a webhook's answer in the last moments before
		// the crash, whose sent mark was not stored yet, goes again
		// through the API: at least once, never lost. At most the
		// requests in flight at that instant can be affected.
		r.answeredAtLeastOnce(users, perHelp, inFlight)
		d := r.replyDelays(users)
		t.Logf("gateway crash: all answered %v after it; reply delays p50 %v, max %v",
			time.Since(crashed).Round(time.Millisecond), d[len(d)/2].Round(time.Millisecond), d[len(d)-1].Round(time.Millisecond))
	})
}
