// Package builtin is the list of platforms the hotline binary is built
// with: the one place a new platform is added (docs/adding-a-platform.md).
package builtin

import (
	"hotline/adapters/sms/modem"
	"hotline/adapters/sms/twilio"
	"hotline/adapters/telegram"
	"hotline/adapters/webchat"
	"hotline/adapters/wechat"
	"hotline/adapters/weibo"
	"hotline/platform"
)

// Platforms returns every built-in platform, in the order the console
// and the status report list them.
func Platforms() []platform.Platform {
	return []platform.Platform{
		wechat.Platform(),
		weibo.Platform(),
		telegram.Platform(),
		twilio.Platform(),
		modem.Platform(),
		webchat.Platform(),
	}
}
