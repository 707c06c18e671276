package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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

// adminClient calls a running gateway's admin API.
type adminClient struct {
	base  string
	token string
	http  *http.Client
}

func (c *adminClient) do(method, path string, body any, out any) error {
	if c.token == "" {
		// Read here rather than as a flag default, so --help never
		// prints the token.
		c.token = os.Getenv("HOTLINE_HTTP_ADMIN_TOKEN")
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimRight(c.base, "/")+path, rd)
	if err != nil {
		return fmt.Errorf("admin api: %w", err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("admin api: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode >= 300 {
		msg := strings.TrimSpace(string(data))
		var e struct{ Error string }
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		err := fmt.Errorf("admin api: %s: %s", resp.Status, msg)
		if resp.StatusCode == http.StatusBadRequest {
			// The gateway says the request is wrong: like a bad
			// flag, that is the caller's to fix (exit 2).
			return usageError{err}
		}
		return err
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("admin api: decode: %w", err)
		}
	}
	return nil
}

func (r *rootCommand) handoffCommand() *cobra.Command {
	client := &adminClient{http: &http.Client{Timeout: 10 * time.Second}}
	agent := operatorName()
	cmd := &cobra.Command{
		Use:   "handoff",
		Short: "Work the agents' queue of a running gateway: ls, show, claim, reply, close",
	}
	adminFlags(cmd, client)
	cmd.PersistentFlags().StringVar(&agent, "agent", agent, "your agent name (default $USER)")

	var state string
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List handoffs, most urgent first",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var list []router.HandoffState
			if err := client.do(http.MethodGet, "/admin/v1/handoffs?state="+state, nil, &list); err != nil {
				return err
			}
			w := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tTICKET\tPRIO\tSTATE\tAGENT\tSLA\tCONVERSATION\tREASONS")
			now := time.Now()
			for _, h := range list {
				sla := "due in " + h.SLADeadline.Sub(now).Round(time.Second).String()
				if now.After(h.SLADeadline) {
					sla = "LATE " + now.Sub(h.SLADeadline).Round(time.Second).String()
				}
				if h.State == router.StateClosed {
					sla = "-"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.ID, h.Ticket, h.Priority, h.State, h.Agent, sla,
					h.Conversation, strings.Join(h.Reasons, "; "))
			}
			return w.Flush()
		},
	}
	ls.Flags().StringVar(&state, "state", "open", "open, claimed, closed, or empty for all")

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a handoff with the conversation's last turns",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var h router.HandoffState
			if err := client.do(http.MethodGet, "/admin/v1/handoffs/"+args[0], nil, &h); err != nil {
				return err
			}
			out := c.OutOrStdout()
			fmt.Fprintf(out, "handoff %s (ticket %s) %s, %s", h.ID, h.Ticket, h.Priority, h.State)
			if h.Agent != "" {
				fmt.Fprintf(out, " by %s", h.Agent)
			}
			fmt.Fprintf(out, "\nuser %s on %s/%s, language %s, SLA %s\nwhy: %s\n\n", h.User.ID, h.Platform, h.Account,
				h.Lang, h.SLADeadline.Format(time.RFC3339), strings.Join(h.Reasons, "; "))
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
	action := func(name, short string, withText bool) *cobra.Command {
		use := name + " ID"
		args := cobra.ExactArgs(1)
		if withText {
			use, args = name+" ID TEXT...", cobra.MinimumNArgs(2)
		}
		return &cobra.Command{
			Use:   use,
			Short: short,
			Args:  args,
			RunE: func(c *cobra.Command, args []string) error {
				if agent == "" {
					return usageError{fmt.Errorf("--agent is required ($USER is not set)")}
				}
				body := map[string]string{"agent": agent}
				if withText {
					body["text"] = strings.Join(args[1:], " ")
				}
				if err := client.do(http.MethodPost, "/admin/v1/handoffs/"+args[0]+"/"+name, body, nil); err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "%s: %s done\n", args[0], name)
				return nil
			},
		}
	}
	cmd.AddCommand(ls, show,
		action("claim", "Take a handoff", false),
		action("reply", "Send a reply to the user (claims the handoff if nobody has)", true),
		action("close", "Close a handoff", false))
	return cmd
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
