package pdu_test

import (
	"encoding/hex"
	"fmt"
	"strings"

	"hotline/adapters/sms/modem/pdu"
)

// The modem adapter's send path: split, encode, then AT+CMGS=<n> with the
// hex frame. P3 of the dreamfabric tutorial, as ofono's tests assert it.
func ExampleSubmitParts() {
	to := pdu.Address{Number: "+46708251358"}
	parts, err := pdu.SubmitParts(to, "hellohello", 1, pdu.SubmitOptions{ValidityRelative: 0xAA})
	if err != nil {
		panic(err)
	}
	for _, p := range parts {
		frame, n, err := pdu.EncodeSubmit(p)
		if err != nil {
			panic(err)
		}
		fmt.Printf("AT+CMGS=%d\n%s\n", n, strings.ToUpper(hex.EncodeToString(frame)))
	}
	// Output:
	// AT+CMGS=23
	// 0011000B916407281553F80000AA0AE8329BFD4697D9EC37
}

// The receive path: the hex line after +CMT, +CMGR or +CDS.
func ExampleDecode() {
	frame, err := pdu.ParseHex("07911326040000F0040B911346610089F60000208062917314480CC8F71D14969741F977FD07\r\n")
	if err != nil {
		panic(err)
	}
	msg, err := pdu.Decode(frame)
	if err != nil {
		panic(err)
	}
	switch m := msg.(type) {
	case pdu.Deliver:
		fmt.Println(m.From.Number, m.Time.Format("2006-01-02 15:04:05 -07:00"), m.Text)
	case pdu.StatusReport:
		fmt.Println(m.MR, m.Delivered())
	}
	// Output:
	// +31641600986 2002-08-26 19:37:41 -01:00 How are you?
}
