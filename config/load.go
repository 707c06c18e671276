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
	"hotline/platform"
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
	// Platforms are the platforms this build has: each decodes and
	// checks its own accounts (platform/builtin lists hotline's).
	Platforms []platform.Platform
}

// layout is what the file is decoded into first: config's own sections,
// the accounts lists and any other top-level key, left for the platforms.
type layout struct {
	Config   `mapstructure:",squash"`
	Accounts map[string]any `mapstructure:"accounts"`
	Sections map[string]any `mapstructure:",remain"`
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
	// A single platform's own section is known to viper the same way,
	// so its HOTLINE_* variables work too; account lists have no
	// variables (viper cannot address list entries).
	for _, p := range opts.Platforms {
		if p.Single {
			for key, val := range flatten(p.Section, toMap(reflect.ValueOf(p.NewConfig()), false)) {
				v.SetDefault(key, val)
			}
		}
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
	var l layout
	if err := v.UnmarshalExact(&l); err != nil {
		return Config{}, file, fmt.Errorf("config: %s: %w", sourceName(file), err)
	}
	cfg := l.Config
	accounts, errs := decodeAccounts(opts.Platforms, l.Accounts, l.Sections, lookup)
	cfg.Accounts = accounts
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

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// walkStrings calls fn for every string-kinded field below v, with its
// config key (accounts.<platform>[0].app_secret).
func walkStrings(v reflect.Value, key string, fn func(key string, s reflect.Value)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), key, fn)
		}
	case reflect.String:
		fn(key, v)
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			name, squash := fieldKey(t.Field(i))
			if name == "-" || !t.Field(i).IsExported() {
				continue
			}
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
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return toMap(v.Elem(), redact)
	case reflect.Struct:
		out := map[string]any{}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			name, squash := fieldKey(t.Field(i))
			if name == "-" || !t.Field(i).IsExported() {
				continue
			}
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
	out := toMap(reflect.ValueOf(c), true).(map[string]any)
	redactedAccounts(c.Accounts, out)
	return out
}
