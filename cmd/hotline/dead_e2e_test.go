package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
	"hotline/fallback"
	"hotline/gateway"
)

// refusingBotAPI is a fake Bot API that answers sendMessage as Telegram
// does for a chat the bot cannot reach (400 "chat not found") while
// refuse is set, and counts what it accepted.
func refusingBotAPI(t *testing.T, refuse *atomic.Bool, sent *atomic.Int32) string {
	t.Helper()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/getMe"):
			fmt.Fprint(w, `{"ok":true,"result":{"id":7000000001,"is_bot":true,"first_name":"Hotline","username":"hotline_bot"}}`)
		case strings.HasSuffix(r.URL.Path, "/sendMessage") && refuse.Load():
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`)
		case strings.HasSuffix(r.URL.Path, "/sendMessage"):
			sent.Add(1)
			fmt.Fprint(w, `{"ok":true,"result":{"message_id":1,"date":1764072000,"chat":{"id":42,"type":"private"}}}`)
		default:
			fmt.Fprint(w, `{"ok":true,"result":true}`)
		}
	}))
	t.Cleanup(api.Close)
	return api.URL
}

// An operator's message the platform refuses is failed and dead: the
// delivery timeline says why, `dead ls` lists it, `dead retry` sends it
// once the platform takes it again, exactly once however often it is
// retried, and the audit trail says who did.
func TestDeadLetterRetriedFromTheCLI(t *testing.T) {
	t.Parallel()
	var refuse atomic.Bool
	var sent atomic.Int32
	refuse.Store(true)
	cfg := telegramConfig(t, refusingBotAPI(t, &refuse, &sent), "7000000001:AAE-token-for-serve-test", "serve-test-secret")
	_, admin, _ := startServe(t, cfg)
	cli := adminCLI(t, admin)
	jsonOf := func(v any, args ...string) {
		t.Helper()
		out := cli(0, append(args, "-o", "json")...)
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("hotline %s -o json: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	var report gateway.StatusReport
	if jsonOf(&report, "status"); !report.Ready {
		t.Fatalf("status -o json: %+v, want ready", report)
	}
	cli(0, "send", "--platform", "telegram", "--account", "tg-main", "--user", "42", "--by", "ops", "Your refund went out today.")
	var dead []bus.DeadRecord
	bustest.Poll(15*time.Second, func() bool { jsonOf(&dead, "dead", "ls"); return len(dead) > 0 })
	if len(dead) != 1 || !strings.Contains(dead[0].Reason, "chat not found") || !strings.HasPrefix(dead[0].Subject, "hotline.out.telegram.tg-main") {
		t.Fatalf("dead ls: %+v, want the refused reply with the platform's reason", dead)
	}
	replyID := dead[0].MessageID()

	var timeline []envelope.Status
	jsonOf(&timeline, "deliveries", "--conversation", "telegram:tg-main:42")
	if len(timeline) < 2 || timeline[0].ReplyID != replyID || timeline[0].State != envelope.StateQueued ||
		timeline[len(timeline)-1].ReplyID != replyID || timeline[len(timeline)-1].State != envelope.StateFailed ||
		!strings.Contains(timeline[len(timeline)-1].Error, "chat not found") {
		t.Fatalf("deliveries of the conversation: %+v, want the reply queued, then failed with the platform's reason", timeline)
	}
	if table := cli(0, "dead", "ls"); !strings.Contains(table, replyID) || !strings.Contains(table, "chat_not_found") {
		t.Fatalf("dead ls:\n%s", table)
	}

	refuse.Store(false)
	seq := fmt.Sprint(dead[0].Seq)
	cli(0, "dead", "retry", seq, "--by", "mei", "--reason", "the user unblocked the bot")
	if out := cli(1, "dead", "retry", seq); !strings.Contains(out, "404") {
		t.Fatalf("a second retry of the same dead letter: %s, want 404", out)
	}
	bustest.WaitFor(t, "the retried reply at the platform", func() bool { return sent.Load() > 0 })
	// The sent status event is published without waiting for its ack
	// (issue #18): it can land a moment after the platform took the reply.
	sentLast := bustest.Poll(15*time.Second, func() bool {
		jsonOf(&timeline, "deliveries", "--reply", replyID)
		return len(timeline) > 0 && timeline[len(timeline)-1].State == envelope.StateSent
	})
	if !sentLast {
		t.Fatalf("the retried reply's timeline: %+v, want it sent last", timeline)
	}
	jsonOf(&dead, "dead", "ls")
	if len(dead) != 0 {
		t.Fatalf("dead ls after the retry: %+v, want none", dead)
	}
	if n := sent.Load(); n != 1 {
		t.Fatalf("the platform got the reply %d times, want once", n)
	}
	var audit []fallback.AuditRecord
	if code, body := get(t, "http://"+admin+"/admin/v1/audit", testAdminToken); code != 200 || json.Unmarshal([]byte(body), &audit) != nil || len(audit) == 0 {
		t.Fatalf("audit: %d %s", code, body)
	}
	last := audit[len(audit)-1]
	if last.Action != fallback.ActionDeadRetry || last.By != "mei" || last.ReplyID != replyID || last.Reason != "the user unblocked the bot" {
		t.Fatalf("audit: %+v, want mei's retry of %s", last, replyID)
	}
}
