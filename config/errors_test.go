package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline/platform/builtin"
)

// texts are the languages the tests say hotline has texts for.
func texts() []string { return []string{"ar", "en", "zh"} }

// loadError loads body with opts (File, Platforms and an empty
// environment filled in unless set) and returns the error's text, or ""
// when it loaded.
func loadError(t *testing.T, body string, opts Options) string {
	t.Helper()
	opts.File = writeConfig(t, body)
	if opts.Platforms == nil {
		opts.Platforms = builtin.Platforms()
	}
	if opts.Environ == nil {
		opts.Environ = []string{}
	}
	if _, _, err := Load(opts); err != nil {
		return err.Error()
	}
	return ""
}

// wantLines fails unless every line of want is a line of got.
func wantLines(t *testing.T, got string, want ...string) {
	t.Helper()
	lines := strings.Split(got, "\n")
	for _, w := range want {
		found := false
		for _, l := range lines {
			found = found || strings.HasSuffix(l, w)
		}
		if !found {
			t.Errorf("no line ends with %q in:\n%s", w, got)
		}
	}
}

func TestFiveMistakesInOnePass(t *testing.T) {
	t.Parallel()
	got := loadError(t, `http:
  listen: ":8080"
  shutdown_timeout: 5 minutes
nats:
  replicas: three
  urll: "nats://n1:4222"
router:
  default_lang: klingon
fallback:
  sms_account: sms-cn
accounts:
  sms:
    - name: sms-main
      provider: twilio
      account_sid: AC1
      auth_token: t
      from: "5550100"
      reply_window: soon
`, Options{Languages: texts()})
	if !strings.HasPrefix(got, "config: 7 problems:\n") {
		t.Errorf("want the count of problems first, got:\n%s", got)
	}
	wantLines(t, got,
		`hotline.yaml:3: http.shutdown_timeout: "5 minutes" is not a duration (e.g. 30s, 5m)`,
		`hotline.yaml:5: nats.replicas: "three" is not a whole number`,
		`hotline.yaml:6: nats.urll: unknown key (did you mean url?)`,
		`hotline.yaml:8: router.default_lang: "klingon" is not a language hotline has texts for (have: ar, en, zh)`,
		`hotline.yaml:10: fallback.sms_account: "sms-cn" is not one of accounts.sms (have: sms-main)`,
		`hotline.yaml:17: accounts.sms[0].from: "5550100" is not an E.164 number such as +15550100`,
		`hotline.yaml:18: accounts.sms[0].reply_window: "soon" is not a duration (e.g. 30s, 5m)`,
	)
}

func TestSyntaxErrorNamesItsLine(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, yaml, want string }{
		{"indented too little", "http:\n  listen: \":8080\"\n admin_listen: \"127.0.0.1:8081\"\n", "hotline.yaml:3: did not find expected key"},
		{"indented too much", "http:\n  listen: \":8080\"\n    admin_listen: \"127.0.0.1:8081\"\nnats: {}\n", "hotline.yaml:3: "},
		{"unclosed list", "http:\n  listen: \":8080\"\n  admin_listen: [x\n", "hotline.yaml:3: did not find expected ',' or ']'"},
		{"tab", "http:\n  listen: \":8080\"\n\tadmin_listen: x\n", "hotline.yaml:3: "},
		{"key twice", "http:\n  listen: \":8080\"\n  listen: \":8081\"\n", `hotline.yaml:3: mapping key "listen" already defined at line 2`},
		{"multi-line list before", "sms:\n  verify_regions: [CN,\n    HK]\nhttp:\n  listen: \":8080\"\n admin_listen: x\n", "hotline.yaml:6: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := loadError(t, tc.yaml, Options{})
			if !strings.Contains(got, tc.want) {
				t.Fatalf("got %q, want it to contain %q", got, tc.want)
			}
		})
	}
}

func TestBadValuesAreQuotedWithTheirKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, want string
		not              string // a second report of the same mistake
	}{
		{"duration", "outbound:\n  breaker_open: 5 minutes\n", `hotline.yaml:2: outbound.breaker_open: "5 minutes" is not a duration (e.g. 30s, 5m)`, "outbound.breaker_probe"},
		{"number", "nats: {replicas: three}", `nats.replicas: "three" is not a whole number`, "outside 1..5"},
		{"bool", "fallback: {auto_sms_fallback: maybe}", `fallback.auto_sms_fallback: "maybe" is not true or false`, ""},
		{"float", "fallback: {rate_limit: {global_per_second: fast}}", `fallback.rate_limit.global_per_second: "fast" is not a number`, "every value must be positive"},
		{"list for text", "log: {level: [info]}", "log.level: must be text, not a list", "is not debug"},
		{"text for a section", "http: 8080", `http: "8080" is not a map of settings`, "http.listen"},
		{"menu topic", `router: {menu: {"1": [a]}}`, "router.menu[1]: must be text, not a list", ""},
		{"single section", "webchat: {max_text: lots}", `hotline.yaml:1: webchat.max_text: "lots" is not a whole number`, "outside 1..16384"},
		{"account value", "accounts:\n  sms:\n    - {name: m, provider: twilio, account_sid: AC1, auth_token: t,\n       from: [a]}\n", "hotline.yaml:4: accounts.sms[0].from: must be text, not a list", "from: required"},
		{"account duration", "accounts: {weibo: [{name: wb, app_secret: s, access_token: t, reply_window: soon}]}", `accounts.weibo[0].reply_window: "soon" is not a duration`, ""},
		{"unknown account key", "accounts: {weibo: [{name: wb, app_secret: s, access_token: t, replay_windw: 1m, reply_window: x}]}", "accounts.weibo[0].replay_windw: unknown key (did you mean replay_window?)", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := loadError(t, tc.yaml, Options{})
			if !strings.Contains(got, tc.want) {
				t.Fatalf("got:\n%s\nwant it to contain %q", got, tc.want)
			}
			if tc.not != "" && strings.Contains(got, tc.not) {
				t.Fatalf("got:\n%s\nwant no %q: the value that did not decode is reported once", got, tc.not)
			}
		})
	}
}

