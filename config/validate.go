package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"hotline/envelope"
)

// validate returns one error per bad key, each starting with the key.
func (c *Config) validate() []error {
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

	if !validLangTag(c.Router.DefaultLang) {
		bad("router.default_lang", "%q is not a language code such as zh, en or pt-BR", c.Router.DefaultLang)
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
	if c.WebChat.Enabled {
		if err := envelope.ValidToken(c.WebChat.Account); err != nil {
			bad("webchat.account", "%v", err)
		}
		if c.WebChat.RatePerMinute < 1 {
			bad("webchat.rate_per_minute", "must be at least 1")
		}
		if c.WebChat.Burst < 1 {
			bad("webchat.burst", "must be at least 1")
		}
		if c.WebChat.MaxText < 1 || c.WebChat.MaxText > envelope.MaxTextLen/4 {
			bad("webchat.max_text", "%d is outside 1..%d", c.WebChat.MaxText, envelope.MaxTextLen/4)
		}
		if c.WebChat.MaxSockets < 1 {
			bad("webchat.max_sockets", "must be at least 1")
		}
		if c.WebChat.SocketsPerAddress < 1 {
			bad("webchat.sockets_per_address", "must be at least 1")
		}
		if c.WebChat.NewSocketsPerMinute < 1 {
			bad("webchat.new_sockets_per_minute", "must be at least 1")
		}
		if h := c.WebChat.ClientIPHeader; h != "" && !validHeaderName(h) {
			bad("webchat.client_ip_header", "%q is not a header name", h)
		}
	}
	errs = append(errs, c.Accounts.validate(c.HTTP.PublicURL)...)
	if c.Fallback.SMSAccount != "" && len(c.Accounts.SMS) > 0 && !c.Accounts.hasSMS(c.Fallback.SMSAccount) {
		bad("fallback.sms_account", "%q is not one of accounts.sms", c.Fallback.SMSAccount)
	}
	return errs
}

func (s Streams) byKey() map[string]StreamLimits {
	return map[string]StreamLimits{
		"in": s.In, "out": s.Out, "handoff": s.Handoff, "review": s.Review,
		"status": s.Status, "dead": s.Dead, "audit": s.Audit,
	}
}

// ByKey returns the limits keyed by the stream's config name (in, out, ...).
func (s Streams) ByKey() map[string]StreamLimits { return s.byKey() }

func (a Accounts) hasSMS(name string) bool {
	for _, s := range a.SMS {
		if s.Name == name {
			return true
		}
	}
	return false
}

func (a Accounts) validate(publicURL string) []error {
	var errs []error
	seen := map[string]bool{}
	common := func(platform string, i int, c AccountCommon) string {
		key := fmt.Sprintf("accounts.%s[%d]", platform, i)
		if err := envelope.ValidToken(c.Name); err != nil {
			errs = append(errs, fmt.Errorf("%s.name: %w", key, err))
		} else if seen[platform+"/"+c.Name] {
			errs = append(errs, fmt.Errorf("%s.name: %q is used twice in accounts.%s", key, c.Name, platform))
		}
		seen[platform+"/"+c.Name] = true
		if c.APIBase != "" {
			if u, err := url.Parse(c.APIBase); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				errs = append(errs, fmt.Errorf("%s.api_base: %q is not an absolute http(s) URL", key, c.APIBase))
			}
		}
		if c.ReplyWindow < 0 || c.ReplyWindow >= 5*time.Second {
			errs = append(errs, fmt.Errorf("%s.reply_window: %s must be under 5s (the platform stops waiting at 5s)", key, c.ReplyWindow))
		}
		if c.ReplayWindow < 0 {
			errs = append(errs, fmt.Errorf("%s.replay_window: must not be negative (0 turns the check off)", key))
		}
		if c.ReplayWindow > 5*time.Minute {
			errs = append(errs, fmt.Errorf("%s.replay_window: %s is longer than the 5m duplicate window: a replayed push could be stored twice", key, c.ReplayWindow))
		}
		if c.SendRate < 0 {
			errs = append(errs, fmt.Errorf("%s.send_rate: must not be negative (0 takes the platform's limit)", key))
		}
		return key
	}
	required := func(key, field string, set bool) {
		if !set {
			errs = append(errs, fmt.Errorf("%s.%s: required", key, field))
		}
	}
	for i, w := range a.WeChat {
		key := common("wechat", i, w.AccountCommon)
		required(key, "app_id", w.AppID != "")
		required(key, "app_secret", !w.AppSecret.IsZero())
		required(key, "token", !w.Token.IsZero())
		if k := w.EncodingAESKey.Reveal(); k != "" && len(k) != 43 {
			errs = append(errs, fmt.Errorf("%s.encoding_aes_key: must be 43 characters, got %d", key, len(k)))
		}
		if k := w.PreviousEncodingAESKey.Reveal(); k != "" && (len(k) != 43 || w.EncodingAESKey.IsZero()) {
			errs = append(errs, fmt.Errorf("%s.previous_encoding_aes_key: must be 43 characters and come with encoding_aes_key", key))
		}
	}
	for i, w := range a.Weibo {
		key := common("weibo", i, w.AccountCommon)
		required(key, "app_secret", !w.AppSecret.IsZero())
		required(key, "access_token", !w.AccessToken.IsZero())
	}
	for i, t := range a.Telegram {
		key := common("telegram", i, t.AccountCommon)
		required(key, "token", !t.Token.IsZero())
		switch t.Mode {
		case "webhook":
			if t.WebhookSecret.IsZero() {
				errs = append(errs, fmt.Errorf("%s.webhook_secret: required when mode is webhook", key))
			} else if !validTelegramSecret(t.WebhookSecret.Reveal()) {
				errs = append(errs, fmt.Errorf("%s.webhook_secret: Telegram allows 1-256 characters of A-Z, a-z, 0-9, _ and -", key))
			}
		case "poll":
		default:
			errs = append(errs, fmt.Errorf("%s.mode: %q is not webhook or poll", key, t.Mode))
		}
	}
	for i, s := range a.SMS {
		key := common("sms", i, s.AccountCommon)
		switch s.Provider {
		case "twilio":
			required(key, "account_sid", s.AccountSID != "")
			required(key, "auth_token", !s.AuthToken.IsZero())
			if !isE164(s.From) {
				errs = append(errs, fmt.Errorf("%s.from: %q is not an E.164 number such as +15550100", key, s.From))
			}
			if s.WhatsAppFrom != "" && !isWhatsAppAddress(s.WhatsAppFrom) {
				errs = append(errs, fmt.Errorf("%s.whatsapp_from: %q is not whatsapp: and an E.164 number such as whatsapp:+15550100", key, s.WhatsAppFrom))
			}
		case "modem":
			required(key, "device", s.Device != "")
			if s.WhatsAppFrom != "" {
				errs = append(errs, fmt.Errorf("%s.whatsapp_from: only a twilio account reaches WhatsApp", key))
			}
			if s.Baud <= 0 {
				errs = append(errs, fmt.Errorf("%s.baud: must be positive", key))
			}
		default:
			errs = append(errs, fmt.Errorf("%s.provider: %q is not twilio or modem", key, s.Provider))
		}
		if s.DefaultRegion != "" && (len(s.DefaultRegion) != 2 || strings.ToUpper(s.DefaultRegion) != s.DefaultRegion) {
			errs = append(errs, fmt.Errorf("%s.default_region: %q is not an ISO 3166 code such as CN", key, s.DefaultRegion))
		}
	}
	return errs
}

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

func validTelegramSecret(s string) bool {
	if len(s) < 1 || len(s) > 256 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// isE164 checks the shape only (+ and 8 to 15 digits); the SMS adapter
// checks numbers properly with libphonenumber.
func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// isWhatsAppAddress checks Twilio's WhatsApp sender form: the prefix
// exactly as Twilio writes it, then an E.164 number.
func isWhatsAppAddress(s string) bool {
	rest, ok := strings.CutPrefix(s, "whatsapp:")
	return ok && isE164(rest)
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

// validHeaderName reports whether h is an HTTP header field name (RFC 9110
// token characters).
func validHeaderName(h string) bool {
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", c)) {
			return false
		}
	}
	return h != ""
}
