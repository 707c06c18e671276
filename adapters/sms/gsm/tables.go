package gsm

// escape is the septet 0x1B. In the default alphabet it is not a character:
// it announces that the next septet is read from the extension table
// (3GPP TS 23.038 §6.2.1.1), which is why an extension character costs two
// septets.
const escape = 0x1B

// euro is the only character of either table outside U+0000–U+03FF, so it
// gets its own case in Septets instead of stretching septetCost to 8 KiB.
const euro = '€'

// defaultAlphabet is the GSM 7-bit default alphabet of 3GPP TS 23.038
// §6.2.1, indexed by septet value. Entry 0x1B is the escape code, not a
// character. It is never written to.
//
// 0x09 is the capital 'Ç'. Early editions of GSM 03.38 showed a small 'ç'
// there and some handsets still render it that way, but the table is 'Ç',
// so a small 'ç' is not representable and forces UCS-2.
var defaultAlphabet = [128]rune{
	'@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', // 0x00
	'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', escape, 'Æ', 'æ', 'ß', 'É', // 0x10
	' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', // 0x20
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', // 0x30
	'¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', // 0x40
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', // 0x50
	'¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', // 0x60
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', // 0x70
}

// extension is the default alphabet extension table of 3GPP TS 23.038
// §6.2.1.1, indexed by the septet that follows an escape. A zero entry is
// unassigned (0x1B 0x1B is reserved for a further extension). Only the ten
// characters here are defined in the default extension table; national
// single-shift tables (UDH IEI 0x24) are not supported. It is never written
// to.
var extension = [128]rune{
	0x0A: '\f',
	0x14: '^',
	0x28: '{',
	0x29: '}',
	0x2F: '\\',
	0x3C: '[',
	0x3D: '~',
	0x3E: ']',
	0x40: '|',
	0x65: euro,
}

// septetCost[r] is what rune r costs in GSM-7: 1 for the default alphabet,
// 2 for the extension table, 0 when it is in neither. It covers
// U+0000–U+03FF, where every table character but '€' lives, so the lookup is
// one index instead of a map. It is derived from the two tables above so
// they cannot disagree, and never written to after initialisation.
var septetCost = buildSeptetCost()

func buildSeptetCost() [0x400]uint8 {
	var c [0x400]uint8
	for code, r := range defaultAlphabet {
		if code != escape && int(r) < len(c) {
			c[r] = 1
		}
	}
	for _, r := range extension {
		if r != 0 && int(r) < len(c) {
			c[r] = 2
		}
	}
	return c
}
