package telegram

import (
	"context"
	"fmt"

	"hotline/platform"
)

// Platform describes Telegram to the gateway: accounts.telegram entries
// are Config, each opened as an Adapter.
func Platform() platform.Platform {
	return platform.Platform{
		Name:    "telegram",
		Label:   "Telegram",
		Section: "accounts.telegram",
		// https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this:
		// about 30 messages a second in all, one a second to one chat.
		Limits:    platform.Limits{PerSecond: 30, Burst: 30, PerRecipient: 1, RecipientBurst: 3},
		NewConfig: func() platform.Config { return &Config{Mode: ModeWebhook, ReplyWindow: DefaultReplyWindow} },
		Open: func(_ context.Context, env platform.Env, c platform.Config) (platform.Sender, error) {
			cfg, ok := c.(*Config)
			if !ok {
				return nil, fmt.Errorf("telegram: settings are %T, not *telegram.Config", c)
			}
			cfg.PublicURL = env.PublicURL
			return New(*cfg, Deps{Bus: env.Bus, Logger: env.Logger, Registry: env.Registry})
		},
	}
}

// AccountName is the bot's account name in hotline.
func (c *Config) AccountName() string { return c.Account }

// AccountSendRate is the configured send_rate (0: the platform's limit).
func (c *Config) AccountSendRate() float64 { return c.SendRate }

var (
	_ platform.Sender   = (*Adapter)(nil)
	_ platform.Webhooks = (*Adapter)(nil)
	_ platform.Runner   = (*Adapter)(nil)
	_ platform.Readier  = (*Adapter)(nil)
)
