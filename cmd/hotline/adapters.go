package main

import (
	"fmt"
	"log/slog"
	"net/http"

	"hotline/adapters/sms/twilio"
	"hotline/bus"
	"hotline/config"
	"hotline/envelope"
	"hotline/outbound"
)

// mountAdapters builds the adapter of every configured account, mounts
// its webhooks on the public mux and returns its sender.
func mountAdapters(cfg config.Config, public *http.ServeMux, b *bus.Bus, log *slog.Logger) (map[accountKey]outbound.Sender, error) {
	senders := map[accountKey]outbound.Sender{}
	for _, a := range cfg.Accounts.SMS {
		switch a.Provider {
		case "twilio":
			ad, err := twilio.New(twilio.Config{
				Account: a.Name, AccountSID: a.AccountSID, AuthToken: a.AuthToken, From: a.From, APIBase: a.APIBase,
				PublicURL: cfg.HTTP.PublicURL, DefaultRegion: a.DefaultRegion, ReplyWindow: a.ReplyWindow,
			}, twilio.Deps{Bus: b, Logger: log})
			if err != nil {
				return nil, fmt.Errorf("accounts.sms %s: %w", a.Name, err)
			}
			for pattern, h := range ad.Routes() {
				public.Handle(pattern, h)
			}
			senders[accountKey{envelope.PlatformSMS, a.Name}] = ad
			log.Info("sms account ready", "account", a.Name, "provider", a.Provider, "webhook", "/webhooks/sms/"+a.Name)
		default:
			// Replies for it wait on HOTLINE_OUT until its adapter runs.
			log.Error("sms provider not available in this build; replies for the account are kept until it is",
				"account", a.Name, "provider", a.Provider)
		}
	}
	for _, p := range []struct {
		name  string
		count int
	}{{"wechat", len(cfg.Accounts.WeChat)}, {"weibo", len(cfg.Accounts.Weibo)}, {"telegram", len(cfg.Accounts.Telegram)}} {
		if p.count > 0 {
			log.Error("platform adapter not available in this build; its accounts receive nothing and their replies are kept",
				"platform", p.name, "accounts", p.count)
		}
	}
	return senders, nil
}
