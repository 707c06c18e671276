package config

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"hotline/envelope"
	"hotline/platform"
)

// DefaultFor is Default with the accounts the platforms bring when
// nothing is configured: those of sections that are on by default (the
// web chat).
func DefaultFor(platforms []platform.Platform) Config {
	cfg := Default()
	for _, p := range platforms {
		if p.Single {
			cfg.Accounts = append(cfg.Accounts, Account{Key: p.Section, Platform: p, Settings: p.NewConfig()})
		}
	}
	return cfg
}

// AccountOf is an account of p with settings, as if configured (tests
// and programs that build a configuration without a file).
func AccountOf(p platform.Platform, settings platform.Config) Account {
	return Account{Key: p.Section, Platform: p, Settings: settings}
}

// Find returns the settings of platform/account, if configured.
func (c Config) Find(platformName, account string) (Account, bool) {
	for _, a := range c.Accounts {
		if a.Platform.Name == platformName && a.Settings.AccountName() == account {
			return a, true
		}
	}
	return Account{}, false
}

// decodeAccounts decodes every entry of accounts.<platform> and every
// single top-level section through its platform, in the order of
// platforms. raw is the accounts map as read; sections are the other
// top-level keys config itself does not know.
func decodeAccounts(platforms []platform.Platform, raw map[string]any, sections map[string]any, lookup func(string) (string, bool)) ([]Account, []error) {
	var accounts []Account
	var errs []error
	lists := map[string][]platform.Platform{}
	singles := map[string]platform.Platform{}
	for _, p := range platforms {
		if p.Single {
			singles[p.Section] = p
			continue
		}
		name := strings.TrimPrefix(p.Section, "accounts.")
		lists[name] = append(lists[name], p)
	}
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		if _, ok := lists[name]; !ok {
			errs = append(errs, fmt.Errorf("accounts.%s: no such platform in this build (have: %s)", name, strings.Join(slices.Sorted(maps.Keys(lists)), ", ")))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(sections)) {
		if _, ok := singles[name]; !ok {
			errs = append(errs, fmt.Errorf("%s: unknown key", name))
		}
	}
	seen := map[string]bool{}
	for _, p := range platforms {
		if p.Single {
			entry, _ := sections[p.Section].(map[string]any)
			a, err := decodeEntry(p, p.Section, entry, lookup)
			errs = append(errs, err...)
			if a.Settings != nil {
				accounts = append(accounts, a)
			}
			continue
		}
		name := strings.TrimPrefix(p.Section, "accounts.")
		if lists[name][0].Provider != p.Provider {
			continue // the list is read once, with its first provider
		}
		list, ok := raw[name].([]any)
		if !ok && raw[name] != nil {
			errs = append(errs, fmt.Errorf("accounts.%s: must be a list of accounts", name))
			continue
		}
		for i, item := range list {
			key := fmt.Sprintf("accounts.%s[%d]", name, i)
			entry, ok := item.(map[string]any)
			if !ok {
				errs = append(errs, fmt.Errorf("%s: must be a map of settings", key))
				continue
			}
			kind, err := pickProvider(lists[name], entry)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.provider: %w", key, err))
				continue
			}
			a, aerrs := decodeEntry(kind, key, entry, lookup)
			errs = append(errs, aerrs...)
			if a.Settings == nil {
				continue
			}
			id := kind.Name + "/" + a.Settings.AccountName()
			if seen[id] && envelope.ValidToken(a.Settings.AccountName()) == nil {
				errs = append(errs, fmt.Errorf("%s.name: %q is used twice in accounts.%s", key, a.Settings.AccountName(), name))
			}
			seen[id] = true
			accounts = append(accounts, a)
		}
	}
	return accounts, errs
}

// pickProvider finds the platform of an entry by its provider key; a
// section with one provider needs none.
func pickProvider(kinds []platform.Platform, entry map[string]any) (platform.Platform, error) {
	if len(kinds) == 1 && kinds[0].Provider == "" {
		return kinds[0], nil
	}
	var names []string
	for _, k := range kinds {
		names = append(names, k.Provider)
	}
	want, _ := entry["provider"].(string)
	if want == "" {
		return platform.Platform{}, fmt.Errorf("required (one of: %s)", strings.Join(names, ", "))
	}
	for _, k := range kinds {
		if k.Provider == want {
			return k, nil
		}
	}
	return platform.Platform{}, fmt.Errorf("%q is not a provider in this build (have: %s)", want, strings.Join(names, ", "))
}

// decodeEntry decodes one entry onto its platform's defaults, so a key
// the entry sets wins even when zero (replay_window: 0 turns the check
// off), expands ${VAR} references and validates it. A value that does
// not decode is reported and its field checked no further: it holds the
// default, which Validate might call missing.
func decodeEntry(p platform.Platform, key string, entry map[string]any, lookup func(string) (string, bool)) (Account, []error) {
	settings := p.NewConfig()
	bad, errs := decodeOnto(entry, settings, key+".")
	errs = append(errs, unknownKeys(reflect.TypeOf(settings), entry, key+".")...)
	errs = append(errs, expandEnv(settings, key, lookup)...)
	for _, e := range platform.Split(settings.Validate()) {
		if e != nil && !bad[keyOf(e)] {
			errs = append(errs, fmt.Errorf("%s.%w", key, e))
		}
	}
	return Account{Key: key, Platform: p, Settings: settings}, errs
}

// expandEnv replaces ${VAR} in every string setting, so that secrets can
// stay out of the file. Only the braced form is expanded: a secret that
// happens to contain a bare $ is left alone.
func expandEnv(settings platform.Config, key string, lookup func(string) (string, bool)) []error {
	var errs []error
	walkStrings(reflect.ValueOf(settings), key, func(key string, s reflect.Value) {
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

// redactedAccounts renders the accounts as the file would hold them.
func redactedAccounts(accounts []Account, out map[string]any) {
	lists := map[string]any{}
	for _, a := range accounts {
		m := toMap(reflect.ValueOf(a.Settings), true)
		if a.Platform.Single {
			out[a.Platform.Section] = m
			continue
		}
		name := strings.TrimPrefix(a.Platform.Section, "accounts.")
		l, _ := lists[name].([]any)
		lists[name] = append(l, m)
	}
	out["accounts"] = lists
}
