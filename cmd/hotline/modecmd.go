package main

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// modeView is a mode setting as the admin API returns it.
type modeView struct {
	Mode      string            `json:"mode"`
	Scope     string            `json:"scope"`
	Reason    string            `json:"reason"`
	SetBy     string            `json:"set_by"`
	SetAt     time.Time         `json:"set_at"`
	ExpiresAt time.Time         `json:"expires_at"`
	Announce  map[string]string `json:"announce"`
}

func (r *rootCommand) modeCommand() *cobra.Command {
	client := &adminClient{http: &http.Client{Timeout: 10 * time.Second}}
	cmd := &cobra.Command{
		Use:   "mode",
		Short: "List, set and clear degraded modes (read_only, rate_limited, review_first, sms_fallback, announcement)",
	}
	adminFlags(cmd, client)
	var who string // default: operatorName(), resolved when the command runs

	ls := listCommand(client, "ls", "List the modes in force", fixed("/admin/v1/modes"), func(w *tabwriter.Writer, modes []modeView) {
		if len(modes) == 0 {
			fmt.Fprintln(w, "no degraded mode is on")
			return
		}
		fmt.Fprintln(w, "MODE\tSCOPE\tSET BY\tSINCE\tEXPIRES\tREASON\tANNOUNCE")
		for _, m := range modes {
			expires := "-"
			if !m.ExpiresAt.IsZero() {
				expires = "in " + time.Until(m.ExpiresAt).Round(time.Second).String()
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Mode, m.Scope, m.SetBy, m.SetAt.Local().Format("01-02 15:04"),
				expires, m.Reason, announceList(m.Announce))
		}
	})

	var scope, reason, ttl string
	var announce []string
	set := &cobra.Command{
		Use:   "set MODE",
		Short: "Switch a mode on for a scope",
		Example: `  hotline mode set read_only --scope <platform>/<account> --reason "platform API outage" --ttl 2h
  hotline mode set sms_fallback --scope <platform> --reason "platform rejects our sends"
  hotline mode set announcement --reason "payments delayed" --announce zh="支付延迟" --announce en="Payments are delayed"`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			texts := map[string]string{}
			for _, a := range announce {
				lang, text, ok := strings.Cut(a, "=")
				if !ok || lang == "" || text == "" {
					return usageError{fmt.Errorf("--announce %q: want LANG=TEXT, e.g. en=\"Payments are delayed\"", a)}
				}
				texts[lang] = text
			}
			body := map[string]any{"scope": scope, "reason": reason, "set_by": cmp.Or(who, operatorName()), "ttl": ttl, "announce": texts}
			var m modeView
			if err := client.do(http.MethodPut, "/admin/v1/modes/"+url.PathEscape(args[0]), body, &m); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s on for %s (by %s)\n", m.Mode, m.Scope, m.SetBy)
			return nil
		},
	}
	set.Flags().StringVar(&scope, "scope", "global", "global, a platform (sms) or platform/account (sms/modem-1), named as in hotline status")
	set.Flags().StringVar(&reason, "reason", "", "why, for the audit trail and the other operators (required)")
	set.Flags().StringVar(&ttl, "ttl", "", "switch off by itself after this long, e.g. 2h (default: until cleared)")
	set.Flags().StringArrayVar(&announce, "announce", nil, "announcement text as LANG=TEXT; repeat per language")
	set.Flags().StringVar(&who, "by", "", "who sets it, for the audit trail (default $USER)")

	var clearScope string
	clr := &cobra.Command{
		Use:   "clear MODE",
		Short: "Switch a mode off for a scope",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			q := url.Values{"scope": {clearScope}, "by": {cmp.Or(who, operatorName())}}
			if err := client.do(http.MethodDelete, "/admin/v1/modes/"+url.PathEscape(args[0])+"?"+q.Encode(), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s off for %s\n", args[0], clearScope)
			return nil
		},
	}
	clr.Flags().StringVar(&clearScope, "scope", "global", "scope the mode was set for")
	clr.Flags().StringVar(&who, "by", "", "who clears it, for the audit trail (default $USER)")
	cmd.AddCommand(ls, set, clr)
	return cmd
}

func announceList(m map[string]string) string {
	var langs []string
	for l := range m {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	var parts []string
	for _, l := range langs {
		parts = append(parts, l+"="+m[l])
	}
	return strings.Join(parts, " ")
}
