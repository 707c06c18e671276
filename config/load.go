package config

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

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
	// LookupEnv resolves ${VAR} references in account entries; nil
	// looks them up in Environ.
	LookupEnv func(string) (string, bool)
	// Platforms are the platforms this build has: each decodes and
	// checks its own accounts (platform/builtin lists hotline's).
	Platforms []platform.Platform
	// Languages are the language codes hotline has texts for:
	// router.default_lang must be one of them or one that a file in
	// router.texts_dir adds. They come from the caller because the texts
	// are the router's, which config may not import. Nil: not checked.
	Languages []string
	// Environ is the environment in os.Environ form ("KEY=value"): the
	// HOTLINE_* variables are read from it, and ${VAR} references too
	// when LookupEnv is nil. Nil reads the process environment.
	Environ []string
}

// layout is what the file is decoded into first: config's own sections,
// the accounts lists and any other top-level key, left for the platforms.
type layout struct {
	Config   `mapstructure:",squash"`
	Accounts map[string]any `mapstructure:"accounts"`
	Sections map[string]any `mapstructure:",remain"`
}

// Load builds the configuration from defaults, the file and the
// environment, and validates it. The error lists every mistake at once,
// each with where its value came from (file and line, or variable), its
// key and, where there is one, the value.
func Load(opts Options) (Config, string, error) {
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	env := environMap(environ)
	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	}
	file := configFile(opts.File)
	src := source{file: file, fromEnv: envSet(env, opts.Platforms)}
	var data []byte
	if file != "" {
		var err error
		if data, err = os.ReadFile(file); err != nil {
			return Config{}, file, fmt.Errorf("config: read %s: %w", file, err)
		}
		if src.lines, err = parseYAML(file, data); err != nil {
			return Config{}, file, fmt.Errorf("config: %w", err)
		}
	}
	settings, err := merge(opts.Platforms, data, src.fromEnv, env)
	if err != nil {
		return Config{}, file, fmt.Errorf("config: read %s: %w", file, err)
	}
	cfg, errs := decodeConfig(settings, opts.Platforms, lookup)
	errs = append(errs, cfg.validate(languages(opts.Languages, cfg.Router.TextsDir))...)
	if len(errs) > 0 {
		return Config{}, file, src.report(errs)
	}
	return cfg, file, nil
}

// configFile is the file Load reads: the one named, else DefaultFile
// when it exists, else none.
func configFile(named string) string {
	if named != "" {
		return named
	}
	if _, err := os.Stat(DefaultFile); err == nil {
		return DefaultFile
	}
	return ""
}

// merge lays the file (YAML, may be nil) and the environment over the
// defaults and returns every setting as nested maps.
func merge(platforms []platform.Platform, data []byte, fromEnv map[string]string, env map[string]string) (map[string]any, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	for key, val := range defaultSettings(platforms) {
		v.SetDefault(key, val)
	}
	if data != nil {
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			return nil, err
		}
	}
	// Set wins over the file as viper's AutomaticEnv would, but reads
	// Options.Environ instead of the process.
	for key, name := range fromEnv {
		v.Set(key, env[name])
	}
	return v.AllSettings(), nil
}

// defaultSettings are the keys that have a value before the file is
// read, with that value: config's own and those of single platforms'
// sections. They are the keys an environment variable can set (account
// lists have none: a variable cannot address a list entry).
func defaultSettings(platforms []platform.Platform) map[string]any {
	out := flatten("", toMap(reflect.ValueOf(Default()), false))
	for _, p := range platforms {
		if p.Single {
			maps.Copy(out, flatten(p.Section, toMap(reflect.ValueOf(p.NewConfig()), false)))
		}
	}
	return out
}

// decodeConfig decodes config's own keys and the platforms' accounts,
// going on past every mistake to report them all.
func decodeConfig(settings map[string]any, platforms []platform.Platform, lookup func(string) (string, bool)) (Config, []error) {
	var l layout
	bad, errs := decodeOnto(settings, &l, "")
	// A key that did not decode keeps its default, so that checks
	// comparing it with others do not report a second, made-up mistake.
	def := layout{Config: Default()}
	for key := range bad {
		if dst, ok := fieldAt(reflect.ValueOf(&l).Elem(), key); ok {
			src, _ := fieldAt(reflect.ValueOf(&def).Elem(), key)
			dst.Set(src)
		}
	}
	errs = append(errs, unknownKeys(reflect.TypeFor[layout](), settings, "")...)
	accounts, aerrs := decodeAccounts(platforms, l.Accounts, l.Sections, lookup)
	cfg := l.Config
	cfg.Accounts = accounts
	return cfg, append(errs, aerrs...)
}

// languages are the codes router.default_lang may name: those the
// caller has texts for and those the files in textsDir add (the router
// merges them in at start). A file that cannot be read adds nothing
// here; the router reports it. Nil when the caller gave none: no check.
func languages(builtin []string, textsDir string) []string {
	if builtin == nil {
		return nil
	}
	langs := slices.Clone(builtin)
	var files []string
	if textsDir != "" {
		files, _ = filepath.Glob(filepath.Join(textsDir, "*.yaml"))
	}
	for _, f := range files {
		var head struct {
			Lang string `yaml:"lang"`
		}
		if data, err := os.ReadFile(f); err == nil && yaml.Unmarshal(data, &head) == nil && head.Lang != "" {
			langs = append(langs, head.Lang)
		}
	}
	slices.Sort(langs)
	return slices.Compact(langs)
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
