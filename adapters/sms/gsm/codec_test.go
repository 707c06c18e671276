package gsm

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"
)

func TestToSeptets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want []byte
	}{
		{"empty", "", []byte{}},
		{"ascii", "Hi!", []byte{0x48, 0x69, 0x21}},
		{"at is zero", "@", []byte{0x00}},
		{"dollar and currency sign", "$¤", []byte{0x02, 0x24}},
		{"inverted marks", "¡¿", []byte{0x40, 0x60}},
		{"line breaks", "\r\n", []byte{0x0D, 0x0A}},
		{"euro is escape 0x65", "€", []byte{0x1B, 0x65}},
		{"whole extension table", "\f^{}\\[~]|€", []byte{
			0x1B, 0x0A, 0x1B, 0x14, 0x1B, 0x28, 0x1B, 0x29, 0x1B, 0x2F,
			0x1B, 0x3C, 0x1B, 0x3D, 0x1B, 0x3E, 0x1B, 0x40, 0x1B, 0x65}},
		{"greek capitals", "ΔΦΓΛΩΠΨΣΘΞ", []byte{0x10, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ToSeptets(tc.text)
			if err != nil {
				t.Fatalf("ToSeptets(%q): %v", tc.text, err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("ToSeptets(%q): got % X, want % X", tc.text, got, tc.want)
			}
			if n := Units(tc.text, GSM7); n != len(got) {
				t.Errorf("Units(%q, GSM7): got %d, want len(septets) %d", tc.text, n, len(got))
			}
		})
	}
}

func TestToSeptetsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		text   string
		rune   rune
		offset int
	}{
		{"small c cedilla", "ça", 'ç', 0},
		{"backtick after ascii", "ab`", '`', 2},
		{"escape code itself", "a\x1b", 0x1B, 1},
		{"tab", "a\tb", '\t', 1},
		{"emoji", "ok 😀", '😀', 3},
		{"invalid utf-8 is U+FFFD", "é\xff", utf8.RuneError, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ToSeptets(tc.text)
			var ue *UnencodableError
			if !errors.As(err, &ue) {
				t.Fatalf("ToSeptets(%q): got error %v, want *UnencodableError", tc.text, err)
			}
			if ue.Rune != tc.rune || ue.Offset != tc.offset {
				t.Errorf("ToSeptets(%q): got rune %U at %d, want %U at %d", tc.text, ue.Rune, ue.Offset, tc.rune, tc.offset)
			}
		})
	}
}

func TestFromSeptets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		septets []byte
		want    string
	}{
		{"empty", nil, ""},
		{"hello", []byte{0x68, 0x65, 0x6C, 0x6C, 0x6F}, "hello"},
		{"trailing at is kept", []byte{0x41, 0x00}, "A@"},
		{"euro", []byte{0x1B, 0x65}, "€"},
		{"brackets", []byte{0x1B, 0x3C, 0x1B, 0x3E}, "[]"},
		// 23.038 §6.2.1.1: a code the extension table lacks shows the
		// default-alphabet character of the same code.
		{"undefined extension code shows main table", []byte{0x1B, 0x41, 0x42}, "AB"},
		{"escape escape is a space", []byte{0x1B, 0x1B, 0x41}, " A"},
		{"lone trailing escape is a space", []byte{0x41, 0x1B}, "A "},
		{"high bit ignored", []byte{0xC1, 0x80}, "A@"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FromSeptets(tc.septets); got != tc.want {
				t.Errorf("FromSeptets(% X): got %q, want %q", tc.septets, got, tc.want)
			}
		})
	}
}

// TestSeptetsRoundTripEveryCharacter encodes and decodes each of the 137
// table characters on its own and all of them in one text.
func TestSeptetsRoundTripEveryCharacter(t *testing.T) {
	t.Parallel()
	var all []rune
	for code, r := range defaultAlphabet {
		if code != escape {
			all = append(all, r)
		}
	}
	for _, r := range extension {
		if r != 0 {
			all = append(all, r)
		}
	}
	for _, r := range all {
		s, err := ToSeptets(string(r))
		if err != nil {
			t.Errorf("ToSeptets(%q): %v", r, err)
			continue
		}
		if got := FromSeptets(s); got != string(r) {
			t.Errorf("FromSeptets(ToSeptets(%q)): got %q", r, got)
		}
	}
	s, err := ToSeptets(string(all))
	if err != nil {
		t.Fatalf("ToSeptets(all): %v", err)
	}
	if got := FromSeptets(s); got != string(all) {
		t.Errorf("round trip of all characters: got %q, want %q", got, string(all))
	}
}

// FuzzSeptets checks that FromSeptets never panics on any bytes, and that
// ToSeptets agrees with Choose and round-trips through FromSeptets.
func FuzzSeptets(f *testing.F) {
	for _, tc := range analyzeTests {
		f.Add(tc.text)
	}
	f.Add("\x1b\x1b\x1b")
	f.Fuzz(func(t *testing.T, s string) {
		_ = FromSeptets([]byte(s))
		septets, err := ToSeptets(s)
		if (err == nil) != (Choose(s) == GSM7) {
			t.Fatalf("ToSeptets(%q) error %v, but Choose says %v", s, err, Choose(s))
		}
		if err != nil {
			return
		}
		if got := FromSeptets(septets); got != s {
			t.Errorf("FromSeptets(ToSeptets(%q)): got %q", s, got)
		}
	})
}
