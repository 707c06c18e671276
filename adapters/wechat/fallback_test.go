package wechat

import (
	"context"
	"strings"
	"testing"

	"hotline/bus"
	"hotline/bus/bustest"
	"hotline/envelope"
)

// TestWindowClosedGoesBySMS: a reply WeChat refuses with 45015 (outside
// the 48-hour window) is rerouted to the SMS account when sms_fallback
// is on and the user has a bound phone. The fallback is engaged
// automatically, which lets the loop try WeChat first (its circuit is
// closed) and reroute only when WeChat refuses.
func TestWindowClosedGoesBySMS(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gatewayOpts{modes: true})
	ctx := context.Background()
	user := newUser()
	rep := testReply(user, "您的退款已到账。")
	const phone = "+8613800138000"
	if err := g.bindings.Bind(ctx, rep.Conversation, phone); err != nil {
		t.Fatal(err)
	}
	if err := g.modes.EngageAuto(ctx, "wechat", testAccount, "WeChat failing"); err != nil {
		t.Fatal(err)
	}
	bustest.WaitFor(t, "sms_fallback in force", func() bool { on, auto := g.modes.SMSFallback("wechat", testAccount); return on && auto })
	g.api.fail(failure{200, `{"errcode":45015,"errmsg":"response out of time limit or subscription is canceled"}`})
	if _, err := g.b.PublishReply(ctx, &rep); err != nil {
		t.Fatal(err)
	}
	var sms envelope.Reply
	bustest.WaitFor(t, "the SMS copy", func() bool {
		out := bustest.Messages(t, g.b, bus.StreamOut, "hotline.out.sms."+smsAccount)
		return len(out) == 1 && envelope.Decode(out[0], &sms) == nil
	})
	if sms.To.Phone != phone || !strings.Contains(sms.Text, rep.Text) || sms.Rerouted != "wechat/"+testAccount {
		t.Fatalf("SMS copy: got to %s %q rerouted %q, want the reply to the bound phone", sms.To.Phone, sms.Text, sms.Rerouted)
	}
	bustest.WaitFor(t, "the SMS sent", func() bool { sent, _ := g.smsTo(t, phone); return len(sent) == 1 })
	if sent, _ := g.smsTo(t, phone); sent[0] != "[WeChat] "+rep.Text {
		t.Fatalf("SMS sent %q, want the reply prefixed with the channel", sent[0])
	}
	if got := g.api.sentTo(user); len(got) != 0 {
		t.Fatalf("WeChat also delivered %q", got)
	}
}
