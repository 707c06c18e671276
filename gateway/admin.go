package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"hotline/bus"
	"hotline/envelope"
	"hotline/fallback"
	"hotline/httpjson"
	"hotline/platform"
)

// SendRequest is an operator's message to one user: an outage notice, a
// follow-up after a handoff was closed.
type SendRequest struct {
	Platform string `json:"platform"`
	Account  string `json:"account"`
	User     string `json:"user"`
	Text     string `json:"text"`
	By       string `json:"by"`
	// IdempotencyKey makes a retried request send once; without one,
	// every request is a new message.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

type SendResponse struct {
	ReplyID   string `json:"reply_id"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// sendHandler answers POST /admin/v1/send: the message is queued on
// HOTLINE_OUT like any reply (rate limits, retries, sms_fallback, opt-out
// all apply) and recorded in the audit trail with who sent it. Only
// accounts this gateway delivers for are accepted: a message for any other
// would wait on the stream for a sender that never comes.
func sendHandler(b *bus.Bus, platforms []string, delivers func(platform, account string) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req SendRequest
		if err := httpjson.Decode(w, r, 128<<10, &req); err != nil {
			httpjson.Error(w, http.StatusBadRequest, `body must be JSON: {"platform": "<platform>", "account": "<account>", "user": "<user id>", "text": "...", "by": "<operator>"}`)
			return
		}
		if strings.TrimSpace(req.By) == "" {
			httpjson.Error(w, http.StatusBadRequest, "by: required (who sends it, for the audit trail)")
			return
		}
		now := time.Now().UTC()
		id := envelope.NewID(now)
		if req.IdempotencyKey != "" {
			id = envelope.DeriveID(req.IdempotencyKey, "send."+req.Platform+"."+req.Account+"."+req.User)
		}
		rep := envelope.Reply{
			ID: id, Platform: req.Platform, Account: req.Account,
			Conversation: envelope.ConversationKey(req.Platform, req.Account, req.User),
			To:           envelope.Party{ID: req.User}, Text: req.Text, Source: envelope.SourceOperator,
			Agent: req.By, CreatedAt: now,
		}
		if err := rep.Validate(); err != nil {
			httpjson.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		if strings.TrimSpace(req.Text) == "" {
			httpjson.Error(w, http.StatusBadRequest, "text: required")
			return
		}
		if !slices.Contains(platforms, req.Platform) {
			httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("platform: %q is not one of %s", req.Platform, strings.Join(platforms, ", ")))
			return
		}
		if !delivers(req.Platform, req.Account) {
			httpjson.Error(w, http.StatusNotFound, fmt.Sprintf("account: this gateway has no %s account %q", req.Platform, req.Account))
			return
		}
		ctx := r.Context()
		switch opted, err := b.OptedOut(ctx, rep.Conversation); {
		case err != nil:
			httpjson.Error(w, http.StatusBadGateway, err.Error())
			return
		case opted:
			httpjson.Error(w, http.StatusConflict, "the user opted out; nothing may be sent to them")
			return
		}
		ack, err := b.PublishReply(ctx, &rep)
		if err != nil {
			httpjson.Error(w, http.StatusBadGateway, err.Error())
			return
		}
		rec := fallback.AuditRecord{Action: "send", Scope: req.Platform + "/" + req.Account, By: req.By, At: now, ReplyID: id, Text: req.Text}
		if err := fallback.WriteAudit(ctx, b, rec, "send:"+id); err != nil {
			// Queued but not recorded: say so rather than hide it.
			httpjson.Error(w, http.StatusInternalServerError, fmt.Sprintf("reply %s queued, but %v", id, err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(SendResponse{ReplyID: id, Duplicate: ack.Duplicate})
	})
}

// SimulateRequest is a message as if a user had sent it on a platform.
type SimulateRequest struct {
	Platform string `json:"platform"`
	Account  string `json:"account"`
	User     string `json:"user"`
	Text     string `json:"text"`
	LangHint string `json:"lang_hint,omitempty"`
}

type SimulateResponse struct {
	MessageID string           `json:"message_id"`
	Replies   []envelope.Reply `json:"replies"`
}

// simulateHandler answers POST /admin/v1/simulate: it stores the message on
// HOTLINE_IN exactly as an adapter would, waits for the router's replies
// and returns them. Operators use it to see what users get in the current
// mode; newcomers use it to try hotline with no platform account.
func simulateHandler(b *bus.Bus, from platform.Key) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req SimulateRequest
		if err := httpjson.Decode(w, r, 64<<10, &req); err != nil {
			httpjson.Error(w, http.StatusBadRequest, `body must be JSON: {"text": "help+ar", "platform": "<platform>", "account": "<account>", "user": "cli"} (platform and account may be left out)`)
			return
		}
		req.Platform = cmpOr(req.Platform, from.Platform)
		req.Account = cmpOr(req.Account, from.Account)
		req.User = cmpOr(req.User, "cli")
		now := time.Now().UTC()
		m := envelope.Message{
			ID: envelope.NewID(now), Platform: req.Platform, Account: req.Account, PlatformMsgID: "sim-" + envelope.NewID(now),
			Conversation: envelope.ConversationKey(req.Platform, req.Account, req.User), From: envelope.Party{ID: req.User},
			Kind: envelope.KindText, Text: req.Text, LangHint: req.LangHint, ReceivedAt: now,
			Meta: map[string]string{"simulated": "true"},
		}
		if err := m.Validate(); err != nil {
			httpjson.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		replies, err := publishAndCollect(r.Context(), b, &m)
		if err != nil {
			httpjson.Error(w, http.StatusBadGateway, err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(SimulateResponse{MessageID: m.ID, Replies: replies})
	})
}

// publishAndCollect listens for replies to m before publishing it, then
// waits for the first reply and briefly for any that follow it.
func publishAndCollect(ctx context.Context, b *bus.Bus, m *envelope.Message) ([]envelope.Reply, error) {
	var mu sync.Mutex
	var replies []envelope.Reply
	first := make(chan struct{})
	var once sync.Once
	sub, err := b.Conn().Subscribe("hotline.out.>", func(msg *nats.Msg) {
		var rep envelope.Reply
		if envelope.Decode(msg.Data, &rep) != nil || rep.InReplyTo != m.ID {
			return
		}
		mu.Lock()
		replies = append(replies, rep)
		mu.Unlock()
		once.Do(func() { close(first) })
	})
	if err != nil {
		return nil, fmt.Errorf("simulate: subscribe: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if _, err := b.PublishInbound(ctx, m, nil); err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	select {
	case <-first:
		select {
		case <-time.After(300 * time.Millisecond): // a binding SMS, a second part
		case <-ctx.Done():
		}
	case <-time.After(5 * time.Second):
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	return append([]envelope.Reply(nil), replies...), nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
