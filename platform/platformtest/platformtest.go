// Package platformtest gives tests platforms whose accounts send through
// a fake, so a whole gateway can run without any platform's API.
package platformtest

import (
	"context"
	"fmt"

	"hotline/config"
	"hotline/platform"
)

// Settings are a fake account's: its name only.
type Settings struct {
	Name     string `mapstructure:"name"`
	Provider string `mapstructure:"provider"`
}

// AccountName is the account's name.
func (s *Settings) AccountName() string { return s.Name }

// Validate accepts every name the bus accepts.
func (s *Settings) Validate() error {
	var p platform.Problems
	p.Name(s.Name)
	return p.Err()
}

// Fake is a platform called name (a provider of it when provider is set)
// whose every account sends through sender; label names it in a
// rerouted SMS.
func Fake(name, provider, label string, sender platform.Sender) platform.Platform {
	return platform.Platform{
		Name: name, Provider: provider, Label: label, Section: "accounts." + name,
		NewConfig: func() platform.Config { return &Settings{} },
		Open: func(_ context.Context, _ platform.Env, c platform.Config) (platform.Sender, error) {
			if _, ok := c.(*Settings); !ok {
				return nil, fmt.Errorf("platformtest: settings are %T", c)
			}
			return sender, nil
		},
	}
}

// Account is an account of p named name, as config would decode it.
func Account(p platform.Platform, name string) config.Account {
	return config.AccountOf(p, &Settings{Name: name})
}
