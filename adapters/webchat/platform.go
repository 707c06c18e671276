package webchat

import (
	"context"
	"fmt"
	"strings"

	"hotline/platform"
)

// Platform describes the web chat to the gateway: the config's webchat
// section is one Config, opened as an Adapter when enabled.
func Platform() platform.Platform {
	return platform.Platform{
		Name:    "webchat",
		Label:   "Web chat",
		Section: "webchat",
		Single:  true,
		// Our own socket: no platform limit, only fairness between users.
		Limits: platform.Limits{PerSecond: 200, Burst: 200, PerRecipient: 10, RecipientBurst: 10},
		NewConfig: func() platform.Config {
			c := Config{Enabled: true}.withDefaults()
			return &c
		},
		Open: platform.Opener("webchat", func(ctx context.Context, env platform.Env, cfg *Config) (platform.Sender, error) {
			if err := EnsureBuckets(ctx, env.Bus); err != nil {
				return nil, fmt.Errorf("webchat: %w", err)
			}
			key, err := CookieKey(ctx, env.Bus, cfg.Account)
			if err != nil {
				return nil, fmt.Errorf("webchat: %w", err)
			}
			open := *cfg
			open.CookieKey = key
			open.SecureCookie = strings.HasPrefix(env.PublicURL, "https://")
			// Room for the longest text in a four-byte script, escaped.
			open.MaxFrameBytes = max(DefaultMaxFrameBytes, int64(cfg.MaxTextRunes)*6+1024)
			if env.Labels != nil {
				open.Labels = env.Labels("webchat_")
			}
			return New(open, Deps{Bus: env.Bus, Announcer: env.Announcer, Logger: env.Logger})
		}),
	}
}

// AccountName is the web chat's account name.
func (c *Config) AccountName() string { return c.Account }

// IsEnabled reports whether the channel is served.
func (c *Config) IsEnabled() bool { return c.Enabled }

// BodyLimits lets an upload through the listener's body cap: the
// handler enforces MaxUploadBytes itself.
func (a *Adapter) BodyLimits() map[string]int64 {
	return map[string]int64{"POST /chat/upload": MaxUploadBytes + 1}
}

// Page is where the chat page is.
func (a *Adapter) Page() string { return "/chat/" }

var (
	_ platform.Page       = (*Adapter)(nil)
	_ platform.Sender     = (*Adapter)(nil)
	_ platform.Webhooks   = (*Adapter)(nil)
	_ platform.Runner     = (*Adapter)(nil)
	_ platform.Readier    = (*Adapter)(nil)
	_ platform.BodyLimits = (*Adapter)(nil)
	_ platform.Switchable = (*Config)(nil)
)
