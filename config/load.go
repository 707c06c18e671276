package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/viper"

	"hotline/envelope"
)

// EnvPrefix starts every environment variable hotline reads.
const EnvPrefix = "HOTLINE"

// DefaultFile is read when no file is named and it exists in the working
// directory.
const DefaultFile = "hotline.yaml"

// Options says where Load looks.
type Options struct {
	// File is the YAML file to read; it must exist. Empty reads
	// DefaultFile if present and runs on defaults otherwise.
	File string
	// LookupEnv resolves ${VAR} references in account entries; nil uses
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Load builds the configuration from defaults, the file and the
// environment, and validates it. The error names every bad key.
func Load(opts Options) (Config, string, error) {
	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v := viper.New()
	v.SetConfigType("yaml")
	// Every key needs a default for environment variables to reach
	// Unmarshal (viper only binds keys it knows about).
	for key, val := range flatten("", toMap(reflect.ValueOf(Default()), false)) {
		v.SetDefault(key, val)
	}
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()

	file := opts.File
	if file == "" {
		if _, err := os.Stat(DefaultFile); err == nil {
			file = DefaultFile
		}
	}
	if file != "" {
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return Config{}, file, fmt.Errorf("config: read %s: %w", file, err)
		}
	}
	var cfg Config
	if err := v.UnmarshalExact(&cfg); err != nil {
		return Config{}, file, fmt.Errorf("config: %s: %w", sourceName(file), err)
	}
	applyAccountDefaults(v, &cfg)
	cfg.Accounts.dropEmpty()
	var errs []error
	errs = append(errs, expandAccountEnv(&cfg, lookup)...)
	errs = append(errs, cfg.validate()...)
	if len(errs) > 0 {
		return Config{}, file, fmt.Errorf("config: %s: %w", sourceName(file), errors.Join(errs...))
	}
	return cfg, file, nil
}

func sourceName(file string) string {
	if file == "" {
		return "defaults and environment"
	}
	return file
}

// applyAccountDefaults fills per-account defaults that viper cannot set on
// list entries. A key present in the entry is kept even when zero, so
// replay_window: 0 turns the timestamp check off (the body-reuse guard stays).
func applyAccountDefaults(v *viper.Viper, cfg *Config) {
	has := func(platform string, i int, key string) bool {
		list, _ := v.Get("accounts." + platform).([]any)
		if i >= len(list) {
			return false
		}
		entry, _ := list[i].(map[string]any)
		_, ok := entry[key]
		return ok
	}
	common := func(platform string, i int, c *AccountCommon, passive bool) {
		if passive && !has(platform, i, "reply_window") {
			c.ReplyWindow = DefaultReplyWindow
		}
		if !has(platform, i, "replay_window") {
			c.ReplayWindow = DefaultReplayWindow
		}
	}
	for i := range cfg.Accounts.WeChat {
		common("wechat", i, &cfg.Accounts.WeChat[i].AccountCommon, true)
	}
	for i := range cfg.Accounts.Weibo {
		common("weibo", i, &cfg.Accounts.Weibo[i].AccountCommon, true)
	}
	for i := range cfg.Accounts.Telegram {
		a := &cfg.Accounts.Telegram[i]
		common("telegram", i, &a.AccountCommon, false)
		if a.Mode == "" {
			a.Mode = DefaultTelegramMode
		}
	}
	for i := range cfg.Accounts.SMS {
		a := &cfg.Accounts.SMS[i]
		common("sms", i, &a.AccountCommon, true)
		if a.Provider == "modem" && a.Baud == 0 {
			a.Baud = DefaultBaud
		}
	}
}

