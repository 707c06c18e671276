package sms

import (
	"errors"
	"testing"
	"time"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		raw, region, want string
		err               error
	}{
		{"+8613800138000", "", "+8613800138000", nil},
		{"+86 138 0013 8000", "", "+8613800138000", nil},
		{"13800138000", "CN", "+8613800138000", nil},
		{"0086 138 0013 8000", "CN", "+8613800138000", nil},
		{"(415) 555-2671", "US", "+14155552671", nil},
		{"+447911123456", "", "+447911123456", nil},
		{"13800138000", "", "", ErrNoRegion},
		{"12345", "CN", "", ErrBadNumber},
		{"not a number", "US", "", ErrBadNumber},
		{"", "US", "", ErrBadNumber},
	}
	for _, tc := range tests {
		t.Run(tc.raw+"/"+tc.region, func(t *testing.T) {
			got, err := Normalize(tc.raw, tc.region)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("got %q, %v; want %v", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

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
