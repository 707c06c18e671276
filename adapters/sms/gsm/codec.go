package gsm

import (
	"fmt"
	"strings"
)

// UnencodableError reports the first rune of a text that has no form in
// the GSM 7-bit default alphabet or its extension table, so the caller can
// say which character forced UCS-2 (or reject an alphanumeric sender).
type UnencodableError struct {
	// Rune is the character; an invalid UTF-8 byte shows up as U+FFFD,
	// which is what ranging over the string yields for it.
	Rune rune
	// Offset is the byte offset of Rune in the text.
	Offset int
}

func (e *UnencodableError) Error() string {
	return fmt.Sprintf("gsm: %U %q at byte %d has no GSM 7-bit form", e.Rune, e.Rune, e.Offset)
}

// ToSeptets returns text as GSM 7-bit septet values, one per byte (not yet
// packed): a default-alphabet character is its code, an extension-table
// character is escape 0x1B followed by its code (3GPP TS 23.038 §6.2.1.1).
// The tables are the ones Septets and Analyze count with, so
// len(septets) == Units(text, GSM7) whenever err is nil. A rune in neither
// table gives an *UnencodableError naming the first one.
func ToSeptets(text string) ([]byte, error) {
	out := make([]byte, 0, len(text))
	for i, r := range text {
		code, ext, ok := septetOf(r)
		if !ok {
			return nil, &UnencodableError{Rune: r, Offset: i}
		}
		if ext {
			out = append(out, escape)
		}
		out = append(out, code)
	}
	return out, nil
}

// septetOf finds r in the default table, then in the extension table.
// The tables are 128 entries each, so a scan costs less than keeping a
// second, derived reverse table in step with them.
func septetOf(r rune) (code byte, ext, ok bool) {
	n, known := Septets(r)
	if !known {
		return 0, false, false
	}
	if n == 1 {
		for c, t := range defaultAlphabet {
			if t == r && c != escape {
				return byte(c), false, true
			}
		}
	}
	for c, t := range extension {
		if t == r {
			return byte(c), true, true
		}
	}
	return 0, false, false // unreachable while Septets agrees with the tables
}

// FromSeptets decodes unpacked septet values, one per byte, into text.
// Only the low 7 bits of each byte are read. It never fails, because a
// receiving handset must show something for every code; it follows
// 3GPP TS 23.038 §6.2.1.1 for the codes the tables do not define:
//   - escape followed by a code the extension table does not define shows
//     the default-alphabet character of that code ("the MS shall display
//     the character shown in the main default 7 bit alphabet table");
//   - escape escape (reserved for a further extension table) shows a
//     space, as does a lone escape at the very end.
func FromSeptets(septets []byte) string {
	var b strings.Builder
	b.Grow(len(septets))
	for i := 0; i < len(septets); i++ {
		c := septets[i] & 0x7F
		if c != escape {
			b.WriteRune(defaultAlphabet[c])
			continue
		}
		if i+1 == len(septets) {
			b.WriteByte(' ')
			break
		}
		i++
		next := septets[i] & 0x7F
		switch {
		case next == escape:
			b.WriteByte(' ')
		case extension[next] != 0:
			b.WriteRune(extension[next])
		default:
			b.WriteRune(defaultAlphabet[next])
		}
	}
	return b.String()
}
