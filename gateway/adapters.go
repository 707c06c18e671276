package gateway

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"hotline/config"
	"hotline/fallback"
	"hotline/platform"
	"hotline/router"
)

// page is where an account serves a page people open.
type page struct {
	key  platform.Key
	path string
}

// openedAccount is one configured account and what its platform made of it.
type openedAccount struct {
	key      platform.Key
	platform platform.Platform
	settings platform.Config
}

// adapterSet is what the configured accounts bring: a sender per account,
// background loops (polling, webhook registration), readiness checks and
// routes that take large bodies.
type adapterSet struct {
	order      []openedAccount
	senders    map[platform.Key]platform.Sender
	runs       []func(context.Context) error
	ready      map[string]func() error
	health     map[string]func() map[string]string
	bodyLimits map[string]int64
	// pages are the accounts that serve a page of their own (the web
	// chat), with its address, for the start-up log.
	pages []page
}

// accounts lists the accounts of platform this gateway runs, sorted.
func (s adapterSet) accounts(platformName string) []string {
	var out []string
	for key := range s.senders {
		if key.Platform == platformName {
			out = append(out, key.Account)
		}
	}
	slices.Sort(out)
	return out
}

// simulated is the account a simulated message comes from when the
// request names none: the first that needs no platform credentials (a
// single-section platform, the web chat), else the first configured.
func (s adapterSet) simulated() platform.Key {
	for _, a := range s.order {
		if a.platform.Single {
			return a.key
		}
	}
	if len(s.order) > 0 {
		return s.order[0].key
	}
	return platform.Key{Platform: "simulated", Account: "cli"}
}

// openAdapters opens the adapter of every enabled account through its
// platform, mounts its webhooks on the public mux and collects its
// sender, loop, readiness check and body limits.
func openAdapters(ctx context.Context, cfg config.Config, env platform.Env, modes *fallback.Store, public *http.ServeMux) (adapterSet, error) {
	set := adapterSet{senders: map[platform.Key]platform.Sender{}, ready: map[string]func() error{},
		health:     map[string]func() map[string]string{},
		bodyLimits: map[string]int64{}}
	for _, acct := range cfg.Accounts {
		if !acct.Enabled() {
			continue
		}
		p := acct.Platform
		key := platform.Key{Platform: p.Name, Account: acct.Settings.AccountName()}
		// Adapters name their platform and account on every log line
		// themselves (platform.NewRuntime), so the logger is passed as is.
		aenv := env
		aenv.Announcer = announcer{modes: modes, platform: p.Name, defaultLang: cfg.Router.DefaultLang}
		ad, err := p.Open(ctx, aenv, acct.Settings)
		if err != nil {
			return set, fmt.Errorf("%s (%s): %w", acct.Key, key, err)
		}
		set.order = append(set.order, openedAccount{key: key, platform: p, settings: acct.Settings})
		set.senders[key] = ad
		var routes []string
		if pg, ok := ad.(platform.Page); ok {
			set.pages = append(set.pages, page{key, pg.Page()})
		}
		if w, ok := ad.(platform.Webhooks); ok {
			for pattern, h := range w.Routes() {
				public.Handle(pattern, h)
				routes = append(routes, pattern)
			}
		}
		if bl, ok := ad.(platform.BodyLimits); ok {
			maps.Copy(set.bodyLimits, bl.BodyLimits())
		}
		if r, ok := ad.(platform.Runner); ok {
			set.runs = append(set.runs, r.Run)
		}
		if r, ok := ad.(platform.Readier); ok {
			set.ready[key.String()] = r.Ready
		}
		if h, ok := ad.(platform.Health); ok {
			set.health[key.String()] = h.Health
		}
		slices.Sort(routes)
		env.Logger.Info("account ready", "platform", p.Name, "provider", p.Provider, "account", key.Account, "routes", routes)
	}
	return set, nil
}

// catalogLabels gives adapters their own words in every language of the
// catalog (its <prefix>* texts, English where a language lacks one) and
// each language's direction: an adapter may not import the router.
func catalogLabels(c *router.Catalog) func(prefix string) map[string]map[string]string {
	return func(prefix string) map[string]map[string]string {
		var keys []string
		for k := range c.Lang("en").Texts {
			if strings.HasPrefix(k, prefix) {
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
				l[platform.LabelDir] = "rtl"
			}
			out[code] = l
		}
		return out
	}
}

// announcer picks the banner from the modes in force for an account of
// one platform: the announcement of each mode that has one, most severe
// first, in the visitor's language when there is a text for it.
type announcer struct {
	modes       *fallback.Store
	platform    string
	defaultLang string
}

// Announcement returns the banner text for account in lang and its
// direction (that of the first, most severe, text). Each mode's text is
// in the exact language, its base, English, the default language, or
// else the first text there is; several are a paragraph each.
func (a announcer) Announcement(account, lang string) (text, dir string) {
	var texts []string
	for _, n := range fallback.Notices(a.modes.Active(a.platform, account)) {
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