// dropEmpty makes an empty account list nil, so a config with no accounts
// equals Default() whether the file said accounts: {} or nothing.
func (a *Accounts) dropEmpty() {
	if len(a.WeChat) == 0 {
		a.WeChat = nil
	}
	if len(a.Weibo) == 0 {
		a.Weibo = nil
	}
	if len(a.Telegram) == 0 {
		a.Telegram = nil
	}
	if len(a.SMS) == 0 {
		a.SMS = nil
	}
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandAccountEnv replaces ${VAR} in every string of every account entry
// so that secrets can stay out of the file. Only the braced form is
// expanded: a secret that happens to contain a bare $ is left alone.
func expandAccountEnv(cfg *Config, lookup func(string) (string, bool)) []error {
	var errs []error
	walkStrings(reflect.ValueOf(&cfg.Accounts).Elem(), "accounts", func(key string, s reflect.Value) {
		in := s.String()
		if !strings.Contains(in, "${") {
			return
		}
		out := envRef.ReplaceAllStringFunc(in, func(ref string) string {
			name := ref[2 : len(ref)-1]
			val, ok := lookup(name)
			if !ok {
				errs = append(errs, fmt.Errorf("%s: environment variable %s is not set", key, name))
			}
			return val
		})
		s.SetString(out)
	})
	return errs
}

// walkStrings calls fn for every string-kinded field below v, with its
// config key (accounts.wechat[0].app_secret).
func walkStrings(v reflect.Value, key string, fn func(key string, s reflect.Value)) {
	switch v.Kind() {
	case reflect.String:
		fn(key, v)
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			name, squash := fieldKey(t.Field(i))
			child := key
			if !squash {
				child = key + "." + name
			}
			walkStrings(v.Field(i), child, fn)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walkStrings(v.Index(i), fmt.Sprintf("%s[%d]", key, i), fn)
		}
	}
}

func fieldKey(f reflect.StructField) (name string, squash bool) {
	tag := f.Tag.Get("mapstructure")
	name, opts, _ := strings.Cut(tag, ",")
	if opts == "squash" {
		return "", true
	}
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name, false
}

var (
	secretType   = reflect.TypeFor[envelope.Secret]()
	durationType = reflect.TypeFor[time.Duration]()
)

// toMap turns a config struct into nested maps keyed by config keys.
// With redact set, secrets become "[redacted]" and durations their
// String form, for printing; without it values keep their types, for
// viper defaults.
func toMap(v reflect.Value, redact bool) any {
	switch {
	case v.Type() == secretType && redact:
		return envelope.Secret(v.String()).String()
	case v.Type() == durationType && redact:
		return time.Duration(v.Int()).String()
	}
	switch v.Kind() {
	case reflect.Struct:
		out := map[string]any{}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			name, squash := fieldKey(t.Field(i))
			val := toMap(v.Field(i), redact)
			if sub, ok := val.(map[string]any); ok && squash {
				for k, x := range sub {
					out[k] = x
				}
				continue
			}
			out[name] = val
		}
		return out
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = toMap(v.Index(i), redact)
		}
		return out
	case reflect.Map:
		if !redact {
			return v.Interface() // a map value is one key to viper (router.menu)
		}
		out := map[string]any{}
		iter := v.MapRange()
		for iter.Next() {
			out[fmt.Sprint(iter.Key().Interface())] = toMap(iter.Value(), redact)
		}
		return out
	case reflect.String:
		return v.String()
	}
	return v.Interface()
}

// flatten turns the nested maps toMap makes of structs into dotted keys;
// everything else (lists, map values) stays whole under its key.
func flatten(prefix string, v any) map[string]any {
	out := map[string]any{}
	m, ok := v.(map[string]any)
	if !ok {
		out[prefix] = v
		return out
	}
	for k, x := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		for fk, fv := range flatten(key, x) {
			out[fk] = fv
		}
	}
	return out
}

// Redacted returns the configuration as nested maps with every secret
// replaced by "[redacted]", ready to print as YAML or JSON.
func (c Config) Redacted() map[string]any {
	return toMap(reflect.ValueOf(c), true).(map[string]any)
}
