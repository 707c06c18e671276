package main

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"hotline/gateway"
)

func (r *rootCommand) simulateCommand() *cobra.Command {
	client := &adminClient{http: &http.Client{Timeout: 15 * time.Second}}
	var req gateway.SimulateRequest
	cmd := &cobra.Command{
		Use:   "simulate TEXT...",
		Short: "Send a message to a running gateway as a user would, and print the replies",
		Example: "  hotline simulate help+ar\n" +
			"  hotline simulate --platform <platform> --account <account> --user <user-id> --lang-hint pt-BR ajuda",
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			req.Text = strings.Join(args, " ")
			var resp gateway.SimulateResponse
			if err := client.do(http.MethodPost, "/admin/v1/simulate", req, &resp); err != nil {
				return err
			}
			out := c.OutOrStdout()
			if len(resp.Replies) == 0 {
				fmt.Fprintf(out, "(no reply within 5s; message %s is stored on HOTLINE_IN)\n", resp.MessageID)
				return nil
			}
			for _, rep := range resp.Replies {
				fmt.Fprintf(out, "→ %s/%s %s [%s %s]\n%s\n", rep.Platform, rep.Account, rep.To.ID, rep.Source, rep.Lang, rep.Text)
				for _, btn := range rep.Buttons {
					fmt.Fprintf(out, "  [%s] %s\n", btn.Data, btn.Label)
				}
			}
			return nil
		},
	}
	adminFlags(cmd, client)
	f := cmd.Flags()
	f.StringVar(&req.Platform, "platform", "", "the platform's name, as in its subject: hotline status lists the accounts (default: the gateway picks an account)")
	f.StringVar(&req.Account, "account", "", "account it was sent to (default: the one the gateway picks)")
	f.StringVar(&req.User, "user", "cli", "sender's platform user id")
	f.StringVar(&req.LangHint, "lang-hint", "", "the platform's language hint, e.g. pt-BR")
	return cmd
}
