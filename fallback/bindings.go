package fallback

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrBadPhone is returned by Bind for a number that is not E.164.
var ErrBadPhone = errors.New("fallback: phone is not an E.164 number")

// Bindings records which phone number reaches a conversation's user, so
// sms_fallback can text them while their platform is down. It lives in
// hotline_bindings, which has no TTL: a binding lasts until unbind, even
// when the conversation's session has expired. Safe for concurrent use.
type Bindings struct {
	kv  jetstream.KeyValue
	now func() time.Time
}

// binding is the stored value; JSON so that nats kv get shows it.
type binding struct {
	Phone   string    `json:"phone"`
	BoundAt time.Time `json:"bound_at"`
}

// NewBindings returns bindings kept in kv (the hotline_bindings bucket).
func NewBindings(kv jetstream.KeyValue) *Bindings {
	return &Bindings{kv: kv, now: time.Now}
}

// bindingKey makes a KV key of a conversation key, whose user part may hold
// characters KV keys do not allow.
func bindingKey(conversation string) string {
	return "b." + base64.RawURLEncoding.EncodeToString([]byte(conversation))
}

// Bind records phone (E.164, "+8613800138000") for conversation,
// replacing an earlier number.
func (b *Bindings) Bind(ctx context.Context, conversation, phone string) error {
	if conversation == "" {
		return fmt.Errorf("fallback: bind: empty conversation")
	}
	if !validE164(phone) {
		return fmt.Errorf("%w: bind: %q", ErrBadPhone, redactPhone(phone))
	}
	data, err := json.Marshal(binding{Phone: phone, BoundAt: b.now().UTC()})
	if err != nil {
		return fmt.Errorf("fallback: bind: encode: %w", err)
	}
	if _, err := b.kv.Put(ctx, bindingKey(conversation), data); err != nil {
		return fmt.Errorf("fallback: bind: %w", err)
	}
	return nil
}

// Unbind forgets conversation's phone; forgetting an unbound one is not an
// error.
func (b *Bindings) Unbind(ctx context.Context, conversation string) error {
	err := b.kv.Delete(ctx, bindingKey(conversation))
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("fallback: unbind: %w", err)
	}
	return nil
}

// Phone returns conversation's bound phone; ok is false when there is none.
func (b *Bindings) Phone(ctx context.Context, conversation string) (phone string, ok bool, err error) {
	e, err := b.kv.Get(ctx, bindingKey(conversation))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("fallback: phone: %w", err)
	}
	var v binding
	if err := json.Unmarshal(e.Value(), &v); err != nil || !validE164(v.Phone) {
		return "", false, fmt.Errorf("fallback: phone: unreadable binding at revision %d", e.Revision())
	}
	return v.Phone, true, nil
}

// validE164 checks the E.164 shape: '+', a country code not starting with
// 0, at most 15 digits in all. Parsing national formats is the SMS
// adapter's job (it knows the account's region).
func validE164(p string) bool {
	if len(p) < 8 || len(p) > 16 || p[0] != '+' || p[1] == '0' {
		return false
	}
	for i := 1; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

// redactPhone keeps the last two digits, so logs and errors can tell
// numbers apart without holding them.
func redactPhone(p string) string {
	if len(p) <= 2 {
		return "**"
	}
	return "***" + p[len(p)-2:]
}
