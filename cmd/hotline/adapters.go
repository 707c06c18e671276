package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"hotline/adapters/sms/twilio"
	"hotline/adapters/telegram"
	"hotline/adapters/webchat"
	"hotline/adapters/wechat"
	"hotline/adapters/weibo"
	"hotline/bus"
	"hotline/config"
	"hotline/envelope"
	"hotline/fallback"
	"hotline/outbound"
	"hotline/router"
)

// adapterSet is what the configured accounts bring: a sender per account,
// background loops (polling, webhook registration), and readiness checks.
type adapterSet struct {
	senders map[accountKey]outbound.Sender
	runs    []func(context.Context) error
	ready   map[string]func() error
}

// accounts lists the accounts of platform this gateway runs, sorted.
func (s adapterSet) accounts(platform string) []string {
	var out []string
	for key := range s.senders {
		if key.platform == platform {
			out = append(out, key.account)
		}
	}
	slices.Sort(out)
	return out
}

// mountAdapters builds the adapter of every configured account, mounts
// its webhooks on the public mux and collects its sender and loops.
func mountAdapters(cfg config.Config, public *http.ServeMux, b *bus.Bus, reg prometheus.Registerer, log *slog.Logger) (adapterSet, error) {
	set := adapterSet{senders: map[accountKey]outbound.Sender{}, ready: map[string]func() error{}}
	senders := set.senders
	for _, a := range cfg.Accounts.SMS {
		switch a.Provider {
		case "twilio":
			ad, err := twilio.New(twilio.Config{
				Account: a.Name, AccountSID: a.AccountSID, AuthToken: a.AuthToken, From: a.From, WhatsAppFrom: a.WhatsAppFrom, APIBase: a.APIBase,
				PublicURL: cfg.HTTP.PublicURL, DefaultRegion: a.DefaultRegion, ReplyWindow: a.ReplyWindow,
			}, twilio.Deps{Bus: b, Logger: log})
			if err != nil {
				return set, fmt.Errorf("accounts.sms %s: %w", a.Name, err)
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
	for _, a := range cfg.Accounts.Telegram {
		ad, err := telegram.New(telegram.Config{
			Account: a.Name, Token: a.Token, Mode: a.Mode, WebhookSecret: a.WebhookSecret, APIBase: a.APIBase,
			PublicURL: cfg.HTTP.PublicURL, ReplyWindow: a.ReplyWindow,
		}, telegram.Deps{Bus: b, Logger: log, Registry: reg})
		if err != nil {
			return set, fmt.Errorf("accounts.telegram %s: %w", a.Name, err)
		}
		for pattern, h := range ad.Routes() {
			public.Handle(pattern, h)
		}
		senders[accountKey{envelope.PlatformTelegram, a.Name}] = ad
		set.runs = append(set.runs, ad.Run)
		set.ready["telegram/"+a.Name] = ad.Ready
		log.Info("telegram bot ready to start", "account", a.Name, "mode", a.Mode)
	}
	for _, a := range cfg.Accounts.Weibo {
		ad, err := weibo.New(weibo.Config{
			Account: a.Name, AppKey: a.AppKey, AppSecret: a.AppSecret, AccessToken: a.AccessToken, APIBase: a.APIBase,
			ReplyWindow: a.ReplyWindow, ReplayWindow: a.ReplayWindow,
		}, weibo.Deps{Bus: b, Logger: log, Registry: reg})
		if err != nil {
			return set, fmt.Errorf("accounts.weibo %s: %w", a.Name, err)
		}
		for pattern, h := range ad.Routes() {
			public.Handle(pattern, h)
		}
		senders[accountKey{envelope.PlatformWeibo, a.Name}] = ad
		log.Info("weibo account ready", "account", a.Name, "webhook", "/webhooks/weibo/"+a.Name)
	}
	for _, a := range cfg.Accounts.WeChat {
		ad, err := wechat.New(wechat.Config{
			Account: a.Name, AppID: a.AppID, AppSecret: a.AppSecret, Token: a.Token, EncodingAESKey: a.EncodingAESKey,
			PreviousEncodingAESKey: a.PreviousEncodingAESKey,
			APIBase:                a.APIBase, ReplyWindow: a.ReplyWindow, ReplayWindow: a.ReplayWindow,
		}, wechat.Deps{Bus: b, Logger: log, Registry: reg})
		if err != nil {
			return set, fmt.Errorf("accounts.wechat %s: %w", a.Name, err)
		}
		for pattern, h := range ad.Routes() {
			public.Handle(pattern, h)
		}
		senders[accountKey{envelope.PlatformWeChat, a.Name}] = ad
		log.Info("wechat account ready", "account", a.Name, "webhook", "/webhooks/wechat/"+a.Name,
			"safe_mode", !a.EncodingAESKey.IsZero())
	}
	return set, nil
}

// mountWebChat adds the web chat channel: its page and socket on the
// public mux, its sender and its notification loop.
func mountWebChat(ctx context.Context, cfg config.Config, public *http.ServeMux, b *bus.Bus, ann webchat.Announcer,
	labels map[string]map[string]string, log *slog.Logger, set *adapterSet) error {
	if !cfg.WebChat.Enabled {
		return nil
	}
	key, err := webchat.CookieKey(ctx, b, cfg.WebChat.Account)
	if err != nil {
		return fmt.Errorf("webchat: %w", err)
	}
	ad, err := webchat.New(webchat.Config{
		Account: cfg.WebChat.Account, CookieKey: key, SecureCookie: strings.HasPrefix(cfg.HTTP.PublicURL, "https://"),
		MaxTextRunes: cfg.WebChat.MaxText, RatePerMinute: cfg.WebChat.RatePerMinute, Burst: cfg.WebChat.Burst,
		MaxSockets: cfg.WebChat.MaxSockets, ClientIPHeader: cfg.WebChat.ClientIPHeader,
		SocketsPerAddress: cfg.WebChat.SocketsPerAddress, NewSocketsPerMinute: cfg.WebChat.NewSocketsPerMinute,
		// Room for the longest text in a four-byte script, escaped.
		MaxFrameBytes: max(webchat.DefaultMaxFrameBytes, int64(cfg.WebChat.MaxText)*6+1024),
		Labels:        labels,
	}, webchat.Deps{Bus: b, Announcer: ann, Logger: log})
	if err != nil {
		return fmt.Errorf("webchat: %w", err)
	}
	for pattern, h := range ad.Routes() {
		public.Handle(pattern, h)
	}
	set.senders[accountKey{envelope.PlatformWebChat, cfg.WebChat.Account}] = ad
	set.runs = append(set.runs, ad.Run)
	set.ready["webchat/"+cfg.WebChat.Account] = ad.Ready
	return nil
}

// webchatLabels are the chat page's own words in every language of the
// catalog (its webchat_* texts, English where a language lacks one) and
// each language's direction: the adapter may not import the router.
func webchatLabels(c *router.Catalog) map[string]map[string]string {
	var keys []string
	for k := range c.Lang("en").Texts {
		if strings.HasPrefix(k, "webchat_") {
			keys = append(keys, k)
		}
	}
	out := map[string]map[string]string{}
	for _, code := range c.Codes() {
		l := map[string]string{}
		for _, k := range keys {
			l[k] = c.Text(code, k)
		}
		if c.Lang(code).Dir == "rtl" {
			l[webchat.LabelDir] = "rtl"
		}
		out[code] = l
	}
	return out
}

// announcer picks the web chat banner from the modes in force for the
// account: the announcement of each mode that has one, most severe first,
// in the visitor's language when there is a text for it.
type announcer struct {
	modes       *fallback.Store
	defaultLang string
}

// Announcement returns the banner text for account in lang and its
// direction (that of the first, most severe, text). Each mode's text is
// in the exact language, its base, English, the default language, or
// else the first text there is; several are a paragraph each.
func (a announcer) Announcement(account, lang string) (text, dir string) {
	var texts []string
	for _, n := range fallback.Notices(a.modes.Active(envelope.PlatformWebChat, account)) {
		if len(n.Announce) == 0 {
			continue
		}
		t, code := a.pick(n.Announce, lang)
		if len(texts) == 0 {
			dir = textDir(code)
		}
		texts = append(texts, t)
	}
	return strings.Join(texts, "\n\n"), dir
}

// pick returns the text of announce for lang and the language it is in.
func (a announcer) pick(announce map[string]string, lang string) (text, code string) {
	base, _, _ := strings.Cut(lang, "-")
	for _, code := range []string{lang, base, "en", a.defaultLang} {
		if t := announce[code]; t != "" {
			return t, code
		}
	}
	codes := slices.Sorted(maps.Keys(announce))
	return announce[codes[0]], codes[0]
}

// textDir is "rtl" for the right-to-left scripts announcements come in.
func textDir(lang string) string {
	base, _, _ := strings.Cut(strings.ToLower(lang), "-")
	switch base {
	case "ar", "he", "fa", "ur":
		return "rtl"
	}
	return ""
}
