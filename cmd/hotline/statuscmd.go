package main

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"hotline/bus"
	"hotline/envelope"
	"hotline/gateway"
)

func (r *rootCommand) statusCommand() *cobra.Command {
	client := &adminClient{http: &http.Client{Timeout: 10 * time.Second}}
	out := &output{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show a running gateway's modes, circuits, queues, handoff backlog and review queue",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var rep gateway.StatusReport
			if err := client.do(http.MethodGet, "/admin/v1/status", nil, &rep); err != nil {
				return err
			}
			if out.json {
				return out.print(c.OutOrStdout(), rep, nil)
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
				if h := rep.AdapterHealth[n]; len(h) > 0 {
					fmt.Fprintf(w, "  \t%s\n", healthLine(h))
				}
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

			clusterSection(w, rep.Cluster)

			fmt.Fprintln(w, "\nHANDOFFS\tOPEN\tCLAIMED\tPAST SLA")
			for _, p := range []envelope.Priority{envelope.P1, envelope.P2, envelope.P3} {
				fmt.Fprintf(w, "  %s\t%d\t%d\t%d\n", p, rep.Handoffs.Open[p], rep.Handoffs.Claimed[p], rep.Handoffs.Breached[p])
			}
			fmt.Fprintf(w, "\nREVIEW QUEUE\t%d waiting\n", rep.Review)
			return w.Flush()
		},
	}
	adminFlags(cmd, client)
	outputFlag(cmd, out)
	return cmd
}

// clusterSection prints where NATS runs, which servers are reachable,
// and each stream's and bucket's leader and followers.
func clusterSection(w io.Writer, c *bus.ClusterReport) {
	switch {
	case c == nil:
		fmt.Fprintln(w, "\nCLUSTER\tnot reported (NATS unreachable)")
		return
	case c.Embedded:
		fmt.Fprintf(w, "\nCLUSTER\tembedded, single server %s\n", c.Connected)
		return
	}
	name := c.Cluster
	if name == "" {
		name = "single server"
	}
	fmt.Fprintf(w, "\nCLUSTER\t%s, connected to %s %s\n", name, c.Connected, c.URL)
	fmt.Fprintln(w, "  SERVER\tREACHABLE\tLEADS")
	for _, s := range c.Servers {
		reachable := "NO"
		if s.Reachable {
			reachable = "yes"
		}
		if s.Connected {
			reachable += " (connected)"
		}
		fmt.Fprintf(w, "  %s\t%s\t%d\n", s.Name, reachable, s.Leads)
	}
	fmt.Fprintln(w, "  GROUP\tLEADER\tREPLICAS\tFOLLOWERS")
	for _, g := range c.Groups {
		leader := g.Leader
		if leader == "" {
			leader = "NONE"
		}
		followers := followersText(g.Followers)
		switch {
		case g.Error != "":
			followers = "NO QUORUM: " + g.Error
		case !g.Quorum:
			followers = "NO QUORUM; " + followers
		}
		fmt.Fprintf(w, "  %s %s\t%s\t%d\t%s\n", g.Kind, g.Name, leader, g.Replicas, followers)
	}
}

// followersText says of each follower whether it is current, lagging
// (and by how much) or offline, or "-" without followers.
func followersText(followers []bus.Replica) string {
	if len(followers) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(followers))
	for _, f := range followers {
		state := "current"
		switch {
		case f.Offline:
			state = "offline"
		case !f.Current:
			state = fmt.Sprintf("lagging %d, seen %s ago", f.Lag, f.Active.Round(time.Millisecond))
		}
		parts = append(parts, f.Name+" "+state)
	}
	return strings.Join(parts, ", ")
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

// healthLine prints an adapter's health facts on one line, the usual
// ones first: "signal -71 dBm · registration home · memory 2/30 SM".
func healthLine(h map[string]string) string {
	order := []string{"state", "signal", "registration", "memory", "device", "error"}
	var parts []string
	for _, k := range order {
		if v, ok := h[k]; ok {
			parts = append(parts, k+" "+v)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(h)) {
		if !slices.Contains(order, k) {
			parts = append(parts, k+" "+h[k])
		}
	}
	return strings.Join(parts, " · ")
}
