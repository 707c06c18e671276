package weibo

import (
	"context"

	"hotline/platform"
)

// Platform describes Weibo to the gateway: accounts.weibo entries are
// Config, each opened as an Adapter.
func Platform() platform.Platform {
	return platform.Platform{
		Name:    "weibo",
		Label:   "Weibo",
		Section: "accounts.weibo",
		// Weibo documents no number; this is hotline's cautious default
		// (send_rate raises it).
		Limits: platform.Limits{PerSecond: 10, Burst: 10, PerRecipient: 2, RecipientBurst: 3},
		NewConfig: func() platform.Config {
			return &Config{ReplyWindow: DefaultReplyWindow, ReplayWindow: DefaultReplayWindow}
		},
		Open: platform.Opener("weibo", func(_ context.Context, env platform.Env, cfg *Config) (platform.Sender, error) {
			return New(*cfg, Deps{Bus: env.Bus, Logger: env.Logger, Registry: env.Registry})
		}),
	}
}

// AccountName is the account's name in hotline.
func (c Config) AccountName() string { return c.Account }

// AccountSendRate is the configured send_rate (0: the platform's limit).
func (c Config) AccountSendRate() float64 { return c.SendRate }

var (
	_ platform.Sender   = (*Adapter)(nil)
	_ platform.Webhooks = (*Adapter)(nil)
)
