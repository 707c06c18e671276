package main

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"hotline/adapters/webchat"
	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
)

func TestOperatorSend(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, t.TempDir())
	_, admin, _ := startServe(t, cfg)
	cli := adminCLI(t, admin)
	nc, err := nats.Connect("nats://" + cfg.NATS.Listen)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	transcripts, err := js.KeyValue(ctx, webchat.TranscriptsBucket)
	if err != nil {
		t.Fatal(err)
	}

	const notice = "Your refund went out today; it shows in 1-3 days."
	send := []string{"send", "--platform", "webchat", "--account", "demo", "--user", "v-7", "--by", "alice", "--idempotency-key", "refund-v7"}
	if out := cli(0, append(send, notice)...); !strings.Contains(out, "queued: reply") {
		t.Fatalf("send: %s", out)
	}
	// Delivered by the web chat's own loop into the visitor's transcript.
	bustest.WaitFor(t, "the notice in the visitor's chat", func() bool {
		e, err := transcripts.Get(ctx, "demo.v-7")
		return err == nil && strings.Contains(string(e.Value()), notice)
	})
	if out := cli(0, append(send, notice)...); !strings.Contains(out, "already queued") {
		t.Fatalf("the same idempotency key again: %s", out)
	}
	_, audit := get(t, "http://"+admin+"/admin/v1/audit", testAdminToken)
	if !strings.Contains(audit, `"action":"send"`) || !strings.Contains(audit, `"by":"alice"`) || strings.Count(audit, `"action":"send"`) != 1 {
		t.Fatalf("audit trail has not exactly one send by alice: %s", audit)
	}

	// Nothing goes to a user who opted out.
	optouts, err := js.KeyValue(ctx, bus.BucketOptOut)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := optouts.Put(ctx, bus.OptOutKey(envelope.ConversationKey("webchat", "demo", "v-8")), []byte("stop")); err != nil {
		t.Fatal(err)
	}
	if out := cli(1, "send", "--platform", "webchat", "--account", "demo", "--user", "v-8", "--by", "alice", "hello"); !strings.Contains(out, "opted out") {
		t.Fatalf("send to an opted-out user: %s", out)
	}
	if out := cli(2, "send", "--platform", "icq", "--account", "demo", "--user", "v-9", "--by", "alice", "hello"); !strings.Contains(out, `platform: "icq" is not one of`) {
		t.Fatalf("send on an unknown platform: %s", out)
	}
	if out := cli(1, "send", "--platform", "telegram", "--account", "tg-main", "--user", "42", "--by", "alice", "hello"); !strings.Contains(out, `no telegram account "tg-main"`) {
		t.Fatalf("send for an account this gateway does not run: %s", out)
	}
}
