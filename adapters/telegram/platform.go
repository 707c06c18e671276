package telegram

import (
	"context"

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
		Open: platform.Opener("telegram", func(_ context.Context, env platform.Env, cfg *Config) (platform.Sender, error) {
			open := *cfg // the gateway's settings, not config's
			open.PublicURL = env.PublicURL
			return New(open, Deps{Bus: env.Bus, Logger: env.Logger, Registry: env.Registry})
		}),
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
