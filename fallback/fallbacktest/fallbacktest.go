// Package fallbacktest gives an adapter's test gateway the SMS account
// degraded modes reroute to, sending through a fake provider.
package fallbacktest

import (
	"testing"

	"hotline/config"
	"hotline/envelope"
	"hotline/outbound/outboundtest"
	"hotline/platform/platformtest"
)

// SMSAccount is the SMS account replies are rerouted to: the
// fallback.sms_account of config.Default.
const SMSAccount = "sms-main"

// SMS returns the SMS account SMSAccount, for config.Config.Accounts,
// and the fake provider its delivery loop sends through.
func SMS(t testing.TB) (config.Account, *outboundtest.Platform) {
	t.Helper()
	provider := outboundtest.NewPlatform(t)
	p := platformtest.Fake(envelope.PlatformSMS, "fake", "SMS", provider.Sender())
	return platformtest.Account(p, SMSAccount), provider
}
