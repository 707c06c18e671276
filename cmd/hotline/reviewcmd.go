package main

import (
	"cmp"
	"fmt"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"hotline/envelope"
)

func (r *rootCommand) reviewCommand() *cobra.Command {
	client := &adminClient{http: &http.Client{Timeout: 10 * time.Second}}
	var who string // default: operatorName(), resolved when the command runs
	cmd := &cobra.Command{
		Use:   "review",
		Short: "Release, change or drop bot replies held by review_first",
	}
	adminFlags(cmd, client)
	cmd.PersistentFlags().StringVar(&who, "by", "", "operator name for the audit trail (default $USER)")

	ls := listCommand(client, "ls", "List held replies, oldest first", fixed("/admin/v1/review"), func(w *tabwriter.Writer, held []envelope.Reply) {
		if len(held) == 0 {
			fmt.Fprintln(w, "no reply is waiting for review")
			return
		}
		fmt.Fprintln(w, "ID\tAGE\tTO\tTEXT")
		for _, h := range held {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", h.ID, time.Since(h.CreatedAt).Round(time.Second), h.Conversation, oneLine(h.Text, 60))
		}
	})
	decide := func(action, short string, needsText bool) *cobra.Command {
		use, args := action+" ID", cobra.ExactArgs(1)
		if needsText {
			use, args = action+" ID TEXT...", cobra.MinimumNArgs(2)
		}
		var reason string
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  args,
			RunE: func(c *cobra.Command, args []string) error {
				body := map[string]string{"by": cmp.Or(who, operatorName()), "reason": reason}
				if needsText {
					body["text"] = strings.Join(args[1:], " ")
				}
				if err := client.do(http.MethodPost, "/admin/v1/review/"+args[0]+"/"+action, body, nil); err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "%s: %s\n", args[0], map[string]string{"approve": "approved", "edit": "edited and sent", "reject": "rejected"}[action])
				return nil
			},
		}
		if action == "reject" {
			c.Flags().StringVar(&reason, "reason", "", "why the reply is dropped")
		}
		return c
	}
	cmd.AddCommand(ls,
		decide("approve", "Send a held reply as it is", false),
		decide("edit", "Send a held reply with new text", true),
		decide("reject", "Drop a held reply", false))
	return cmd
}
