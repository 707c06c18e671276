package envelope

import (
	"errors"
	"testing"
)

func TestSubjects(t *testing.T) {
	tests := []struct {
		name string
		fn   func() (string, error)
		want string
	}{
		{"in", func() (string, error) { return InSubject("wechat", "oa-main") }, "hotline.in.wechat.oa-main"},
		{"out", func() (string, error) { return OutSubject("sms", "sms_main") }, "hotline.out.sms.sms_main"},
		{"status", func() (string, error) { return StatusSubject("telegram", "tg1") }, "hotline.status.telegram.tg1"},
		{"handoff", func() (string, error) { return HandoffSubject(P1) }, "hotline.handoff.p1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.fn()
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestUnsafeAccountsRefused(t *testing.T) {
	for _, account := range []string{"", "a.b", "a b", "*", ">", "oa>", "a\tb", "账号", string(make([]byte, 65))} {
		if _, err := InSubject("wechat", account); !errors.Is(err, ErrBadToken) {
			t.Errorf("InSubject(wechat, %q) error = %v, want ErrBadToken", account, err)
		}
	}
	if _, err := HandoffSubject("p4"); err == nil {
		t.Error("HandoffSubject(p4) succeeded, want error")
	}
}
