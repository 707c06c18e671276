package config

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"hotline/platform"
)

// envName is the variable that sets key: HOTLINE_ and the key in
// capitals with dots as underscores.
func envName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// envNames maps the variable of every key that has one to the key.
func envNames(platforms []platform.Platform) map[string]string {
	out := map[string]string{}
	for key := range defaultSettings(platforms) {
		out[envName(key)] = key
	}
	return out
}

// envSet maps every key whose variable env sets to that variable. An
// empty variable sets nothing, as with viper's AutomaticEnv.
func envSet(env map[string]string, platforms []platform.Platform) map[string]string {
	out := map[string]string{}
	for name, key := range envNames(platforms) {
		if env[name] != "" {
			out[key] = name
		}
	}
	return out
}

// environMap reads os.Environ form; the first of two entries wins, as in
// os.Getenv.
func environMap(environ []string) map[string]string {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if _, dup := env[name]; ok && !dup {
			env[name] = val
		}
	}
	return env
}

// UnknownEnv returns a warning for every HOTLINE_* variable in environ
// (os.Environ form; nil: the process environment) that sets no key.
// Load ignores such a variable, so a misspelt one (HOTLINE_HTTP_LISTN)
// would silently leave the default in place; it is not an error because
// the environment is shared with other programs. platforms are those
// given to Load: their single sections have variables too.
func UnknownEnv(environ []string, platforms []platform.Platform) []string {
	if environ == nil {
		environ = os.Environ()
	}
	known := envNames(platforms)
	var warnings []string
	for _, name := range slices.Sorted(maps.Keys(environMap(environ))) {
		if !strings.HasPrefix(name, EnvPrefix+"_") || known[name] != "" || readElsewhere(name) {
			continue
		}
		warnings = append(warnings, unknownEnvWarning(name, slices.Collect(maps.Keys(known))))
	}
	return warnings
}

// readElsewhere reports the HOTLINE_* variables that set no key but are
// read by someone else, so they draw no warning.
func readElsewhere(name string) bool {
	switch name {
	case "HOTLINE_ADMIN_URL", // the admin commands' --admin-url (cmd/hotline/admin.go)
		"HOTLINE_CHROME": // the browser the end-to-end tests drive (cmd/hotline/browser_test.go)
		return true
	}
	return false
}

// unknownEnvWarning names the variable, never its value (it may be a
// secret), and the variable it probably meant.
func unknownEnvWarning(name string, known []string) string {
	if strings.HasPrefix(name, EnvPrefix+"_ACCOUNTS_") {
		return fmt.Sprintf("environment variable %s is ignored: account entries have no variables; write ${%s} in the file instead", name, name)
	}
	if guess := closest(name, known); guess != "" {
		return fmt.Sprintf("environment variable %s is ignored: it sets no configuration key (did you mean %s?)", name, guess)
	}
	return fmt.Sprintf("environment variable %s is ignored: it sets no configuration key", name)
}

// closest returns the candidate nearest to s if it is near enough to be
// a misspelling (a few edits, fewer than a third of s), else "".
func closest(s string, candidates []string) string {
	best, bestDist := "", min(3, len(s)/3)+1
	for _, c := range slices.Sorted(slices.Values(candidates)) {
		if d := editDistance(s, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes
// (keys and variable names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
