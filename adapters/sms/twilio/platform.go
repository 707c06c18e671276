package twilio

import (
	"context"
	"fmt"
	"time"

	"hotline/envelope"
	"hotline/platform"
)

// Provider is the provider key of a Twilio entry in accounts.sms.
const Provider = "twilio"

// Platform describes Twilio to the gateway: accounts.sms entries with
// provider: twilio are Config, each opened as an Adapter on the sms
// platform.
func Platform() platform.Platform {
	return platform.Platform{
		Name:     envelope.PlatformSMS,
		Provider: Provider,
		Label:    "SMS",
		Section:  "accounts.sms",
		// What keeps a number from being flagged as a spammer: Twilio
		// queues a long code at one segment a second (more for short
		// codes and toll-free numbers: raise send_rate).
		Limits:    platform.Limits{PerSecond: 10, Burst: 10, PerRecipient: 1, RecipientBurst: 2},
		NewConfig: func() platform.Config { return &Config{Provider: Provider, ReplyWindow: 4 * time.Second} },
		Open: func(_ context.Context, env platform.Env, c platform.Config) (platform.Sender, error) {
			cfg, ok := c.(*Config)
			if !ok {
				return nil, fmt.Errorf("twilio: settings are %T, not *twilio.Config", c)
			}
			cfg.PublicURL = env.PublicURL
			return New(*cfg, Deps{Bus: env.Bus, Logger: env.Logger, Registry: env.Registry})
		},
	}
}

// AccountName is the account's name in hotline.
func (c *Config) AccountName() string { return c.Account }

// AccountSendRate is the configured send_rate (0: the platform's limit).
func (c *Config) AccountSendRate() float64 { return c.SendRate }

// Region is the account's default_region.
func (c *Config) Region() string { return c.DefaultRegion }

var (
	_ platform.Sender   = (*Adapter)(nil)
	_ platform.Webhooks = (*Adapter)(nil)
	_ platform.Regional = (*Config)(nil)
)
