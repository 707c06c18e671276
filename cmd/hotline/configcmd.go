package main

import (
	"fmt"

	"hotline/config"
	"hotline/platform/builtin"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

func (r *rootCommand) configCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Check the configuration and print it with secrets redacted",
		Long: "Loads defaults, the config file and HOTLINE_* variables exactly as serve does,\n" +
			"reports every invalid key (exit status 2), and prints the result as YAML\n" +
			"with tokens and secrets shown as [redacted].",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, file, err := r.loadConfig()
			if err != nil {
				return err
			}
			for _, warning := range config.UnknownEnv(nil, builtin.Platforms()) {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", warning)
			}
			out, err := yaml.Marshal(cfg.Redacted())
			if err != nil {
				return fmt.Errorf("config: encode: %w", err)
			}
			source := file
			if source == "" {
				source = "no file; defaults and environment"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "# hotline configuration (%s)\n%s", source, out)
			return nil
		},
	}
}
