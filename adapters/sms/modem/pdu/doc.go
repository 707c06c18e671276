// Package pdu encodes and decodes SMS in the PDU mode of a GSM modem: the
// hex strings that +CMGR, +CMGL, +CMT and +CDS print and AT+CMGS takes
// (3GPP TS 27.005 §3.1 and §4.3), holding the TPDUs of 3GPP TS 23.040 §9.2
// with text in the alphabets of 3GPP TS 23.038. The GSM 7-bit tables and
// the splitting of long text come from package hotline/adapters/sms/gsm,
// so there is one source of truth for them.
//
// # Layout
//
// A frame is the modem's hex string, decoded: the SMSC part, then the TPDU.
//
//	SMSC part      len | TOA | BCD digits   (len counts OCTETS, TOA included; 00 = none)
//	SMS-DELIVER    FO | OA | PID | DCS | SCTS(7) | UDL | UD
//	SMS-SUBMIT     FO | MR | DA | PID | DCS | [VP] | UDL | UD
//	STATUS-REPORT  FO | MR | RA | SCTS(7) | DT(7) | ST
//
// The SMSC gotcha: the length octet of the SMSC part counts octets, but
// the length octet of TP-OA, TP-DA and TP-RA counts digits (semi-octets,
// 23.040 §9.1.2.5). The <length> of +CMGR and the n of AT+CMGS=<n> count
// the TPDU alone, without the SMSC part (27.005 §3.1), which is why
// EncodeSubmit returns it. A frame always starts with the SMSC part, so a
// bare TPDU must be given a leading 00 before it is decoded.
//
// The direction matters: TP-MTI 01 is an SMS-SUBMIT from the handset but
// an SMS-SUBMIT-REPORT towards it (23.040 §9.2.3.1). Decode therefore
// only dispatches the mobile-terminated kinds (DELIVER, STATUS-REPORT);
// messages a modem stores as sent or unsent are read with DecodeSubmit.
//
// The UDL rule: TP-UDL counts septets for GSM 7-bit text (the user data
// header and its fill bits included) and octets otherwise (23.040
// §9.2.3.16). Decoders always go by UDL and never by the number of octets
// left, because packed septets can leave up to 7 spare zero bits in the
// last octet, which would otherwise read as a trailing '@'.
//
// # Invariants
//
// Decoding never panics: any bytes give a message or an error that names
// the field at fault, wrapping ErrTruncated or ErrInvalid. Encoding then
// decoding gives the text back: for any string, SubmitParts, EncodeSubmit,
// DecodeSubmit and JoinText return string([]rune(text)), which is the text
// itself when it is valid UTF-8 (an invalid byte forces UCS-2 and travels
// as U+FFFD, as ranging over the string yields it).
package pdu
