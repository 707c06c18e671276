package wechat

import (
	"context"

	"hotline/platform"
)

// Platform describes WeChat to the gateway: accounts.wechat entries are
// Config, each opened as an Adapter.
func Platform() platform.Platform {
	return platform.Platform{
		Name:    "wechat",
		Label:   "WeChat",
		Section: "accounts.wechat",
		// The customer-service API's documented quota is per day; these
		// keep a burst of replies from tripping its frequency control.
		Limits: platform.Limits{PerSecond: 50, Burst: 50, PerRecipient: 5, RecipientBurst: 5},
		NewConfig: func() platform.Config {
			return &Config{ReplyWindow: DefaultReplyWindow, ReplayWindow: DefaultReplayWindow}
		},
		Open: platform.Opener("wechat", func(_ context.Context, env platform.Env, cfg *Config) (platform.Sender, error) {
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
