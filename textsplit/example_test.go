package textsplit_test

import (
	"fmt"
	"strings"

	"hotline/textsplit"
)

func ExampleSplitter_Split() {
	text := "Your refund was approved.\nIt reaches your card in 3.5 days. Thank you for waiting!"
	chat := textsplit.Splitter{Limit: 40, Measure: textsplit.UTF16}
	for _, part := range chat.Split(text) {
		fmt.Printf("%q\n", part)
	}
	// Exact keeps the white space, so the parts join back to the text.
	sms := textsplit.Splitter{Limit: 40, Exact: true}
	parts := sms.Split(text)
	fmt.Printf("%q %v\n", parts[0], strings.Join(parts, "") == text)
	// Output:
	// "Your refund was approved."
	// "It reaches your card in 3.5 days."
	// "Thank you for waiting!"
	// "Your refund was approved.\n" true
}

func ExampleSplitter_Cut() {
	// A passive reply carries one message; the rest goes another way.
	first, rest := textsplit.Splitter{Limit: 12}.Cut("退款已批准。将在三个工作日内到账，请留意。")
	fmt.Println(first)
	fmt.Println(rest)
	// Output:
	// 退款已批准。
	// 将在三个工作日内到账，请留意。
}
