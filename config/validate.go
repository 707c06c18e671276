package config

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"hotline/envelope"
)

// validate returns one error per bad key, each starting with the key.
// languages are those router.default_lang may name; nil: any.
func (c *Config) validate(languages []string) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}

	checkAddr := func(key, addr string, required bool) {
		if addr == "" {
			if required {
				bad(key, "required (host:port, e.g. :8080)")
			}
			return
		}
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			bad(key, "%q is not host:port", addr)
		}
	}
	checkAddr("http.listen", c.HTTP.Listen, true)
	checkAddr("http.admin_listen", c.HTTP.AdminListen, true)
	if c.HTTP.AdminListen != "" && c.HTTP.AdminToken.IsZero() && !IsLoopback(c.HTTP.AdminListen) {
		bad("http.admin_token", "required when http.admin_listen (%s) is not a loopback address", c.HTTP.AdminListen)
	}
	if t := c.HTTP.AdminToken.Reveal(); t != "" && len(t) < 16 {
		bad("http.admin_token", "too short (%d characters); use at least 16 random characters", len(t))
	}
	if c.HTTP.PublicURL != "" {
		u, err := url.Parse(c.HTTP.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("http.public_url", "%q is not an absolute http(s) URL", c.HTTP.PublicURL)
		}
	}
	if c.HTTP.MaxBodyBytes < 1024 {
		bad("http.max_body_bytes", "%d is too small; at least 1024", c.HTTP.MaxBodyBytes)
	}
	if c.HTTP.ShutdownTimeout <= 0 {
		bad("http.shutdown_timeout", "must be positive")
	}

	if c.NATS.URL.IsZero() {
		if c.NATS.StoreDir == "" {
			bad("nats.store_dir", "required when nats.url is empty (the embedded server stores there)")
		}
		checkAddr("nats.listen", c.NATS.Listen, false)
	} else {
		for _, raw := range strings.Split(c.NATS.URL.Reveal(), ",") {
			u, err := url.Parse(strings.TrimSpace(raw))
			if err != nil || u.Host == "" || !map[string]bool{"nats": true, "tls": true, "ws": true, "wss": true}[u.Scheme] {
				bad("nats.url", "%q is not a nats://, tls://, ws:// or wss:// URL", redactURL(raw))
			}
		}
	}
	if c.NATS.Replicas < 1 || c.NATS.Replicas > 5 {
		bad("nats.replicas", "%d is outside 1..5", c.NATS.Replicas)
	}
	for i, r := range c.SMS.VerifyRegions {
		if len(r) != 2 || strings.ToUpper(r) != r {
			bad(fmt.Sprintf("sms.verify_regions[%d]", i), "%q is not a country code (ISO 3166, two capital letters: \"CN\")", r)
		}
	}
	if c.SMS.VerifyPerAddressHour < 1 {
		bad("sms.verify_per_address_hour", "must be at least 1")
	}
	if c.SMS.VerifyPerHour < 1 {
		bad("sms.verify_per_hour", "must be at least 1")
	}
	if c.NATS.SessionTTL < 0 {
		bad("nats.session_ttl", "must not be negative")
	}
	if c.NATS.SeenTTL < 10*time.Minute {
		bad("nats.seen_ttl", "%s is too short; at least 10m (the streams' duplicate window is 5m)", c.NATS.SeenTTL)
	}
	for key, lim := range c.NATS.Streams.byKey() {
		if lim.MaxAge < time.Minute*5 {
			bad("nats.streams."+key+".max_age", "%s is too short; at least 5m (the duplicate window)", lim.MaxAge)
		}
		if lim.MaxBytes < 0 {
			bad("nats.streams."+key+".max_bytes", "must not be negative (0 means no limit)")
		}
	}

	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "text", "json":
	default:
		bad("log.format", "%q is not auto, text or json", c.Log.Format)
	}

	if u := c.Router.TierLookup.URL; u != "" {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			bad("router.tier_lookup.url", "%q is not an absolute http(s) URL", u)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Router.Tiers)) {
		t, key := c.Router.Tiers[name], "router.tiers."+name
		if t.Raise < 0 || t.Raise > 2 {
			bad(key+".raise", "%d is outside 0..2 (priority levels up)", t.Raise)
		}
		for p, d := range t.SLA {
			switch {
			case p != "p1" && p != "p2" && p != "p3":
				bad(key+".sla."+p, "%q is not p1, p2 or p3", p)
			case d <= 0:
				bad(key+".sla."+p, "%s is not a positive duration", d)
			}
		}
	}
	seenAgents := map[string]bool{}
	for i, a := range c.Router.Agents {
		key := fmt.Sprintf("router.agents[%d]", i)
		switch {
		case strings.TrimSpace(a.Name) == "":
			bad(key+".name", "required")
		case seenAgents[a.Name]:
			bad(key+".name", "%q is listed twice", a.Name)
		}
		seenAgents[a.Name] = true
		for j, lang := range a.Languages {
			if !validLangTag(lang) {
				bad(fmt.Sprintf("%s.languages[%d]", key, j), "%q is not a language code such as zh, en or pt-BR", lang)
			}
		}
	}
	if !validLangTag(c.Router.DefaultLang) {
		bad("router.default_lang", "%q is not a language code such as zh, en or pt-BR", c.Router.DefaultLang)
	} else if languages != nil && !slices.Contains(languages, c.Router.DefaultLang) {
		bad("router.default_lang", "%q is not a language hotline has texts for (have: %s)", c.Router.DefaultLang, strings.Join(languages, ", "))
	}
	for code, topic := range c.Router.Menu {
		if len(code) != 1 || code[0] < '1' || code[0] > '9' {
			bad("router.menu."+code, "menu codes are the digits 1 to 9")
		}
		if topic == "" {
			bad("router.menu."+code, "needs a topic name")
		}
	}

	if c.Router.HandoffDailyLimit < 0 {
		bad("router.handoff_daily_limit", "must not be negative (0 means no limit)")
	}
	if c.Router.Workers < 1 || c.Router.Workers > 4096 {
		bad("router.workers", "%d is outside 1..4096", c.Router.Workers)
	}
	if u := c.Router.Translator.URL; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			bad("router.translator.url", "%q is not an absolute http(s) URL", u)
		}
	}
	rl := c.Fallback.RateLimit
	if rl.PerSenderEvery <= 0 || rl.PerSenderBurst < 1 || rl.GlobalPerSecond <= 0 || rl.GlobalBurst < 1 || rl.NoticeWindow <= 0 {
		bad("fallback.rate_limit", "every value must be positive (per_sender_every %s, per_sender_burst %d, global_per_second %g, global_burst %d, notice_window %s)",
			rl.PerSenderEvery, rl.PerSenderBurst, rl.GlobalPerSecond, rl.GlobalBurst, rl.NoticeWindow)
	}
	if c.Outbound.MaxAttempts < 1 {
		bad("outbound.max_attempts", "must be at least 1")
	}
	if c.Outbound.MaxAge < time.Minute {
		bad("outbound.max_age", "%s is too short; at least 1m", c.Outbound.MaxAge)
	}
	if c.Outbound.BreakerFailures < 1 {
		bad("outbound.breaker_failures", "must be at least 1")
	}
	if c.Outbound.HoldRecheck < 100*time.Millisecond {
		bad("outbound.hold_recheck", "%s is too short; at least 100ms", c.Outbound.HoldRecheck)
	}
	if c.Outbound.BreakerOpen < time.Second {
		bad("outbound.breaker_open", "%s is too short; at least 1s", c.Outbound.BreakerOpen)
	}
	if c.Outbound.BreakerProbe < 100*time.Millisecond || c.Outbound.BreakerProbe > c.Outbound.BreakerOpen {
		bad("outbound.breaker_probe", "%s must be between 100ms and outbound.breaker_open (%s)", c.Outbound.BreakerProbe, c.Outbound.BreakerOpen)
	}
	if err := c.checkSMSAccount(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// checkSMSAccount checks that fallback.sms_account names an SMS
// account. The default may name none: a gateway without SMS runs with
// it and simply has no SMS fallback. Any other name was chosen, and
// choosing an account that is not there is a mistake.
func (c *Config) checkSMSAccount() error {
	name := c.Fallback.SMSAccount
	if name == "" {
		return nil // no SMS fallback
	}
	var have []string
	for _, a := range c.Accounts {
		if a.Platform.Name == envelope.PlatformSMS {
			if a.Settings.AccountName() == name {
				return nil
			}
			have = append(have, a.Settings.AccountName())
		}
	}
	if len(have) > 0 {
		return fmt.Errorf("fallback.sms_account: %q is not one of accounts.sms (have: %s)", name, strings.Join(have, ", "))
	}
	if name != Default().Fallback.SMSAccount {
		return fmt.Errorf("fallback.sms_account: %q is not one of accounts.sms (none is configured; \"\" turns SMS fallback off)", name)
	}
	return nil
}

func (s Streams) byKey() map[string]StreamLimits {
	return map[string]StreamLimits{
		"in": s.In, "out": s.Out, "handoff": s.Handoff, "review": s.Review,
		"status": s.Status, "dead": s.Dead, "audit": s.Audit,
	}
}

// ByKey returns the limits keyed by the stream's config name (in, out, ...).
func (s Streams) ByKey() map[string]StreamLimits { return s.byKey() }

// IsLoopback reports whether a listen address only accepts local
// connections. An empty host (":8081") listens everywhere.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validLangTag(s string) bool {
	if s == "" || len(s) > 35 {
		return false
	}
	for _, part := range strings.Split(s, "-") {
		if part == "" || len(part) > 8 {
			return false
		}
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

// redactURL hides a password in a NATS URL before it goes into an error.
func redactURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "redacted")
	}
	return u.String()
}