func TestDefaultLangNeedsTexts(t *testing.T) {
	t.Parallel()
	textsDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(textsDir, "tlh.yaml"), []byte("lang: tlh\nname: tlhIngan Hol\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, yaml string
		languages  []string
		want       string // "" loads
	}{
		{"known", "router: {default_lang: ar}", texts(), ""},
		{"unknown", "router: {default_lang: klingon}", texts(), `router.default_lang: "klingon" is not a language hotline has texts for (have: ar, en, zh)`},
		{"case matters, as in the router", "router: {default_lang: EN}", texts(), `"EN" is not a language hotline has texts for`},
		{"no languages given: not checked", "router: {default_lang: klingon}", nil, ""},
		{"added by texts_dir", "router: {default_lang: tlh, texts_dir: " + textsDir + "}", texts(), ""},
		{"not a code at all", `router: {default_lang: "中文"}`, texts(), `"中文" is not a language code`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := loadError(t, tc.yaml, Options{Languages: tc.languages})
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("got error %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFallbackSMSAccountMustExist(t *testing.T) {
	t.Parallel()
	const sms = "\naccounts: {sms: [{name: sms-a, provider: twilio, account_sid: AC1, auth_token: t, from: \"+14155550100\"}, {name: sms-b, provider: twilio, account_sid: AC1, auth_token: t, from: \"+14155550101\"}]}"
	tests := []struct{ name, yaml, want string }{
		{"default, no SMS account", "fallback: {sms_account: sms-main}", ""},
		{"empty: no SMS fallback", "fallback: {sms_account: \"\"}", ""},
		{"chosen, no SMS account", "fallback: {sms_account: sms-cn}", `fallback.sms_account: "sms-cn" is not one of accounts.sms (none is configured; "" turns SMS fallback off)`},
		{"default, other SMS accounts", "fallback: {sms_account: sms-main}" + sms, `fallback.sms_account: "sms-main" is not one of accounts.sms (have: sms-a, sms-b)`},
		{"one of them", "fallback: {sms_account: sms-b}" + sms, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := loadError(t, tc.yaml, Options{})
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("got error %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEnvironSetsKeysAndErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "http:\n  listen: \":7070\"\nnats:\n  replicas: 1\n")
	environ := []string{"HOTLINE_HTTP_LISTEN=:9090", "HOTLINE_NATS_STORE_DIR=", "WECHAT_SECRET=s"}
	cfg, _, err := Load(Options{Platforms: builtin.Platforms(), File: path, Environ: environ})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cfg.HTTP.Listen != ":9090" || cfg.NATS.StoreDir != "data/nats" {
		t.Errorf("got listen %q and store_dir %q, want :9090 from Environ and the default (an empty variable sets nothing)", cfg.HTTP.Listen, cfg.NATS.StoreDir)
	}
	_, _, err = Load(Options{Platforms: builtin.Platforms(), File: path, Environ: []string{"HOTLINE_NATS_REPLICAS=nine"}})
	if err == nil || !strings.Contains(err.Error(), `HOTLINE_NATS_REPLICAS: nats.replicas: "nine" is not a whole number`) {
		t.Fatalf("got %v, want the variable named, not the file's line 4", err)
	}
}

func TestExpandsEnvironWithoutLookupEnv(t *testing.T) {
	t.Parallel()
	got := loadError(t, "accounts: {weibo: [{name: wb, app_secret: \"${WB_SECRET}\", access_token: t}]}", Options{Environ: []string{"OTHER=1"}})
	if !strings.Contains(got, "accounts.weibo[0].app_secret: environment variable WB_SECRET is not set") {
		t.Fatalf("got %q, want ${WB_SECRET} looked up in Environ", got)
	}
	if got := loadError(t, "accounts: {weibo: [{name: wb, app_secret: \"${WB_SECRET}\", access_token: t}]}", Options{Environ: []string{"WB_SECRET=s"}}); got != "" {
		t.Fatalf("got %q, want WB_SECRET found in Environ", got)
	}
}

func TestUnknownEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, variable, want string // want "": no warning
	}{
		{"misspelt key", "HOTLINE_HTTP_LISTN", "environment variable HOTLINE_HTTP_LISTN is ignored: it sets no configuration key (did you mean HOTLINE_HTTP_LISTEN?)"},
		{"nothing near", "HOTLINE_COLOUR_SCHEME", "environment variable HOTLINE_COLOUR_SCHEME is ignored: it sets no configuration key"},
		{"account setting", "HOTLINE_ACCOUNTS_SMS_0_AUTH_TOKEN", "account entries have no variables; write ${HOTLINE_ACCOUNTS_SMS_0_AUTH_TOKEN} in the file instead"},
		{"a key", "HOTLINE_HTTP_ADMIN_TOKEN", ""},
		{"a key of a single platform's section", "HOTLINE_WEBCHAT_MAX_TEXT", ""},
		{"the admin commands' URL", "HOTLINE_ADMIN_URL", ""},
		{"the browser tests' Chrome", "HOTLINE_CHROME", ""},
		{"not hotline's", "PATH", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := UnknownEnv([]string{tc.variable + "=secret-value"}, builtin.Platforms())
			switch {
			case tc.want == "" && len(got) > 0:
				t.Fatalf("got %q, want no warning", got)
			case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)):
				t.Fatalf("got %q, want one warning containing %q", got, tc.want)
			case strings.Contains(strings.Join(got, ""), "secret-value"):
				t.Fatalf("the warning %q prints the value", got)
			}
		})
	}
}

func TestTiersFromTheFileReplaceTheBuiltIn(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hotline.yaml")
	if err := os.WriteFile(file, []byte("router:\n  tiers:\n    gold: {raise: 2, sla: {p1: 10s}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := Load(Options{File: file})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Router.Tiers) != 1 || cfg.Router.Tiers["gold"].Raise != 2 || cfg.Router.Tiers["gold"].SLA["p1"] != 10*time.Second {
		t.Fatalf("tiers %+v, want gold alone", cfg.Router.Tiers)
	}
	if err := os.WriteFile(file, []byte("router:\n  tiers:\n    gold: {raise: 3, sla: {p4: 10s, p1: -1s}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = Load(Options{File: file})
	for _, want := range []string{"router.tiers.gold.raise: 3 is outside 0..2", `router.tiers.gold.sla.p4: "p4" is not p1, p2 or p3`, "router.tiers.gold.sla.p1: -1s is not a positive duration"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}
