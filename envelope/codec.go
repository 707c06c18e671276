package envelope

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Header names hotline sets on NATS messages besides the payload.
const (
	// HeaderMsgID is JetStream's dedup header.
	HeaderMsgID = "Nats-Msg-Id"
	// HeaderDeadReason says why a message went to hotline.dead.
	HeaderDeadReason = "Hotline-Dead-Reason"
	// HeaderConversation carries the conversation key of an inbound
	// message, so a consumer can keep one conversation's messages in
	// order without decoding the payload first.
	HeaderConversation = "Hotline-Conversation"
)

// MaxEncodedLen bounds a decoded payload: text plus media references and
// metadata fit comfortably below it.
const MaxEncodedLen = 256 << 10

// validator is what Encode and Decode check before passing a value on.
type validator interface{ Validate() error }

// Encode validates v and marshals it to JSON.
func Encode(v validator) ([]byte, error) {
	if err := v.Validate(); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return b, nil
}

// Decode unmarshals JSON into v and validates it. Unknown fields are
// allowed, so an older reader accepts what a newer writer adds.
func Decode(data []byte, v validator) error {
	if len(data) > MaxEncodedLen {
		return fmt.Errorf("decode: %w: payload is %d bytes, at most %d", ErrInvalid, len(data), MaxEncodedLen)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode: %w: %w", ErrInvalid, err)
	}
	if dec.More() {
		return fmt.Errorf("decode: %w: trailing data after the JSON value", ErrInvalid)
	}
	if err := v.Validate(); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}
