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
	"hotline/router"
)

// TestServeRoutesAndAgentsAnswerFromCLI runs the whole gateway: an inbound
// message on HOTLINE_IN is answered on HOTLINE_OUT, an urgent one becomes
// a handoff that `hotline handoff` lists and answers.
func TestServeRoutesAndAgentsAnswerFromCLI(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, t.TempDir())
	public, admin, _ := startServe(t, cfg)

	nc, err := nats.Connect("nats://" + cfg.NATS.Listen)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	out := make(chan envelope.Reply, 16)
	if _, err := nc.Subscribe("hotline.out.>", func(m *nats.Msg) {
		var r envelope.Reply
		if envelope.Decode(m.Data, &r) == nil {
			out <- r
		}
	}); err != nil {
		t.Fatal(err)
	}
	publish := func(text string) envelope.Message {
		t.Helper()
		now := time.Now().UTC()
		m := envelope.Message{ID: envelope.NewID(now), Platform: "webchat", Account: "demo", PlatformMsgID: envelope.NewID(now),
			Conversation: "webchat:demo:visitor-1", From: envelope.Party{ID: "visitor-1"}, Kind: envelope.KindText, Text: text, ReceivedAt: now}
		data, _ := json.Marshal(m)
		msg := &nats.Msg{Subject: "hotline.in.webchat.demo", Data: data, Header: nats.Header{}}
		msg.Header.Set(envelope.HeaderMsgID, m.PlatformMsgID)
		msg.Header.Set(envelope.HeaderConversation, m.Conversation)
		if _, err := nc.RequestMsg(msg, 5*time.Second); err != nil {
			t.Fatalf("publish: %v", err)
		}
		return m
	}
	next := func(what string) envelope.Reply {
		t.Helper()
		select {
		case r := <-out:
			return r
		case <-time.After(10 * time.Second):
			t.Fatalf("no reply for %s", what)
		}
		return envelope.Reply{}
	}

	m := publish("help+ar")
	if r := next("help+ar"); r.InReplyTo != m.ID || r.Lang != "ar" || r.Dir != "rtl" {
		t.Fatalf("reply to help+ar: %+v", r)
	}
	publish("someone hacked my account!")
	ack := next("the urgent message")
	if !strings.Contains(ack.Text, "30") {
		t.Fatalf("urgent ack %q does not promise the p1 SLA", ack.Text)
	}

	cli := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args = append(args, "--admin-url", "http://"+admin, "--token", testAdminToken)
		if args[0] == "handoff" {
			args = append(args, "--agent", "mei")
		}
		if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("hotline %v: exit %d: %s", args, code, stderr.String())
		}
		return stdout.String()
	}
	var health bytes.Buffer
	if code := run(context.Background(), []string{"health", "--url", "http://" + public + "/readyz"}, &health, &health); code != 0 || health.String() != "ok\n" {
		t.Fatalf("hotline health on /readyz: exit %d, %q", code, health.String())
	}
	list := cli("handoff", "ls")
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "p1") {
		t.Fatalf("handoff ls:\n%s\nwant one p1 handoff", list)
	}
	id := strings.Fields(lines[1])[0] // the ticket: what the user was told
	if next := cli("handoff", "next"); !strings.HasPrefix(next, "claimed ticket "+id+": p1") {
		t.Fatalf("handoff next: %q, want the p1 ticket %s claimed", next, id)
	}
	if show := cli("handoff", "show", strings.ToLower(id)); !strings.Contains(show, "hacked") || !strings.Contains(show, "due in ") {
		t.Fatalf("handoff show %s lacks the user's message or the SLA countdown:\n%s", strings.ToLower(id), show)
	}
	var listed []router.HandoffState
	if err := json.Unmarshal([]byte(cli("handoff", "ls", "--state", "claimed", "-o", "json")), &listed); err != nil || len(listed) != 1 || router.Ticket(listed[0].ID) != id {
		t.Fatalf("handoff ls -o json: %v, %+v; want the one handoff, ticket %s", err, listed, id)
	}
	var modes []modeView
	if err := json.Unmarshal([]byte(cli("mode", "ls", "-o", "json")), &modes); err != nil || modes == nil {
		t.Fatalf("mode ls -o json with no mode on: %v, %v; want []", err, modes)
	}
	cli("handoff", "reply", id, "We", "secured", "your", "account.")
	if r := next("the agent's reply"); r.Text != "We secured your account." || r.Source != envelope.SourceAgent || r.Agent != "mei" {
		t.Fatalf("agent reply: %+v", r)
	}
	var canned []router.CannedReply
	if err := json.Unmarshal([]byte(cli("handoff", "canned", id, "-o", "json")), &canned); err != nil || len(canned) == 0 {
		t.Fatalf("handoff canned -o json: %v, %+v", err, canned)
	}
	cli("handoff", "reply", id, "--canned", "closing")
	if r := next("the canned reply"); !strings.Contains(r.Text, id) || r.Agent != "mei" {
		t.Fatalf("canned reply: %+v, want the closing text with ticket %s", r, id)
	}
	cli("handoff", "close", id)
	if list := cli("handoff", "ls"); strings.Contains(list, id) {
		t.Fatalf("closed handoff still listed as open:\n%s", list)
	}

	sim := cli("simulate", "--user", "sim-1", "help+ar")
	if !strings.Contains(sim, "أمان الحساب") || !strings.Contains(sim, "webchat/demo sim-1 [bot ar]") {
		t.Fatalf("hotline simulate help+ar:\n%s", sim)
	}
	sim = cli("simulate", "--user", "sim-1", "menu")
	if !strings.Contains(sim, "  [1] ") {
		t.Fatalf("simulate menu shows no buttons:\n%s", sim)
	}

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"handoff", "ls", "--admin-url", "http://" + admin, "--token", "wrong-token-0123456789"}, &stdout, &stderr)
	if code != exitFailure || !strings.Contains(stderr.String(), "401") {
		t.Fatalf("wrong token: exit %d, stderr %q; want 1 and a 401", code, stderr.String())
	}
}
