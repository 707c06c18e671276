package main

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"hotline/gateway"
)

func (r *rootCommand) sendCommand() *cobra.Command {
	client := &adminClient{http: &http.Client{Timeout: 15 * time.Second}}
	var req gateway.SendRequest
	cmd := &cobra.Command{
		Use:   "send --platform P --account A --user U TEXT...",
		Short: "Send a message to one user through a running gateway (audited)",
		Long: "Queues an operator's message for one user like any reply: rate limits, retries, sms_fallback\n" +
			"and opt-outs apply. The audit trail records who sent what.",
		Example: "  hotline send --platform <platform> --account <account> --user <user-id> \"Your refund went out today.\"\n" +
			"  hotline send --platform sms --account <account> --user +14155552671 \"Your refund went out today.\"",
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			req.Text = strings.Join(args, " ")
			if req.By == "" {
				req.By = operatorName()
			}
			var resp gateway.SendResponse
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
	f.StringVar(&req.Platform, "platform", "", "the platform's name, as in its subject: hotline status lists the accounts")
	f.StringVar(&req.Account, "account", "", "account to send from")
	f.StringVar(&req.User, "user", "", "the user's platform id (a phone number in E.164 for sms)")
	f.StringVar(&req.By, "by", "", "who sends it, for the audit trail (default: $USER)")
	f.StringVar(&req.IdempotencyKey, "idempotency-key", "", "send once however often the command is retried")
	for _, name := range []string{"platform", "account", "user"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}
