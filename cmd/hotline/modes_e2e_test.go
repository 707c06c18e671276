package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"hotline/envelope"
	"hotline/gateway"
)

// TestOperatorCLI drives modes, the review queue and status through the
// CLI against a running gateway, as an operator would during an outage.
// adminCLI runs hotline commands against the gateway at admin, failing
// the test on an unexpected exit code, and returns what they printed.
func adminCLI(t *testing.T, admin string) func(wantCode int, args ...string) string {
	return func(wantCode int, args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args = append(args, "--admin-url", "http://"+admin, "--token", testAdminToken)
		if code := run(context.Background(), args, &stdout, &stderr); code != wantCode {
			t.Fatalf("hotline %v: exit %d, want %d: %s%s", args, code, wantCode, stdout.String(), stderr.String())
		}
		return stdout.String() + stderr.String()
	}
}

func TestOperatorCLI(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, t.TempDir())
	_, admin, _ := startServe(t, cfg)
	cli := adminCLI(t, admin)

	if out := cli(0, "mode", "ls"); !strings.Contains(out, "no degraded mode is on") {
		t.Fatalf("mode ls on a fresh gateway:\n%s", out)
	}
	// A scope naming an account this gateway does not run would do
	// nothing: refused, with what it does run.
	if out := cli(2, "mode", "set", "read_only", "--scope", "webchat/nope", "--reason", "typo", "--by", "alice"); !strings.Contains(out, `runs no webchat account "nope" (it runs demo)`) {
		t.Fatalf("mode set for an account not run:\n%s", out)
	}
	cli(0, "mode", "set", "read_only", "--reason", "payments outage", "--ttl", "1h", "--by", "alice")
	cli(0, "mode", "set", "announcement", "--scope", "webchat", "--reason", "payments outage", "--by", "alice",
		"--announce", "en=Payments are delayed; nothing is lost.", "--announce", "zh=支付延迟，消息不会丢失。")
	out := cli(0, "mode", "ls")
	for _, want := range []string{"read_only", "global", "alice", "in ", "announcement", "webchat", "en=Payments are delayed"} {
		if !strings.Contains(out, want) {
			t.Fatalf("mode ls lacks %q:\n%s", want, out)
		}
	}
	if out := cli(0, "simulate", "--user", "ops-1", "--lang-hint", "en", "my withdrawal never arrived"); !strings.Contains(out, "temporarily limited") ||
		!strings.Contains(out, "Payments are delayed; nothing is lost.") {
		t.Fatalf("a question in read_only:\n%s", out)
	}
	if out := cli(0, "simulate", "--user", "ops-1", "--lang-hint", "en", "status"); !strings.Contains(out, "Payments are delayed") {
		t.Fatalf("STATUS during an announcement:\n%s", out)
	}
	status := cli(0, "status")
	for _, want := range []string{"read_only", "HOTLINE_IN", "router=", "p2", "REVIEW QUEUE"} {
		if !strings.Contains(status, want) {
			t.Fatalf("status lacks %q:\n%s", want, status)
		}
	}
	_, body := get(t, "http://"+admin+"/admin/v1/status", testAdminToken)
	var rep gateway.StatusReport
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Handoffs.Open[envelope.P2] != 1 || len(rep.Modes) != 2 {
		t.Fatalf("status report: open handoffs %v, modes %d; want the deferred p2 and 2 modes", rep.Handoffs.Open, len(rep.Modes))
	}
	cli(0, "mode", "clear", "read_only", "--by", "alice")
	if out := cli(0, "simulate", "--user", "ops-2", "--lang-hint", "en", "where is my parcel"); strings.Contains(out, "temporarily limited") {
		t.Fatalf("read_only still applied after clear:\n%s", out)
	}
	if out := cli(2, "mode", "set", "panic_mode", "--reason", "x"); !strings.Contains(out, "400") {
		t.Fatalf("unknown mode: %s", out)
	}
	if out := cli(1, "mode", "clear", "read_only", "--by", "alice"); !strings.Contains(out, "404") {
		t.Fatalf("clearing a mode that is off: %s", out)
	}

	// A reply held by review_first, released by an operator.
	nc, err := nats.Connect("nats://" + cfg.NATS.Listen)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sent := make(chan envelope.Reply, 4)
	if _, err := nc.Subscribe("hotline.out.>", func(m *nats.Msg) {
		var r envelope.Reply
		if envelope.Decode(m.Data, &r) == nil && r.Source == envelope.SourceOperator {
			sent <- r
		}
	}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	held := envelope.Reply{ID: envelope.NewID(now), Platform: "webchat", Account: "demo", Conversation: "webchat:demo:v9",
		To: envelope.Party{ID: "v9"}, Text: "Your refund was approved.", Source: envelope.SourceBot, CreatedAt: now}
	data, _ := json.Marshal(held)
	msg := &nats.Msg{Subject: envelope.SubjectReview, Data: data, Header: nats.Header{envelope.HeaderMsgID: {held.ID}}}
	if _, err := nc.RequestMsg(msg, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if out := cli(0, "review", "ls"); !strings.Contains(out, held.ID) {
		t.Fatalf("review ls:\n%s", out)
	}
	if out := cli(0, "review", "edit", held.ID, "Your", "refund", "is", "on", "its", "way.", "--by", "bo"); !strings.Contains(out, "edited and sent") {
		t.Fatalf("review edit: %s", out)
	}
	select {
	case r := <-sent:
		if r.Text != "Your refund is on its way." || r.To.ID != "v9" {
			t.Fatalf("released reply %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("edited reply never reached hotline.out")
	}
	if out := cli(1, "review", "approve", held.ID, "--by", "cy"); !strings.Contains(out, "409") {
		t.Fatalf("second decision: %s", out)
	}
}
