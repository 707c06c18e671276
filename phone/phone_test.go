package phone

import (
	"errors"
	"testing"
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

func TestRegion(t *testing.T) {
	for number, want := range map[string]string{
		"+8613800138000": "CN",
		"+14155552671":   "US",
		"+442071838750":  "GB",
		"+882":           "",
		"not a number":   "",
	} {
		if got := Region(number); got != want {
			t.Errorf("Region(%q) = %q, want %q", number, got, want)
		}
	}
}
