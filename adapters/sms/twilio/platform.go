package twilio

import (
	"context"
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
		Open: platform.Opener("twilio", func(_ context.Context, env platform.Env, cfg *Config) (platform.Sender, error) {
			open := *cfg // the gateway's settings, not config's
			open.PublicURL = env.PublicURL
			return New(open, Deps{Bus: env.Bus, Logger: env.Logger, Registry: env.Registry})
		}),
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
