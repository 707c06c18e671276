package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// source says where each setting came from, so that an error can point
// there: a line of the file or an environment variable.
type source struct {
	file string
	// lines holds the line of every key in the file, by its path
	// (http.listen, accounts.sms[0].from), in lower case as viper has it.
	lines map[string]int
	// fromEnv names the variable of every key the environment set.
	fromEnv map[string]string
}

// where is where key's value came from ("hotline.yaml:12" or
// "HOTLINE_NATS_URL") and its line, 0 when the file does not say. A key
// set by neither is placed at its nearest enclosing key that is
// (http.admin_token at http:), which is where it would go.
func (s source) where(key string) (string, int) {
	for k := strings.ToLower(key); k != ""; k = parentKey(k) {
		if name, ok := s.fromEnv[k]; ok {
			return name, 0
		}
		if line, ok := s.lines[k]; ok {
			return s.file + ":" + strconv.Itoa(line), line
		}
	}
	return sourceName(s.file), 0
}

// parentKey drops the last part of a key: accounts.sms[0].from,
// accounts.sms[0], accounts.sms, accounts, "".
func parentKey(key string) string {
	i := strings.LastIndexAny(key, ".[")
	if i < 0 {
		return ""
	}
	return key[:i]
}

// keyOf is the key an error is about: every error of config, and of the
// platforms' Validate, starts with it.
func keyOf(err error) string {
	key, _, _ := strings.Cut(err.Error(), ": ")
	return key
}

// report joins errs in the order of the file, each prefixed with where
// its value came from; those the file does not place come last.
func (s source) report(errs []error) error {
	type located struct {
		line int
		err  error
	}
	out := make([]located, 0, len(errs))
	for _, err := range errs {
		where, line := s.where(keyOf(err))
		if line == 0 {
			line = math.MaxInt
		}
		out = append(out, located{line, fmt.Errorf("%s: %w", where, err)})
	}
	slices.SortStableFunc(out, func(a, b located) int { return cmp.Compare(a.line, b.line) })
	joined := make([]error, len(out))
	for i, l := range out {
		joined[i] = l.err
	}
	if len(joined) == 1 {
		return fmt.Errorf("config: %w", joined[0])
	}
	return fmt.Errorf("config: %d problems:\n%w", len(joined), errors.Join(joined...))
}

// parseYAML checks the file's syntax before viper reads it, because the
// errors viper passes on from yaml.v3 often name the wrong line, and
// returns the line of every key.
func parseYAML(file string, data []byte) (map[string]int, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s:%d: %s", file, syntaxLine(data), yamlMessage.ReplaceAllString(err.Error(), ""))
	}
	if doc.Kind == 0 {
		return map[string]int{}, nil // empty: the defaults
	}
	// Decoding finds what parsing lets through and viper would refuse:
	// a key given twice, a list where the settings' map should be.
	var m map[string]any
	var te *yaml.TypeError
	if err := doc.Decode(&m); errors.As(err, &te) {
		var errs []error
		for _, e := range te.Errors {
			line, msg := "1", e
			if sub := typeErrorLine.FindStringSubmatch(e); sub != nil {
				line, msg = sub[1], sub[2]
			}
			errs = append(errs, fmt.Errorf("%s:%s: %s", file, line, msg))
		}
		return nil, errors.Join(errs...)
	} else if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	lines := map[string]int{}
	keyLines(&doc, "", lines)
	return lines, nil
}

var (
	yamlMessage   = regexp.MustCompile(`^yaml: (line \d+: )?`)
	typeErrorLine = regexp.MustCompile(`^line (\d+): (.*)$`)
)

// syntaxLine finds the line of a YAML syntax error. yaml.v3 names the
// line where the enclosing block starts, often lines above the mistake;
// the mistake is on the line after the longest start of the file that
// still parses. Only a broken file pays for the parses.
func syntaxLine(data []byte) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	for n := len(lines) - 1; n > 0; n-- {
		var doc yaml.Node
		if yaml.Unmarshal(bytes.Join(lines[:n], nil), &doc) == nil {
			return n + 1
		}
	}
	return 1
}

// keyLines records the line of every key below n, and of every list
// entry, by its path.
func keyLines(n *yaml.Node, path string, lines map[string]int) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			keyLines(c, path, lines)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := strings.ToLower(n.Content[i].Value)
			if path != "" {
				key = path + "." + key
			}
			lines[key] = n.Content[i].Line
			keyLines(n.Content[i+1], key, lines)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			key := fmt.Sprintf("%s[%d]", path, i)
			lines[key] = c.Line
			keyLines(c, key, lines)
		}
	}
}
