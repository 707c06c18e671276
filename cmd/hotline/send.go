package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"hotline/bus"
	"hotline/envelope"
	"hotline/fallback"
)

// sendRequest is an operator's message to one user: an outage notice, a
// follow-up after a handoff was closed.
type sendRequest struct {
	Platform string `json:"platform"`
	Account  string `json:"account"`
	User     string `json:"user"`
	Text     string `json:"text"`
	By       string `json:"by"`
	// IdempotencyKey makes a retried request send once; without one,
	// every request is a new message.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

type sendResponse struct {
	ReplyID   string `json:"reply_id"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// sendHandler answers POST /admin/v1/send: the message is queued on
// HOTLINE_OUT like any reply (rate limits, retries, sms_fallback, opt-out
// all apply) and recorded in the audit trail with who sent it. Only
// accounts this gateway delivers for are accepted: a message for any other
// would wait on the stream for a sender that never comes.
func sendHandler(b *bus.Bus, delivers func(platform, account string) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req sendRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 128<<10)).Decode(&req); err != nil {
			jsonError(w, http.StatusBadRequest, `body must be JSON: {"platform": "telegram", "account": "tg-main", "user": "42", "text": "...", "by": "alice"}`)
			return
		}
		if strings.TrimSpace(req.By) == "" {
			jsonError(w, http.StatusBadRequest, "by: required (who sends it, for the audit trail)")
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
			jsonError(w, http.StatusBadRequest, err.Error())
			return
		}
		if strings.TrimSpace(req.Text) == "" {
			jsonError(w, http.StatusBadRequest, "text: required")
			return
		}
		if !envelope.KnownPlatform(req.Platform) {
			jsonError(w, http.StatusBadRequest, fmt.Sprintf("platform: %q is not one of %s", req.Platform, strings.Join(envelope.Platforms(), ", ")))
			return
		}
		if !delivers(req.Platform, req.Account) {
			jsonError(w, http.StatusNotFound, fmt.Sprintf("account: this gateway has no %s account %q", req.Platform, req.Account))
			return
		}
		ctx := r.Context()
		switch opted, err := b.OptedOut(ctx, rep.Conversation); {
		case err != nil:
			jsonError(w, http.StatusBadGateway, err.Error())
			return
		case opted:
			jsonError(w, http.StatusConflict, "the user opted out; nothing may be sent to them")
			return
		}
		ack, err := b.PublishReply(ctx, &rep)
		if err != nil {
			jsonError(w, http.StatusBadGateway, err.Error())
			return
		}
		rec := fallback.AuditRecord{Action: "send", Scope: req.Platform + "/" + req.Account, By: req.By, At: now, ReplyID: id, Text: req.Text}
		if err := fallback.WriteAudit(ctx, b, rec, "send:"+id); err != nil {
			// Queued but not recorded: say so rather than hide it.
			jsonError(w, http.StatusInternalServerError, fmt.Sprintf("reply %s queued, but %v", id, err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(sendResponse{ReplyID: id, Duplicate: ack.Duplicate})
	})
}

func (r *rootCommand) sendCommand() *cobra.Command {
	client := &adminClient{http: &http.Client{Timeout: 15 * time.Second}}
	var req sendRequest
	cmd := &cobra.Command{
		Use:   "send --platform P --account A --user U TEXT...",
		Short: "Send a message to one user through a running gateway (audited)",
		Long: "Queues an operator's message for one user like any reply: rate limits, retries, sms_fallback\n" +
			"and opt-outs apply. The audit trail records who sent what.",
		Example: "  hotline send --platform telegram --account tg-main --user 42 \"Your refund went out today.\"",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			req.Text = strings.Join(args, " ")
			if req.By == "" {
				req.By = operatorName()
			}
			var resp sendResponse
			if err := client.do(http.MethodPost, "/admin/v1/send", req, &resp); err != nil {
				return err
			}
			note := "queued"
			if resp.Duplicate {
				note = "already queued (same idempotency key)"
			}
			fmt.Fprintf(c.OutOrStdout(), "%s: reply %s to %s/%s %s\n", note, resp.ReplyID, req.Platform, req.Account, req.User)
			return nil
		},
	}
	adminFlags(cmd, client)
	f := cmd.Flags()
	f.StringVar(&req.Platform, "platform", "", "platform of the user (wechat, weibo, telegram, sms, webchat)")
	f.StringVar(&req.Account, "account", "", "account to send from")
	f.StringVar(&req.User, "user", "", "the user's platform id (a phone number in E.164 for sms)")
	f.StringVar(&req.By, "by", "", "who sends it, for the audit trail (default: $USER)")
	f.StringVar(&req.IdempotencyKey, "idempotency-key", "", "send once however often the command is retried")
	for _, name := range []string{"platform", "account", "user"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}
