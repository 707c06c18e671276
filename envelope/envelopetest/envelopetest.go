// Package envelopetest compares what adapters make of testdata with
// reviewed golden files. Import it from _test.go files only.
package envelopetest

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// Golden marshals v as indented JSON and compares it with the file that
// replaces input's extension with .golden.json (testdata/text.xml →
// testdata/text.golden.json). With update set it first rewrites that
// file, to be reviewed in the diff.
func Golden(t testing.TB, input string, v any, update bool) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	got = append(got, '\n')
	golden := input
	if i := strings.LastIndexByte(golden, '.'); i > strings.LastIndexByte(golden, '/') {
		golden = golden[:i]
	}
	golden += ".golden.json"
	if update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update and review the file)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("envelope changed:\ngot:\n%s\nwant:\n%s", got, want)
	}
}
