package router

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCannedReplies(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "canned"), 0o755); err != nil {
		t.Fatal(err)
	}
	own := "lang: en\nreplies:\n  - id: refund_sent\n    text: \"{name}, refund for {ticket} is on its way.\"\n  - id: shipping\n    title: Shipping\n    text: Parcels leave within 24 hours.\n"
	if err := os.WriteFile(filepath.Join(dir, "canned", "en.yaml"), []byte(own), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadCanned(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep, ok := c.Find("refund_sent", "en", "Ana", "3JV15H34", "mei"); !ok || rep.Text != "Ana, refund for 3JV15H34 is on its way." || rep.Title != "refund_sent" {
		t.Fatalf("the operator's entry replaces the built-in: %+v", rep)
	}
	if rep, ok := c.Find("greeting", "en", "", "3JV15H34", "mei"); !ok || rep.Text != "Hi there, this is mei from support. I'm looking at ticket 3JV15H34 now." {
		t.Fatalf("a built-in entry, no name: %+v", rep)
	}
	if _, ok := c.Find("shipping", "en", "", "", ""); !ok {
		t.Fatal("the operator's new entry is missing")
	}
	ar := c.For("ar", "ليلى", "3JV15H34", "mei")
	if len(ar) == 0 || ar[0].Lang != "ar" || !strings.Contains(ar[0].Text, "ليلى") || !strings.Contains(ar[0].Text, "3JV15H34") {
		t.Fatalf("Arabic: %+v", ar)
	}
	if th := c.For("th", "", "T", "a"); len(th) == 0 || th[0].Lang != "en" {
		t.Fatalf("a language without canned replies falls back to English: %+v", th)
	}
	if err := os.WriteFile(filepath.Join(dir, "canned", "en.yaml"), []byte("replies: [{id: x, text: y}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCanned(dir); err == nil || !strings.Contains(err.Error(), "lang is required") {
		t.Fatalf("a file without lang: %v", err)
	}
}
