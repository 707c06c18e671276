package main

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"hotline/router"
)

func (r *rootCommand) faqCommand() *cobra.Command {
	client := &adminClient{http: &http.Client{Timeout: 10 * time.Second}}
	var who, reason string
	cmd := &cobra.Command{
		Use:   "faq",
		Short: "Edit the FAQ at run time: every instance answers with an edit at once (kept in NATS, versioned, audited)",
		Long: `The FAQ is the built-in entries and router.faq_file (the seed), with the entries edited
here laid over it: an edit replaces the seed's entry with its id, --disable hides it,
rm brings the seed's back. Every gateway sharing the NATS answers with an edit within
a moment, without a restart.`,
	}
	adminFlags(cmd, client)
	cmd.PersistentFlags().StringVar(&who, "by", "", "operator name for the audit trail (default $USER)")
	cmd.PersistentFlags().StringVar(&reason, "reason", "", "why, for the audit trail")

	ls := listCommand(client, "ls", "List the FAQ in the order it matches", fixed("/admin/v1/faq"), func(w *tabwriter.Writer, list []router.FAQListing) {
		fmt.Fprintln(w, "ID\tSOURCE\tLANGUAGES\tENGLISH ANSWER")
		for _, e := range list {
			src := e.Source
			if e.Disabled {
				src += " (disabled)"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", e.ID, src, strings.Join(slices.Sorted(maps.Keys(e.Answer)), " "), oneLine(e.Answer["en"], 60))
		}
	})

	var keywords, answers []string
	var disable bool
	set := &cobra.Command{
		Use:   "set ID",
		Short: "Add an entry, or replace the one with its id",
		Example: `  hotline faq set parcel_locker --keyword en="parcel locker" --keyword zh=快递柜 \
      --answer en="Parcel lockers keep your parcel for 48 hours." --answer zh="快递柜保留包裹 48 小时。"
  hotline faq set reset_password --disable --reason "new login flow; answered by agents this week"`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			e := router.FAQEntry{Keywords: map[string][]string{}, Answer: map[string]string{}, Disabled: disable}
			for _, kw := range keywords {
				lang, phrase, ok := strings.Cut(kw, "=")
				if !ok || lang == "" || phrase == "" {
					return usageError{fmt.Errorf("--keyword %q: want LANG=PHRASE", kw)}
				}
				e.Keywords[lang] = append(e.Keywords[lang], phrase)
			}
			for _, a := range answers {
				lang, text, ok := strings.Cut(a, "=")
				if !ok || lang == "" || text == "" {
					return usageError{fmt.Errorf("--answer %q: want LANG=TEXT", a)}
				}
				e.Answer[lang] = text
			}
			body := map[string]any{"keywords": e.Keywords, "answer": e.Answer, "disabled": e.Disabled, "by": cmp.Or(who, operatorName()), "reason": reason}
			var v router.FAQVersion
			if err := client.do(http.MethodPut, "/admin/v1/faq/"+url.PathEscape(args[0]), body, &v); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "faq %s: version %d by %s\n", args[0], v.Revision, v.By)
			return nil
		},
	}
	set.Flags().StringArrayVar(&keywords, "keyword", nil, "LANG=PHRASE that triggers the entry; repeat")
	set.Flags().StringArrayVar(&answers, "answer", nil, "LANG=TEXT of the answer (en is required: the fallback); repeat")
	set.Flags().BoolVar(&disable, "disable", false, "hide the seed's entry with this id")

	rm := &cobra.Command{
		Use:   "rm ID",
		Short: "Remove an edit: the seed's entry with the id, if any, answers again",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			q := url.Values{"by": {cmp.Or(who, operatorName())}, "reason": {reason}}
			if err := client.do(http.MethodDelete, "/admin/v1/faq/"+url.PathEscape(args[0])+"?"+q.Encode(), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "faq %s: edit removed\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(ls, set, rm)
	return cmd
}

func (r *rootCommand) textCommand() *cobra.Command {
	client := &adminClient{http: &http.Client{Timeout: 10 * time.Second}}
	var who, reason, lang string
	cmd := &cobra.Command{
		Use:   "text",
		Short: "Change what hotline says (help, status, acknowledgements) at run time, on every instance; audited",
	}
	adminFlags(cmd, client)
	cmd.PersistentFlags().StringVar(&who, "by", "", "operator name for the audit trail (default $USER)")
	cmd.PersistentFlags().StringVar(&reason, "reason", "", "why, for the audit trail")
	ls := listCommand(client, "ls", "List the texts in a language, as sent now", func() string { return "/admin/v1/texts?lang=" + url.QueryEscape(lang) },
		func(w *tabwriter.Writer, list []router.TextListing) {
			fmt.Fprintln(w, "KEY\tSOURCE\tTEXT")
			for _, t := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\n", t.Key, t.Source, oneLine(t.Text, 70))
			}
		})
	ls.Flags().StringVar(&lang, "lang", "", "language code (default: router.default_lang)")
	set := &cobra.Command{
		Use:     "set LANG KEY TEXT...",
		Short:   "Change one text in one language",
		Example: `  hotline text set en status "Payments are slow today; everything else runs normally." --reason "incident 42"`,
		Args:    cobra.MinimumNArgs(3),
		RunE: func(c *cobra.Command, args []string) error {
			body := map[string]string{"text": strings.Join(args[2:], " "), "by": cmp.Or(who, operatorName()), "reason": reason}
			if err := client.do(http.MethodPut, "/admin/v1/texts/"+url.PathEscape(args[0])+"/"+url.PathEscape(args[1]), body, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "text %s/%s changed\n", args[0], args[1])
			return nil
		},
	}
	rm := &cobra.Command{
		Use:   "rm LANG KEY",
		Short: "Remove a text's edit: the file's text is sent again",
		Args:  cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			q := url.Values{"by": {cmp.Or(who, operatorName())}, "reason": {reason}}
			if err := client.do(http.MethodDelete, "/admin/v1/texts/"+url.PathEscape(args[0])+"/"+url.PathEscape(args[1])+"?"+q.Encode(), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "text %s/%s: edit removed\n", args[0], args[1])
			return nil
		},
	}
	cmd.AddCommand(ls, set, rm)
	return cmd
}
