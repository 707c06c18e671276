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
)

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
	got, file, err := Load(Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if file != "" {
		t.Errorf("read %q, want no file", file)
	}
	if want := Default(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
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
	got, file, err := Load(Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if file != DefaultFile || got.Router.DefaultLang != "ar" {
		t.Fatalf("read %q with default_lang %q, want hotline.yaml with ar", file, got.Router.DefaultLang)
	}
}

func TestExampleFileIsTheDefaults(t *testing.T) {
	got, _, err := Load(Options{File: filepath.Join("..", "hotline.example.yaml")})
	if err != nil {
		t.Fatalf("Load example: %v", err)
	}
	if want := Default(); !reflect.DeepEqual(got, want) {
		t.Fatalf("hotline.example.yaml drifted from Default():\ngot  %+v\nwant %+v", got, want)
	}
}

func TestExampleFileDocumentsEveryKey(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "hotline.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for key := range flatten("", Default().Redacted()) {
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
	cfg, _, err := Load(Options{File: "testdata/full.yaml", LookupEnv: fakeEnv(map[string]string{"WECHAT_SECRET": "wx-app-secret-value"})})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
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
		{"wechat app_secret from ${WECHAT_SECRET}", cfg.Accounts.WeChat[0].AppSecret.Reveal(), "wx-app-secret-value"},
		{"wechat reply_window default", cfg.Accounts.WeChat[0].ReplyWindow, DefaultReplyWindow},
		{"wechat replay_window default", cfg.Accounts.WeChat[0].ReplayWindow, DefaultReplayWindow},
		{"weibo reply_window", cfg.Accounts.Weibo[0].ReplyWindow, 3 * time.Second},
		{"telegram mode default", cfg.Accounts.Telegram[0].Mode, "webhook"},
		{"telegram replay_window 0 kept", cfg.Accounts.Telegram[1].ReplayWindow, time.Duration(0)},
		{"sms region", cfg.Accounts.SMS[0].DefaultRegion, "CN"},
		{"sms whatsapp_from", cfg.Accounts.SMS[0].WhatsAppFrom, "whatsapp:+15550199"},
		{"modem baud default", cfg.Accounts.SMS[1].Baud, DefaultBaud},
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
	cfg, _, err := Load(Options{File: path})
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
	tests := []struct {
		name, yaml, want string
	}{
		{"telegram token", `accounts: {telegram: [{name: tg, mode: poll}]}`, "accounts.telegram[0].token: required"},
		{"telegram webhook secret", `accounts: {telegram: [{name: tg, token: "1:x"}]}`, "accounts.telegram[0].webhook_secret: required when mode is webhook"},
		{"telegram mode", `accounts: {telegram: [{name: tg, token: "1:x", mode: push}]}`, `accounts.telegram[0].mode: "push" is not webhook or poll`},
		{"account name unsafe", `accounts: {sms: [{name: "sms.main", provider: modem, device: /dev/x}]}`, "accounts.sms[0].name: envelope: not a safe subject token"},
		{"account name twice", `accounts: {sms: [{name: m, provider: modem, device: /dev/x}, {name: m, provider: modem, device: /dev/y}]}`, `accounts.sms[1].name: "m" is used twice`},
		{"sms provider", `accounts: {sms: [{name: s, provider: nexmo}]}`, `accounts.sms[0].provider: "nexmo" is not twilio or modem`},
		{"sms from", `accounts: {sms: [{name: sms-main, provider: twilio, account_sid: AC1, auth_token: t, from: "5550100"}]}`, `accounts.sms[0].from: "5550100" is not an E.164 number`},
		{"whatsapp from", `accounts: {sms: [{name: sms-main, provider: twilio, account_sid: AC1, auth_token: t, from: "+15550100", whatsapp_from: "+15550101"}]}`, `accounts.sms[0].whatsapp_from: "+15550101" is not whatsapp: and an E.164 number`},
		{"whatsapp from national", `accounts: {sms: [{name: sms-main, provider: twilio, account_sid: AC1, auth_token: t, from: "+15550100", whatsapp_from: "whatsapp:5550101"}]}`, `accounts.sms[0].whatsapp_from: "whatsapp:5550101" is not whatsapp: and an E.164 number`},
		{"whatsapp from on a modem", `accounts: {sms: [{name: m, provider: modem, device: /dev/x, whatsapp_from: "whatsapp:+15550101"}]}`, "accounts.sms[0].whatsapp_from: only a twilio account reaches WhatsApp"},
		{"wechat aes key", `accounts: {wechat: [{name: oa, app_id: wx, app_secret: s, token: t, encoding_aes_key: short}]}`, "accounts.wechat[0].encoding_aes_key: must be 43 characters, got 5"},
		{"wechat previous key alone", `accounts: {wechat: [{name: oa, app_id: wx, app_secret: s, token: t, previous_encoding_aes_key: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"}]}`, "accounts.wechat[0].previous_encoding_aes_key: must be 43 characters and come with encoding_aes_key"},
		{"reply window", `accounts: {weibo: [{name: wb, app_secret: s, access_token: t, reply_window: 6s}]}`, "accounts.weibo[0].reply_window: 6s must be under 5s"},
		{"fallback account", `fallback: {sms_account: nope}
accounts: {sms: [{name: m, provider: modem, device: /dev/x}]}`, `fallback.sms_account: "nope" is not one of accounts.sms`},
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
			_, _, err := Load(Options{File: writeConfig(t, tc.yaml), LookupEnv: fakeEnv(nil)})
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
	_, _, err := Load(Options{File: filepath.Join(t.TempDir(), "nope.yaml")})
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("got %v, want an error naming the file", err)
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	secrets := []string{"wx-app-secret-value", "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "weibo-secret-value",
		"weibo-access-value", "ABC-telegram-token", "tg_secret-1", "twilio-auth-value", "admin-token-0123456789abcdef", "pa55"}
	cfg, _, err := Load(Options{File: "testdata/full.yaml", LookupEnv: fakeEnv(map[string]string{"WECHAT_SECRET": "wx-app-secret-value"})})
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
	slog.New(slog.NewTextHandler(&out, nil)).Info("config", "cfg", cfg, "tg", cfg.Accounts.Telegram[0])

	// A validation error about a secret names the key, not the value.
	_, _, verr := Load(Options{File: writeConfig(t, `http: {admin_token: "short-secret"}
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
