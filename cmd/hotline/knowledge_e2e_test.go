package main

import (
	"encoding/json"
	"strings"
	"testing"

	"hotline/router"
)

func TestTierCLI(t *testing.T) {
	t.Parallel()
	_, admin, _ := startServe(t, testConfig(t, t.TempDir()))
	cli := adminCLI(t, admin)
	cli(0, "tier", "set", "webchat:demo:visitor-7", "vip", "--by", "ops", "--reason", "top seller")
	var list []router.TierSetting
	if err := json.Unmarshal([]byte(cli(0, "tier", "ls", "-o", "json")), &list); err != nil || len(list) != 1 || list[0].Tier != "vip" || list[0].SetBy != "ops" {
		t.Fatalf("tier ls -o json: %+v, %v", list, err)
	}
	if out := cli(2, "tier", "set", "webchat:demo:visitor-7", "platinum"); !strings.Contains(out, `unknown tier "platinum" (have: creator, vip)`) {
		t.Fatalf("an unknown tier: %s", out)
	}
	if out := cli(2, "tier", "set", "visitor-7", "vip"); !strings.Contains(out, "platform:account:user") {
		t.Fatalf("not a conversation: %s", out)
	}
	cli(0, "tier", "clear", "webchat:demo:visitor-7")
	if out := cli(1, "tier", "clear", "webchat:demo:visitor-7"); !strings.Contains(out, "404") {
		t.Fatalf("clearing twice: %s", out)
	}
}

func TestFAQCLI(t *testing.T) {
	t.Parallel()
	_, admin, _ := startServe(t, testConfig(t, t.TempDir()))
	cli := adminCLI(t, admin)
	cli(0, "faq", "set", "parcel_locker", "--keyword", "en=parcel locker", "--answer", "en=Parcel lockers keep your parcel for 48 hours.", "--by", "ops")
	var list []router.FAQListing
	if err := json.Unmarshal([]byte(cli(0, "faq", "ls", "-o", "json")), &list); err != nil || len(list) == 0 || list[0].ID != "parcel_locker" || list[0].Source != "edited" {
		t.Fatalf("faq ls -o json: %v, first %+v", err, list[:min(1, len(list))])
	}
	if out := cli(0, "simulate", "--user", "sim-faq", "where is the parcel locker"); !strings.Contains(out, "48 hours") {
		t.Fatalf("simulate after the edit:\n%s", out)
	}
	if out := cli(2, "faq", "set", "x", "--keyword", "zh=中文", "--answer", "zh=只有中文"); !strings.Contains(out, "needs an English answer") {
		t.Fatalf("an entry without English: %s", out)
	}
	cli(0, "faq", "rm", "parcel_locker")

	cli(0, "text", "set", "en", "status", "Payments are slow today.", "--reason", "incident 42")
	var texts []router.TextListing
	if err := json.Unmarshal([]byte(cli(0, "text", "ls", "--lang", "en", "-o", "json")), &texts); err != nil || len(texts) == 0 {
		t.Fatalf("text ls -o json: %v", err)
	}
	if out := cli(0, "simulate", "--user", "sim-text", "--lang-hint", "en", "status"); !strings.Contains(out, "Payments are slow today.") {
		t.Fatalf("simulate status after the edit:\n%s", out)
	}
	if out := cli(2, "text", "set", "en", "handoff_ack", "ticket {nope}"); !strings.Contains(out, "{nope} is not filled in") {
		t.Fatalf("a placeholder nobody fills: %s", out)
	}
	cli(0, "text", "rm", "en", "status")
}
