package main

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"hotline/router"
)

func (r *rootCommand) tierCommand() *cobra.Command {
	client := &adminClient{http: &http.Client{Timeout: 10 * time.Second}}
	var who, reason string
	cmd := &cobra.Command{
		Use:   "tier",
		Short: "Customer tiers (vip, creator): their handoffs are raised a priority level and held to tighter SLAs",
	}
	adminFlags(cmd, client)
	cmd.PersistentFlags().StringVar(&who, "by", "", "operator name for the audit trail (default $USER)")
	cmd.PersistentFlags().StringVar(&reason, "reason", "", "why, for the audit trail")

	ls := listCommand(client, "ls", "List the users that have a tier", fixed("/admin/v1/tiers"), func(w *tabwriter.Writer, list []router.TierSetting) {
		if len(list) == 0 {
			fmt.Fprintln(w, "no user has a tier")
			return
		}
		fmt.Fprintln(w, "CONVERSATION\tTIER\tSET BY\tSINCE\tREASON")
		for _, t := range list {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.Conversation, t.Tier, t.SetBy, t.SetAt.Local().Format("2006-01-02 15:04"), t.Reason)
		}
	})
	set := &cobra.Command{
		Use:     "set CONVERSATION TIER",
		Short:   "Give a user a tier",
		Example: "  hotline tier set telegram:tg-main:42 vip --reason \"top seller\"",
		Args:    cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			body := map[string]string{"tier": args[1], "by": cmp.Or(who, operatorName()), "reason": reason}
			if err := client.do(http.MethodPut, "/admin/v1/tiers/"+url.PathEscape(args[0]), body, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s is %s\n", args[0], args[1])
			return nil
		},
	}
	clr := &cobra.Command{
		Use:   "clear CONVERSATION",
		Short: "Take a user's tier away",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			q := url.Values{"by": {cmp.Or(who, operatorName())}, "reason": {reason}}
			if err := client.do(http.MethodDelete, "/admin/v1/tiers/"+url.PathEscape(args[0])+"?"+q.Encode(), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s has no tier\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(ls, set, clr)
	return cmd
}
