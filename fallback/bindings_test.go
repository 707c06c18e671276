package fallback

import (
	"context"
	"errors"
	"testing"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
)

func TestBindingsRoundTrip(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	kv := b.KV(bus.BucketBindings)
	bind := NewBindings(kv)
	ctx := context.Background()
	// A conversation key may hold characters KV keys do not allow.
	conv := envelope.ConversationKey("wechat", "oa-main", "o6_bmjrPTlm6_2sgVt7hMZOPfL2M/+=")
	other := envelope.ConversationKey("telegram", "tg-main", "42")

	if _, ok, err := bind.Phone(ctx, conv); err != nil || ok {
		t.Fatalf("Phone before Bind: got ok %v, err %v, want false, nil", ok, err)
	}
	steps := []struct {
		name  string
		do    func() error
		want  string // "" means unbound
		other string
	}{
		{"bind", func() error { return bind.Bind(ctx, conv, "+8613800138000") }, "+8613800138000", ""},
		{"bind another", func() error { return bind.Bind(ctx, other, "+15550100") }, "+8613800138000", "+15550100"},
		{"rebind", func() error { return bind.Bind(ctx, conv, "+447911123456") }, "+447911123456", "+15550100"},
		{"unbind", func() error { return bind.Unbind(ctx, conv) }, "", "+15550100"},
		{"unbind again", func() error { return bind.Unbind(ctx, conv) }, "", "+15550100"},
		{"unbind never bound", func() error { return bind.Unbind(ctx, "sms:sms-main:+15550199") }, "", "+15550100"},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		for c, want := range map[string]string{conv: st.want, other: st.other} {
			phone, ok, err := bind.Phone(ctx, c)
			if err != nil || ok != (want != "") || phone != want {
				t.Errorf("%s: Phone(%s): got %q, %v, %v, want %q", st.name, c, phone, ok, err, want)
			}
		}
	}
	// The router's session keys in the same bucket are untouched.
	if _, err := kv.Get(ctx, "c.x"); err == nil {
		t.Errorf("unexpected key c.x")
	}
}

func TestBindRefusesBadPhones(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	bind := NewBindings(b.KV(bus.BucketBindings))
	for _, phone := range []string{"", "13800138000", "+0123456789", "+86 138 0013 8000", "+123456", "+1234567890123456", "+86１３８００１３８０００"} {
		err := bind.Bind(context.Background(), "sms:sms-main:x", phone)
		if !errors.Is(err, ErrBadPhone) {
			t.Errorf("Bind(%q): got %v, want ErrBadPhone", phone, err)
		}
	}
	if err := bind.Bind(context.Background(), "", "+15550100"); err == nil {
		t.Errorf("Bind with no conversation: got nil, want an error")
	}
}
