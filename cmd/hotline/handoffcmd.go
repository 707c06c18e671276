package main

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"hotline/envelope"
	"hotline/media"
	"hotline/router"
)

func (r *rootCommand) handoffCommand() *cobra.Command {
	client := &adminClient{http: &http.Client{Timeout: 10 * time.Second}}
	var agent string // default: operatorName(), resolved when the command runs
	cmd := &cobra.Command{
		Use:   "handoff",
		Short: "Work the agents' queue of a running gateway: ls, show, next, claim, reply, canned, close",
	}
	adminFlags(cmd, client)
	cmd.PersistentFlags().StringVar(&agent, "agent", "", "your agent name (default $USER)")

	var state string
	path := func() string { return "/admin/v1/handoffs?state=" + url.QueryEscape(state) }
	ls := listCommand(client, "ls", "List handoffs, most urgent first", path, func(w *tabwriter.Writer, list []router.HandoffState) {
		if len(list) == 0 {
			fmt.Fprintf(w, "no handoff is %s\n", cmp.Or(state, "on record"))
			return
		}
		fmt.Fprintln(w, "TICKET\tPRIO\tTIER\tSTATE\tAGENT\tSLA\tCONVERSATION\tREASONS")
		now := time.Now()
		for _, h := range list {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Ticket, h.Priority, cmp.Or(h.Tier, "-"), h.State, cmp.Or(h.Agent, "-"),
				slaLeft(h, now), h.Conversation, strings.Join(h.Reasons, "; "))
		}
	})
	ls.Flags().StringVar(&state, "state", "open", "open, claimed, closed, or empty for all")

	showOut := &output{}
	show := &cobra.Command{
		Use:   "show TICKET",
		Short: "Show a handoff with the conversation's last turns",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var h router.HandoffState
			if err := client.do(http.MethodGet, "/admin/v1/handoffs/"+url.PathEscape(args[0]), nil, &h); err != nil {
				return err
			}
			if showOut.json {
				return showOut.print(c.OutOrStdout(), h, nil)
			}
			out := c.OutOrStdout()
			fmt.Fprintf(out, "ticket %s (handoff %s) %s, %s", h.Ticket, h.ID, h.Priority, h.State)
			if h.Tier != "" {
				fmt.Fprintf(out, ", tier %s", h.Tier)
			}
			if h.Agent != "" {
				fmt.Fprintf(out, " by %s", h.Agent)
			}
			fmt.Fprintf(out, "\nuser %s on %s/%s, language %s, SLA %s (%s)\nwhy: %s\n\n", h.User.ID, h.Platform, h.Account,
				h.Lang, h.SLADeadline.Local().Format(time.RFC3339), slaLeft(h, time.Now()), strings.Join(h.Reasons, "; "))
			attachments := 0
			for _, t := range h.History {
				fmt.Fprintf(out, "%s %-5s %s\n", t.At.Format("15:04:05"), t.Role, t.Text)
				for _, m := range t.Media {
					if p := media.Path(h.Platform, h.Account, m); p != "" {
						fmt.Fprintf(out, "%14s %s %s\n", "", attachmentLabel(m), strings.TrimRight(client.base, "/")+p)
						attachments++
					}
				}
			}
			if attachments > 0 {
				// The paths are the admin API's: the same token opens them.
				fmt.Fprintf(out, "\nattachments: curl -H \"Authorization: Bearer $HOTLINE_HTTP_ADMIN_TOKEN\" -o FILE URL\n")
			}
			return nil
		},
	}
	outputFlag(show, showOut)
	action := func(name, short string) *cobra.Command {
		return &cobra.Command{
			Use:   name + " TICKET",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(c *cobra.Command, args []string) error {
				return handoffAction(c, client, args[0], name, map[string]string{"agent": cmp.Or(agent, operatorName())})
			},
		}
	}
	var canned string
	reply := &cobra.Command{
		Use:   "reply TICKET [TEXT...]",
		Short: "Send a reply to the user (claims the handoff if nobody has)",
		Example: `  hotline handoff reply 3JV15H34 "We secured your account."
  hotline handoff reply 3JV15H34 --canned refund_sent   # filled with the user's name and the ticket
  hotline handoff canned 3JV15H34                        # the canned replies for it`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			body := map[string]string{"agent": cmp.Or(agent, operatorName()), "text": strings.Join(args[1:], " "), "canned": canned}
			if (body["text"] == "") == (canned == "") {
				return usageError{fmt.Errorf("give the reply's text or --canned ID, not both")}
			}
			return handoffAction(c, client, args[0], "reply", body)
		},
	}
	reply.Flags().StringVar(&canned, "canned", "", "send this canned reply (hotline handoff canned TICKET lists them)")
	cannedOut := &output{}
	cannedLs := &cobra.Command{
		Use:   "canned TICKET",
		Short: "List the canned replies for a handoff, in its language, filled in",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			q := url.Values{"handoff": {args[0]}, "agent": {cmp.Or(agent, operatorName())}}
			var list []router.CannedReply
			if err := client.do(http.MethodGet, "/admin/v1/canned?"+q.Encode(), nil, &list); err != nil {
				return err
			}
			return cannedOut.print(c.OutOrStdout(), list, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tTITLE\tTEXT")
				for _, rep := range list {
					fmt.Fprintf(w, "%s\t%s\t%s\n", rep.ID, rep.Title, oneLine(rep.Text, 80))
				}
			})
		},
	}
	outputFlag(cannedLs, cannedOut)
	next := &cobra.Command{
		Use:   "next",
		Short: "Claim the most urgent open handoff you should take (by priority, your languages and seniority)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var h router.HandoffState
			if err := client.do(http.MethodPost, "/admin/v1/handoffs/next", map[string]string{"agent": cmp.Or(agent, operatorName())}, &h); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "claimed ticket %s: %s, %s, %s, %s\n", h.Ticket, h.Priority, cmp.Or(h.Lang, "?"),
				slaLeft(h, time.Now()), strings.Join(h.Reasons, "; "))
			return nil
		},
	}
	cmd.AddCommand(ls, show, reply, cannedLs, next,
		action("claim", "Take a handoff"),
		action("close", "Close a handoff"))
	return cmd
}

