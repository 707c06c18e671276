package sms

import (
	"fmt"
	"testing"
	"time"
)

func TestParseKeyword(t *testing.T) {
	tests := map[string]Keyword{
		"STOP": KeywordStop, " stop ": KeywordStop, "Stop!": KeywordStop, "UNSUBSCRIBE": KeywordStop, "end": KeywordStop,
		"退订": KeywordStop, "TD": KeywordStop, "START": KeywordStart, "unstop": KeywordStart, "Yes": KeywordStart,
		"HELP": KeywordHelp, "info": KeywordHelp,
		"stop texting me": KeywordNone, "helpful": KeywordNone, "please stop": KeywordNone, "": KeywordNone, "yes please": KeywordNone,
	}
	for in, want := range tests {
		if got := ParseKeyword(in); got != want {
			t.Errorf("ParseKeyword(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInboundLimiter(t *testing.T) {
	l := NewInboundLimiter(10*time.Second, 3)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		if !l.Allow("+15550100", now) {
			t.Fatalf("message %d within the burst refused", i+1)
		}
	}
	if l.Allow("+15550100", now) {
		t.Fatal("fourth message at once allowed")
	}
	if !l.Allow("+15550199", now) {
		t.Fatal("another number limited")
	}
	if !l.Allow("+15550100", now.Add(10*time.Second)) {
		t.Fatal("not allowed again after the refill interval")
	}
}

// TestInboundLimiterForgetsIdleNumbers: past pruneAbove numbers, those
// idle long enough to have their burst back are dropped, and a number
// dropped is treated as a fresh one would be: nothing changes but memory.
func TestInboundLimiterForgetsIdleNumbers(t *testing.T) {
	l := NewInboundLimiter(2*time.Second, 10)
	start := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	for i := range pruneAbove + 1 {
		l.Allow(fmt.Sprint("+1555", i), start)
	}
	for range 10 {
		l.Allow("+8613800138000", start) // its burst spent
	}
	if l.Allow("+8613800138000", start) {
		t.Fatal("an 11th message at once was allowed")
	}
	later := start.Add(20 * time.Second) // every × burst: all refilled
	l.Allow("+8613900000000", later)
	if n := len(l.byNum); n != 1 {
		t.Fatalf("%d numbers kept after the idle ones were forgotten, want 1", n)
	}
	for i := range 10 {
		if !l.Allow("+8613800138000", later) {
			t.Fatalf("message %d of a refilled burst refused", i+1)
		}
	}
}
