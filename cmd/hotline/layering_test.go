package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestPackageLayering keeps the import graph of docs/design.md honest: envelope
// uses the standard library only, and each package imports only the
// project packages it is allowed to.
func TestPackageLayering(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs go list; skipped with -short")
	}
	allowed := map[string][]string{
		"hotline/envelope": {},
		"hotline/bus":      {"hotline/envelope"},
		// config decodes each account through its platform's descriptor
		// (which names the bus its adapters get).
		"hotline/config":   {"hotline/envelope", "hotline/platform", "hotline/bus"},
		"hotline/platform": {"hotline/envelope", "hotline/bus"},
		// The gateway wires everything but knows no platform by name.
		"hotline/gateway": {"hotline/envelope", "hotline/bus", "hotline/config", "hotline/platform", "hotline/router",
			"hotline/fallback", "hotline/outbound", "hotline/console", "hotline/media", "hotline/phone", "hotline/httpjson", "hotline/passive"},
		"hotline/router": {"hotline/envelope", "hotline/bus", "hotline/fallback", "hotline/phone", "hotline/httpjson", "hotline/passive"},
		// The passive-reply protocol, both sides of it.
		"hotline/passive":          {"hotline/envelope", "hotline/bus"},
		"hotline/adapters/webhook": {},
		// One Unicode-aware splitter for every platform's limits.
		"hotline/textsplit": {},
		"hotline/fallback":  {"hotline/envelope", "hotline/bus", "hotline/httpjson"},
		"hotline/outbound":  {"hotline/envelope", "hotline/bus"},
		// Adapters report send failures in outbound's terms, the one
		// place retryable, throttled and permanent are defined.
		"hotline/adapters/sms/twilio": {"hotline/envelope", "hotline/bus", "hotline/outbound", "hotline/platform", "hotline/adapters/sms", "hotline/adapters/sms/gsm", "hotline/textsplit", "hotline/passive", "hotline/adapters/webhook", "hotline/phone"},
		"hotline/adapters/sms":        {"hotline/envelope", "hotline/bus", "hotline/phone"},
		// The modem: its AT dialogue and PDU codec are its own, and know
		// nothing of hotline.
		"hotline/adapters/sms/modem": {"hotline/envelope", "hotline/bus", "hotline/outbound", "hotline/platform", "hotline/adapters/sms",
			"hotline/adapters/sms/gsm", "hotline/adapters/sms/modem/at", "hotline/adapters/sms/modem/pdu", "hotline/adapters/webhook",
			"hotline/phone", "hotline/textsplit"},
		"hotline/adapters/sms/modem/at":  {},
		"hotline/adapters/sms/modem/pdu": {"hotline/adapters/sms/gsm", "hotline/textsplit"},
		"hotline/adapters/telegram":      {"hotline/envelope", "hotline/bus", "hotline/outbound", "hotline/platform", "hotline/passive", "hotline/adapters/webhook", "hotline/textsplit"},
		"hotline/adapters/weibo":         {"hotline/envelope", "hotline/bus", "hotline/outbound", "hotline/platform", "hotline/passive", "hotline/adapters/webhook", "hotline/adapters/replay", "hotline/textsplit"},
		"hotline/adapters/wechat":        {"hotline/envelope", "hotline/bus", "hotline/outbound", "hotline/platform", "hotline/passive", "hotline/adapters/webhook", "hotline/adapters/replay", "hotline/textsplit"},
		"hotline/adapters/replay":        {},
		"hotline/adapters/webchat":       {"hotline/envelope", "hotline/bus", "hotline/outbound", "hotline/platform"},
		"hotline/console":                {"hotline/envelope", "hotline/httpjson"},
		"hotline/httpjson":               {},
		// Adapters implement media.Fetcher without importing media.
		"hotline/media": {"hotline/envelope", "hotline/httpjson"},
		"hotline/phone": {},
	}
	for pkg, may := range allowed {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			path, std, _ := strings.Cut(line, " ")
			if path == pkg || std == "true" {
				continue
			}
			if pkg == "hotline/envelope" {
				t.Errorf("envelope depends on %s; it must use the standard library only", path)
				continue
			}
			if strings.HasPrefix(path, "hotline/") && !slices.Contains(may, path) {
				t.Errorf("%s imports %s; allowed: %v", pkg, path, may)
			}
		}
	}
}
