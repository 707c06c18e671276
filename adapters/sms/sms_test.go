package sms

import (
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
