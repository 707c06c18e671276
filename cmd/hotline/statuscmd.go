package main

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"hotline/envelope"
	"hotline/gateway"
)

func (r *rootCommand) statusCommand() *cobra.Command {
	client := &adminClient{http: &http.Client{Timeout: 10 * time.Second}}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show a running gateway's modes, circuits, queues, handoff backlog and review queue",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var rep gateway.StatusReport
			if err := client.do(http.MethodGet, "/admin/v1/status", nil, &rep); err != nil {
				return err
			}
			w := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			ready := "ready"
			if !rep.Ready {
				ready = "NOT READY: " + rep.Error
			}
			fmt.Fprintf(w, "hotline %s, up %s, %s\n\n", rep.Version, rep.Uptime, ready)

			fmt.Fprintln(w, "MODES")
			if len(rep.Modes) == 0 {
				fmt.Fprintln(w, "  none")
			}
			for _, m := range rep.Modes {
				expires := ""
				if !m.ExpiresAt.IsZero() {
					expires = "until " + m.ExpiresAt.Local().Format("15:04")
				}
				fmt.Fprintf(w, "  %s\t%s\tby %s\t%s\t%s\n", m.Mode, m.Scope, m.SetBy, expires, m.Reason)
			}

			fmt.Fprintln(w, "\nADAPTERS")
			if len(rep.Adapters) == 0 {
				fmt.Fprintln(w, "  none configured")
			}
			adapterNames := make([]string, 0, len(rep.Adapters))
			for n := range rep.Adapters {
				adapterNames = append(adapterNames, n)
			}
			sort.Strings(adapterNames)
			for _, n := range adapterNames {
				fmt.Fprintf(w, "  %s\t%s\n", n, rep.Adapters[n])
			}

			fmt.Fprintln(w, "\nCIRCUITS")
			if len(rep.Circuits) == 0 {
				fmt.Fprintln(w, "  no delivery loop is running (no platform account with a sender)")
			}
			names := make([]string, 0, len(rep.Circuits))
			for n := range rep.Circuits {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintf(w, "  %s\t%s\n", n, rep.Circuits[n])
			}

			fmt.Fprintln(w, "\nSTREAMS\tMESSAGES\tBYTES\tBACKLOG")
			for _, s := range rep.Streams {
				fmt.Fprintf(w, "  %s\t%d\t%d\t%s\n", s.Name, s.Messages, s.Bytes, backlogText(s.Backlog))
			}

			fmt.Fprintln(w, "\nHANDOFFS\tOPEN\tCLAIMED\tPAST SLA")
			for _, p := range []envelope.Priority{envelope.P1, envelope.P2, envelope.P3} {
				fmt.Fprintf(w, "  %s\t%d\t%d\t%d\n", p, rep.Handoffs.Open[p], rep.Handoffs.Claimed[p], rep.Handoffs.Breached[p])
			}
			fmt.Fprintf(w, "\nREVIEW QUEUE\t%d waiting\n", rep.Review)
			return w.Flush()
		},
	}
	adminFlags(cmd, client)
	return cmd
}

// backlogText lists each consumer's queue depth, or "-" without consumers.
func backlogText(backlog map[string]uint64) string {
	if len(backlog) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(backlog))
	for _, name := range slices.Sorted(maps.Keys(backlog)) {
		parts = append(parts, fmt.Sprintf("%s=%d", name, backlog[name]))
	}
	return strings.Join(parts, " ")
}
