package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"hotline/adapters/sms/twilio"
	"hotline/adapters/telegram"
	"hotline/adapters/wechat"
	"hotline/adapters/weibo"
	"hotline/platform/builtin"
)

// settings returns the decoded settings of platform/account.
func settings[T any](t *testing.T, cfg Config, platformName, account string) T {
	t.Helper()
	a, ok := cfg.Find(platformName, account)
	if !ok {
		t.Fatalf("no account %s/%s in %v", platformName, account, accountKeys(cfg))
	}
	s, ok := a.Settings.(T)
	if !ok {
		t.Fatalf("%s/%s settings are %T", platformName, account, a.Settings)
	}
	return s
}

func accountKeys(cfg Config) string {
	var keys []string
	for _, a := range cfg.Accounts {
		keys = append(keys, a.Key)
	}
	return strings.Join(keys, " ")
}

// sameConfig compares two configurations: the platforms' descriptors
// hold functions, which reflect.DeepEqual never finds equal, so accounts
// are compared by key, platform and settings.
func sameConfig(t *testing.T, got, want Config) {
	t.Helper()
	if !reflect.DeepEqual(got.Redacted(), want.Redacted()) || accountKeys(got) != accountKeys(want) {
		t.Fatalf("got %+v\nwant %+v", got.Redacted(), want.Redacted())
	}
	for i := range got.Accounts {
		if g, w := got.Accounts[i], want.Accounts[i]; g.Platform.Name != w.Platform.Name || !reflect.DeepEqual(g.Settings, w.Settings) {
			t.Errorf("account %s: got %+v, want %+v", g.Key, g.Settings, w.Settings)
		}
	}
	got.Accounts, want.Accounts = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

// fakeEnv resolves ${VAR} references for a test without touching the
// process environment.
func fakeEnv(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hotline.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaultsWithNoFile(t *testing.T) {
	t.Chdir(t.TempDir())
	got, file, err := Load(Options{Platforms: builtin.Platforms()})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if file != "" {
		t.Errorf("read %q, want no file", file)
	}
	sameConfig(t, got, DefaultFor(builtin.Platforms()))
	if got.HTTP.Listen != ":8080" || got.NATS.StoreDir != "data/nats" || got.Router.DefaultLang != "zh" || !got.Fallback.AutoSMSFallback {
		t.Fatalf("defaults differ from docs/design.md: %+v", got)
	}
}

func TestHotlineYAMLInWorkingDirIsRead(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile(filepath.Join(dir, DefaultFile), []byte("router: {default_lang: ar}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, file, err := Load(Options{Platforms: builtin.Platforms()})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if file != DefaultFile || got.Router.DefaultLang != "ar" {
		t.Fatalf("read %q with default_lang %q, want hotline.yaml with ar", file, got.Router.DefaultLang)
	}
}

func TestExampleFileIsTheDefaults(t *testing.T) {
	t.Parallel()
	got, _, err := Load(Options{Platforms: builtin.Platforms(), File: filepath.Join("..", "hotline.example.yaml")})
	if err != nil {
		t.Fatalf("Load example: %v", err)
	}
	sameConfig(t, got, DefaultFor(builtin.Platforms()))
}

func TestExampleFileDocumentsEveryKey(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "hotline.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for key := range flatten("", DefaultFor(builtin.Platforms()).Redacted()) {
		if strings.HasPrefix(key, "router.menu.") {
			continue // menu codes are values, not keys
		}
		last := key[strings.LastIndex(key, ".")+1:]
		if !bytes.Contains(raw, []byte(last+":")) {
			t.Errorf("hotline.example.yaml does not mention %s", key)
		}
	}
}

func TestYAMLValues(t *testing.T) {
	t.Parallel()
	cfg, _, err := Load(Options{Platforms: builtin.Platforms(), File: "testdata/full.yaml", LookupEnv: fakeEnv(map[string]string{"WECHAT_SECRET": "wx-app-secret-value"})})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	wx := settings[*wechat.Config](t, cfg, "wechat", "oa-main")
	sms := settings[*twilio.Config](t, cfg, "sms", "sms-main")
	checks := []struct {
		name      string
		got, want any
	}{
		{"http.listen", cfg.HTTP.Listen, ":7070"},
		{"nats.replicas", cfg.NATS.Replicas, 3},
		{"nats.streams.status.max_age", cfg.NATS.Streams.Status.MaxAge, 24 * time.Hour},
		{"nats.streams.status.max_bytes", cfg.NATS.Streams.Status.MaxBytes, int64(1 << 20)},
		{"nats.streams.in.max_age (default kept)", cfg.NATS.Streams.In.MaxAge, 7 * 24 * time.Hour},
		{"router.menu.4", cfg.Router.Menu["4"], "shipping"},
		{"router.menu has only the file's codes", len(cfg.Router.Menu), 2},
		{"wechat app_secret from ${WECHAT_SECRET}", wx.AppSecret.Reveal(), "wx-app-secret-value"},
		{"wechat reply_window default", wx.ReplyWindow, wechat.DefaultReplyWindow},
		{"wechat replay_window default", wx.ReplayWindow, wechat.DefaultReplayWindow},
		{"weibo reply_window", settings[*weibo.Config](t, cfg, "weibo", "weibo-main").ReplyWindow, 3 * time.Second},
		{"telegram mode default", settings[*telegram.Config](t, cfg, "telegram", "tg-main").Mode, "webhook"},
		{"telegram reply_window 0 kept", settings[*telegram.Config](t, cfg, "telegram", "tg-poll").ReplyWindow, time.Duration(0)},
		{"sms region", sms.DefaultRegion, "CN"},
		{"sms whatsapp_from", sms.WhatsAppFrom, "whatsapp:+14155550199"},
		{"second sms account", settings[*twilio.Config](t, cfg, "sms", "sms-backup").From, "+14155550101"},
		{"accounts in platform order", accountKeys(cfg), "accounts.wechat[0] accounts.weibo[0] accounts.telegram[0] accounts.telegram[1] accounts.sms[0] accounts.sms[1] webchat"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestEnvOverridesYAML(t *testing.T) {
	path := writeConfig(t, "http: {listen: \":7070\"}\nnats: {replicas: 1}\n")
	t.Setenv("HOTLINE_HTTP_LISTEN", ":9090")
	t.Setenv("HOTLINE_NATS_STORE_DIR", "/var/lib/hotline/nats")
	t.Setenv("HOTLINE_NATS_STREAMS_IN_MAX_AGE", "48h")
	t.Setenv("HOTLINE_HTTP_ADMIN_TOKEN", "env-admin-token-0123456789")
	t.Setenv("HOTLINE_FALLBACK_AUTO_SMS_FALLBACK", "false")
	cfg, _, err := Load(Options{Platforms: builtin.Platforms(), File: path})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cfg.HTTP.Listen != ":9090" {
		t.Errorf("http.listen: got %q, want the env value :9090", cfg.HTTP.Listen)
	}
	if cfg.NATS.StoreDir != "/var/lib/hotline/nats" {
		t.Errorf("nats.store_dir: got %q, want the env value", cfg.NATS.StoreDir)
	}
	if cfg.NATS.Streams.In.MaxAge != 48*time.Hour {
		t.Errorf("nats.streams.in.max_age: got %v, want 48h", cfg.NATS.Streams.In.MaxAge)
	}
	if cfg.HTTP.AdminToken.Reveal() != "env-admin-token-0123456789" {
		t.Errorf("http.admin_token not taken from the environment")
	}
	if cfg.Fallback.AutoSMSFallback {
		t.Errorf("fallback.auto_sms_fallback: got true, want the env value false")
	}
}

func TestValidationErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, want string
	}{
		{"telegram token", `accounts: {telegram: [{name: tg, mode: poll}]}`, "accounts.telegram[0].token: required"},
		{"telegram webhook secret", `accounts: {telegram: [{name: tg, token: "1:x"}]}`, "accounts.telegram[0].webhook_secret: required when mode is webhook"},
		{"telegram mode", `accounts: {telegram: [{name: tg, token: "1:x", mode: push}]}`, `accounts.telegram[0].mode: "push" is not webhook or poll`},
		{"account name unsafe", `accounts: {sms: [{name: "sms.main", provider: twilio, account_sid: AC1, auth_token: t, from: "+14155550100"}]}`, "accounts.sms[0].name: envelope: not a safe subject token"},
		{"account name twice", `accounts: {sms: [{name: m, provider: twilio, account_sid: AC1, auth_token: t, from: "+14155550100"}, {name: m, provider: twilio, account_sid: AC1, auth_token: t, from: "+14155550100"}]}`, `accounts.sms[1].name: "m" is used twice`},
		{"sms provider", `accounts: {sms: [{name: s, provider: nexmo}]}`, `accounts.sms[0].provider: "nexmo" is not a provider in this build (have: twilio, modem)`},
		{"sms provider missing", `accounts: {sms: [{name: s}]}`, `accounts.sms[0].provider: required (one of: twilio, modem)`},
		{"unknown platform", `accounts: {icq: [{name: s}]}`, `accounts.icq: no such platform in this build`},
		{"unknown account key", `accounts: {telegram: [{name: tg, token: "1:x", mode: poll, replay_window: 1m}]}`, `accounts.telegram[0]`},
		{"telegram secret shape", `accounts: {telegram: [{name: tg, token: "1:x", webhook_secret: "a b"}]}`, "accounts.telegram[0].webhook_secret: Telegram allows 1-256 characters"},
		{"sms from", `accounts: {sms: [{name: sms-main, provider: twilio, account_sid: AC1, auth_token: t, from: "5550100"}]}`, `accounts.sms[0].from: "5550100" is not an E.164 number`},
		{"whatsapp from", `accounts: {sms: [{name: sms-main, provider: twilio, account_sid: AC1, auth_token: t, from: "+14155550100", whatsapp_from: "+14155550101"}]}`, `accounts.sms[0].whatsapp_from: "+14155550101" is not whatsapp: and an E.164 number`},
		{"whatsapp from national", `accounts: {sms: [{name: sms-main, provider: twilio, account_sid: AC1, auth_token: t, from: "+14155550100", whatsapp_from: "whatsapp:5550101"}]}`, `accounts.sms[0].whatsapp_from: "whatsapp:5550101" is not whatsapp: and an E.164 number`},
		{"wechat aes key", `accounts: {wechat: [{name: oa, app_id: wx, app_secret: s, token: t, encoding_aes_key: short}]}`, "accounts.wechat[0].encoding_aes_key: must be 43 characters, got 5"},
		{"wechat previous key alone", `accounts: {wechat: [{name: oa, app_id: wx, app_secret: s, token: t, previous_encoding_aes_key: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"}]}`, "accounts.wechat[0].previous_encoding_aes_key: must be 43 characters and come with encoding_aes_key"},
		{"reply window", `accounts: {weibo: [{name: wb, app_secret: s, access_token: t, reply_window: 6s}]}`, "accounts.weibo[0].reply_window: 6s must be under 5s"},
		{"fallback account", `fallback: {sms_account: nope}
accounts: {sms: [{name: m, provider: twilio, account_sid: AC1, auth_token: t, from: "+14155550100"}]}`, `fallback.sms_account: "nope" is not one of accounts.sms`},
		{"admin token off loopback", `http: {admin_listen: "0.0.0.0:8081"}`, "http.admin_token: required when http.admin_listen (0.0.0.0:8081) is not a loopback address"},
		{"listen", `http: {listen: "8080"}`, `http.listen: "8080" is not host:port`},
		{"nats url", `nats: {url: "http://n1:4222"}`, `nats.url: "http://n1:4222" is not a nats://`},
		{"replicas", `nats: {replicas: 7}`, "nats.replicas: 7 is outside 1..5"},
		{"stream age", `nats: {streams: {dead: {max_age: 1m}}}`, "nats.streams.dead.max_age: 1m0s is too short"},
		{"replay window", `accounts: {weibo: [{name: wb, app_secret: s, access_token: t, replay_window: 10m}]}`, "accounts.weibo[0].replay_window: 10m0s is longer than the 5m duplicate window"},
		{"log level", `log: {level: loud}`, `log.level: "loud" is not debug, info, warn or error`},
		{"menu code", `router: {menu: {"10": x}}`, "router.menu.10: menu codes are the digits 1 to 9"},
		{"default lang", `router: {default_lang: "中文"}`, "router.default_lang"},
		{"webchat account", `webchat: {account: "demo site"}`, "webchat.account: envelope: not a safe subject token"},
		{"webchat max text", `webchat: {max_text: 0}`, "webchat.max_text: 0 is outside 1..16384"},
		{"webchat ip header", `webchat: {client_ip_header: "X Forwarded For"}`, `webchat.client_ip_header: "X Forwarded For" is not a header name`},
		{"unknown key", `nats: {urll: "nats://x:4222"}`, "urll"},
		{"wrong type", `nats: {replicas: many}`, "replicas"},
		{"env reference unset", `accounts: {weibo: [{name: wb, app_secret: "${NOPE_SECRET}", access_token: t}]}`, "accounts.weibo[0].app_secret: environment variable NOPE_SECRET is not set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load(Options{Platforms: builtin.Platforms(), File: writeConfig(t, tc.yaml), LookupEnv: fakeEnv(nil)})
			if err == nil {
				t.Fatalf("Load accepted %s", tc.yaml)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error:\n%v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestMissingFileIsAnError(t *testing.T) {
	t.Parallel()
	_, _, err := Load(Options{Platforms: builtin.Platforms(), File: filepath.Join(t.TempDir(), "nope.yaml")})
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("got %v, want an error naming the file", err)
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	secrets := []string{"wx-app-secret-value", "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "weibo-secret-value",
		"weibo-access-value", "ABC-telegram-token", "tg_secret-1", "twilio-auth-value", "admin-token-0123456789abcdef", "pa55"}
	cfg, _, err := Load(Options{Platforms: builtin.Platforms(), File: "testdata/full.yaml", LookupEnv: fakeEnv(map[string]string{"WECHAT_SECRET": "wx-app-secret-value"})})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var out bytes.Buffer
	dump, err := yaml.Marshal(cfg.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	out.Write(dump)
	fmt.Fprintf(&out, "%v %+v", cfg, cfg)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("config", "cfg", cfg)
	slog.New(slog.NewTextHandler(&out, nil)).Info("config", "cfg", cfg, "tg", settings[*telegram.Config](t, cfg, "telegram", "tg-main"))

	// A validation error about a secret names the key, not the value.
	_, _, verr := Load(Options{Platforms: builtin.Platforms(), File: writeConfig(t, `http: {admin_token: "short-secret"}
accounts: {wechat: [{name: oa, app_id: wx, app_secret: s, token: t, encoding_aes_key: "aes-value-too-short"}]}
nats: {url: "http://u:pa55@n1:4222"}`)})
	if verr == nil {
		t.Fatal("bad config accepted")
	}
	out.WriteString(verr.Error())
	secrets = append(secrets, "short-secret", "aes-value-too-short")

	for _, s := range secrets {
		if strings.Contains(out.String(), s) {
			t.Errorf("secret %q printed in:\n%s", s, out.String())
		}
	}
	if !strings.Contains(string(dump), "[redacted]") || !strings.Contains(string(dump), "wx5823bf96d3bd56c7") {
		t.Errorf("dump should redact secrets and keep the rest:\n%s", dump)
	}
}

func TestREADMEConfigReferenceIsTheExample(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join("..", "hotline.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "<!-- config:begin -->\n```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```\n<!-- config:end -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no config reference block between the config:begin/end markers")
	}
	if block != string(example) {
		t.Fatal("README.md's configuration reference differs from hotline.example.yaml; paste the file between the markers")
	}
}