// handoffAction posts an agent's action on a handoff named by ticket or id.
func handoffAction(c *cobra.Command, client *adminClient, ref, action string, body map[string]string) error {
	if err := client.do(http.MethodPost, "/admin/v1/handoffs/"+url.PathEscape(ref)+"/"+action, body, nil); err != nil {
		return err
	}
	fmt.Fprintf(c.OutOrStdout(), "%s: %s done\n", ref, action)
	return nil
}

// slaLeft is the countdown to a handoff's first-response target, as
// agents read it: "due in 4m10s", or "LATE 2m" once it has passed.
func slaLeft(h router.HandoffState, now time.Time) string {
	switch {
	case h.State == router.StateClosed:
		return "-"
	case now.After(h.SLADeadline):
		return "LATE " + now.Sub(h.SLADeadline).Round(time.Second).String()
	}
	return "due in " + h.SLADeadline.Sub(now).Round(time.Second).String()
}

// attachmentLabel names an attachment for the history: its kind, and
// its file name or type when the platform said.
func attachmentLabel(m envelope.Media) string {
	label := "↳ " + string(m.Kind)
	if m.Kind == "" {
		label = "↳ file"
	}
	if d := cmp.Or(m.FileName, m.MIME); d != "" {
		label += " (" + d + ")"
	}
	return label + ":"
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// operatorName is who the admin commands say acted, for the audit trail:
// $USER, else the login name, else "cli@<host>", so a command run from a
// container or a cron job is still attributed to something.
func operatorName() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	host, _ := os.Hostname()
	return "cli@" + host
}
