package wechat

import (
	"context"
	"strings"
	"testing"
	"time"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
	"hotline/outbound"
)

// smsFallbackOn reports sms_fallback as engaged automatically, which
// lets the loop try WeChat first (its circuit is closed) and reroute only
// when WeChat refuses with 45015.
type smsFallbackOn struct{}

func (smsFallbackOn) SMSFallback(string, string) (bool, bool)                  { return true, true }
func (smsFallbackOn) EngageAuto(context.Context, string, string, string) error { return nil }
func (smsFallbackOn) ReleaseAuto(context.Context, string, string) error        { return nil }
func (smsFallbackOn) Changed() <-chan struct{}                                 { return nil }

type phoneBook map[string]string

func (p phoneBook) Phone(_ context.Context, conversation string) (string, bool, error) {
	ph, ok := p[conversation]
	return ph, ok, nil
}

// TestWindowClosedGoesBySMS: a reply WeChat refuses with 45015 (outside
// the 48-hour window) is rerouted to the SMS account when sms_fallback
// is on and the user has a bound phone.
func TestWindowClosedGoesBySMS(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	api := newFakeWeChat(t)
	a, err := New(testConfig(api.srv.URL, 0, 0), Deps{Bus: b})
	if err != nil {
		t.Fatal(err)
	}
	user := newUser()
	rep := testReply(user, "您的退款已到账。")
	loop, err := outbound.New(outbound.Config{Platform: "wechat", Account: testAccount, SMSAccount: "sms-main", Backoff: func(int) time.Duration { return 50 * time.Millisecond }},
		outbound.Deps{Bus: b, Sender: a, Modes: smsFallbackOn{}, Phones: phoneBook{rep.Conversation: "+8613800138000"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = loop.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	api.fail(failure{200, `{"errcode":45015,"errmsg":"response out of time limit or subscription is canceled"}`})
	if _, err := b.PublishReply(context.Background(), &rep); err != nil {
		t.Fatal(err)
	}
	var sms envelope.Reply
	bustest.WaitFor(t, "the SMS copy", func() bool {
		out := bustest.Messages(t, b, bus.StreamOut, "hotline.out.sms.sms-main")
		return len(out) == 1 && envelope.Decode(out[0], &sms) == nil
	})
	if sms.To.Phone != "+8613800138000" || !strings.Contains(sms.Text, rep.Text) || sms.Rerouted != "wechat/"+testAccount {
		t.Fatalf("SMS copy: got to %s %q rerouted %q, want the reply to the bound phone", sms.To.Phone, sms.Text, sms.Rerouted)
	}
	if got := api.sentTo(user); len(got) != 0 {
		t.Fatalf("WeChat also delivered %q", got)
	}
}
