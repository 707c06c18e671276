package gsm_test

import (
	"fmt"
	"strings"

	"hotline/adapters/sms/gsm"
)

func ExampleAnalyze() {
	for _, text := range []string{
		"Your code is 4821.",
		strings.Repeat("€", 81), // each '€' is ESC + 0x65: two septets
		"Ça va? ça va.",         // only the capital Ç is in the GSM alphabet
		"您好，我们已收到您的请求。",
	} {
		info := gsm.Analyze(text)
		fmt.Printf("%s %d units, %d segment(s) of up to %d\n",
			info.Encoding, info.Units, info.Segments, info.PerSegment)
	}
	// Output:
	// gsm7 18 units, 1 segment(s) of up to 160
	// gsm7 162 units, 2 segment(s) of up to 153
	// ucs2 13 units, 1 segment(s) of up to 70
	// ucs2 13 units, 1 segment(s) of up to 70
}

func ExampleSplit() {
	text := strings.Repeat("word ", 40) // 200 septets
	for _, part := range gsm.Split(text) {
		fmt.Println(len(part), strings.HasSuffix(part, " "))
	}
	// Output:
	// 150 true
	// 50 true
}
