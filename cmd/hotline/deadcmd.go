package main

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"hotline/bus"
	"hotline/envelope"
	"hotline/gateway"
)

func (r *rootCommand) deadCommand() *cobra.Command {
	client := &adminClient{http: &http.Client{Timeout: 30 * time.Second}}
	var who string // default: operatorName(), resolved when the command runs
	cmd := &cobra.Command{
		Use:   "dead",
		Short: "Dead letters: messages hotline gave up on (ls, show, retry, drop)",
		Long: `Dead letters are messages a consumer gave up on: a reply the platform refused for
good or after every attempt, a message the router could not handle. retry publishes
the message again, unchanged, to where it was (a reply keeps its id, so it is sent at
most once); drop removes it. Both are written to the audit trail.`,
	}
	adminFlags(cmd, client)
	cmd.PersistentFlags().StringVar(&who, "by", "", "operator name for the audit trail (default $USER)")

	var subject string
	var limit int
	path := func() string {
		q := url.Values{"limit": {strconv.Itoa(limit)}}
		if subject != "" {
			q.Set("subject", subject)
		}
		return "/admin/v1/dead?" + q.Encode()
	}
	ls := listCommand(client, "ls", "List dead letters, newest first", path, func(w *tabwriter.Writer, list []bus.DeadRecord) {
		if len(list) == 0 {
			fmt.Fprintln(w, "no dead letter")
			return
		}
		fmt.Fprintln(w, "SEQ\tAGE\tSUBJECT\tTRIES\tID\tREASON")
		for _, d := range list {
			fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\t%s\n", d.Seq, time.Since(d.At).Round(time.Second), d.Subject, d.Deliveries,
				cmp.Or(d.MessageID(), "-"), oneLine(d.Reason, 70))
		}
	})
	ls.Flags().StringVar(&subject, "subject", "", "only those from subjects starting with this, e.g. hotline.out.telegram")
	ls.Flags().IntVar(&limit, "limit", 100, "at most this many")

	showOut := &output{}
	show := &cobra.Command{
		Use:   "show SEQ",
		Short: "Show one dead letter with its message",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var d bus.DeadRecord
			if err := client.do(http.MethodGet, "/admin/v1/dead/"+url.PathEscape(args[0]), nil, &d); err != nil {
				return err
			}
			if showOut.json {
				return showOut.print(c.OutOrStdout(), d, nil)
			}
			w := c.OutOrStdout()
			fmt.Fprintf(w, "dead letter %d, %s ago (%s)\nfrom %s seq %d on %s, consumer %s, %d deliveries\nreason: %s\n\n%s\n",
				d.Seq, time.Since(d.At).Round(time.Second), d.At.Local().Format(time.RFC3339), d.Stream, d.Sequence, d.Subject,
				d.Consumer, d.Deliveries, d.Reason, d.Data)
			return nil
		},
	}
	outputFlag(show, showOut)

	act := func(action, short, done string) *cobra.Command {
		var reason string
		c := &cobra.Command{
			Use:   action + " SEQ",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(c *cobra.Command, args []string) error {
				body := gateway.DeadActionRequest{By: cmp.Or(who, operatorName()), Reason: reason}
				if err := client.do(http.MethodPost, "/admin/v1/dead/"+url.PathEscape(args[0])+"/"+action, body, nil); err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "dead letter %s %s\n", args[0], done)
				return nil
			},
		}
		c.Flags().StringVar(&reason, "reason", "", "why, for the audit trail")
		return c
	}
	cmd.AddCommand(ls, show,
		act("retry", "Publish the message again where it was; the dead letter goes", "published again"),
		act("drop", "Remove a dead letter for good", "dropped"))
	return cmd
}

func (r *rootCommand) deliveriesCommand() *cobra.Command {
	client := &adminClient{http: &http.Client{Timeout: 30 * time.Second}}
	var conversation, reply, platform, state string
	var limit int
	out := &output{}
	cmd := &cobra.Command{
		Use:   "deliveries",
		Short: "What became of replies: sent, passive, rerouted, failed, dead, with the reason (oldest first)",
		Example: `  hotline deliveries --conversation telegram:tg-main:42
  hotline deliveries --state failed -o json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			for k, v := range map[string]string{"conversation": conversation, "reply": reply, "platform": platform, "state": state} {
				if v != "" {
					q.Set(k, v)
				}
			}
			var list []envelope.Status
			if err := client.do(http.MethodGet, "/admin/v1/deliveries?"+q.Encode(), nil, &list); err != nil {
				return err
			}
			return out.print(c.OutOrStdout(), list, func(w *tabwriter.Writer) {
				if len(list) == 0 {
					fmt.Fprintln(w, "no delivery event matches")
					return
				}
				fmt.Fprintln(w, "AT\tREPLY\tSTATE\tTRY\tVIA\tCONVERSATION\tDETAIL")
				for _, s := range list {
					fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s/%s\t%s\t%s\n", s.At.Local().Format("01-02 15:04:05"), s.ReplyID, s.State, s.Attempt,
						s.Platform, s.Account, s.Conversation, oneLine(cmp.Or(s.Error, s.PlatformMsgID), 60))
				}
			})
		},
	}
	adminFlags(cmd, client)
	f := cmd.Flags()
	f.StringVar(&conversation, "conversation", "", "one conversation's timeline (as in handoff show: platform:account:user)")
	f.StringVar(&reply, "reply", "", "one reply's timeline")
	f.StringVar(&platform, "platform", "", "only this platform")
	f.StringVar(&state, "state", "", "only this state: sent, passive, rerouted, retrying, held, failed, dead, delivered")
	f.IntVar(&limit, "limit", 200, "at most this many events (the newest)")
	outputFlag(cmd, out)
	return cmd
}

// oneLine shortens text to at most n runes on one line.
func oneLine(text string, n int) string {
	text = strings.Join(strings.Fields(text), " ")
	if r := []rune(text); len(r) > n {
		return string(r[:n]) + "…"
	}
	return text
}
