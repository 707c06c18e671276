package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// adminClient calls a running gateway's admin API.
type adminClient struct {
	base  string
	token string
	http  *http.Client
}

// adminFlags adds the flags every admin API command shares.
func adminFlags(cmd *cobra.Command, client *adminClient) {
	f := cmd.PersistentFlags()
	f.StringVar(&client.base, "admin-url", envOr("HOTLINE_ADMIN_URL", "http://127.0.0.1:8081"), "admin API of the gateway (env HOTLINE_ADMIN_URL)")
	f.StringVar(&client.token, "token", "", "admin bearer token (env HOTLINE_HTTP_ADMIN_TOKEN)")
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
		return unreachable(c.base, err)
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

// unreachable explains a request that got no answer at all: which URL
// was tried and how to point the command elsewhere. The usual cause is
// a gateway that is not running, or one listening on another address.
func unreachable(base string, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err // its text repeats the method and the whole URL
	}
	return fmt.Errorf("admin api: no answer from %s: %w\n"+
		"  is `hotline serve` running there? Its admin API listens on http.admin_listen (default 127.0.0.1:8081);\n"+
		"  point this command at it with --admin-url or HOTLINE_ADMIN_URL", base, err)
}

// output is the -o flag of the commands that list things: a table for
// people, JSON for scripts.
type output struct{ json bool }

func (o *output) String() string {
	if o.json {
		return "json"
	}
	return "table"
}

func (o *output) Set(s string) error {
	switch s {
	case "json":
		o.json = true
	case "table":
		o.json = false
	default:
		return fmt.Errorf("want table or json")
	}
	return nil
}

func (o *output) Type() string { return "format" }

// outputFlag adds -o to a command that lists things.
func outputFlag(cmd *cobra.Command, o *output) {
	cmd.Flags().VarP(o, "output", "o", "table or json")
}

// print writes v as indented JSON with -o json (an empty list as []),
// else lets table write the human form.
func (o *output) print(w io.Writer, v any, table func(w *tabwriter.Writer)) error {
	if o.json {
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.IsNil() {
			v = []struct{}{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// listCommand is a command that lists what path answers (a JSON array of
// T), as a table or with -o json. path is called when the command runs,
// after its flags are parsed.
func listCommand[T any](client *adminClient, use, short string, path func() string, table func(w *tabwriter.Writer, list []T)) *cobra.Command {
	out := &output{}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var list []T
			if err := client.do(http.MethodGet, path(), nil, &list); err != nil {
				return err
			}
			return out.print(c.OutOrStdout(), list, func(w *tabwriter.Writer) { table(w, list) })
		},
	}
	outputFlag(cmd, out)
	return cmd
}

// fixed is a path that does not depend on flags.
func fixed(path string) func() string { return func() string { return path } }
