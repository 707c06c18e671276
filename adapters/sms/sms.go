// Package sms is the core every SMS channel shares (the HTTP providers and
// the GSM modem): phone numbers in E.164, the carriers' opt-out keywords,
// the opt-out store, and an inbound rate limit per number. Segmenting text
// into SMS parts lives in the gsm subpackage.
package sms

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"hotline/bus"
	"hotline/phone"
)

// Normalize returns raw as an E.164 number; see phone.Normalize.
func Normalize(raw, region string) (string, error) { return phone.Normalize(raw, region) }

// Errors of Normalize, kept here so SMS code need not import phone.
var (
	ErrNoRegion  = phone.ErrNoRegion
	ErrBadNumber = phone.ErrBadNumber
)

// Keyword is a carrier keyword a user texted.
type Keyword string

// Carrier keywords.
const (
	KeywordNone  Keyword = ""
	KeywordStop  Keyword = "stop"
	KeywordStart Keyword = "start"
	KeywordHelp  Keyword = "help"
)

// The words carriers and providers act on (SMS providers' default opt-out
// keywords, CTIA guidance, and 退订/TD used on Chinese short codes). Only
// the exact single word counts: "stop texting me" is a message, not an
// opt-out.
var keywords = map[string]Keyword{
	"stop": KeywordStop, "stopall": KeywordStop, "unsubscribe": KeywordStop, "cancel": KeywordStop,
	"end": KeywordStop, "quit": KeywordStop, "revoke": KeywordStop, "optout": KeywordStop,
	"退订": KeywordStop, "td": KeywordStop,
	"start": KeywordStart, "unstop": KeywordStart, "yes": KeywordStart,
	"help": KeywordHelp, "info": KeywordHelp,
}

// ParseKeyword recognizes a carrier keyword: the whole message, one word,
// any case, surrounding space and punctuation ignored.
func ParseKeyword(text string) Keyword {
	w := strings.ToLower(strings.Trim(strings.TrimSpace(text), ".!?。！？"))
	return keywords[w]
}

// keywordReplies answer STOP and START without waiting for anyone: an
// opt-out must be confirmed even when the router is down.
var keywordReplies = map[string]map[Keyword]string{
	"en": {
		KeywordStop:  "You're unsubscribed and will get no more messages from us. Reply START to subscribe again.",
		KeywordStart: "You're subscribed again. Reply HELP for help, STOP to unsubscribe.",
	},
	"zh": {
		KeywordStop:  "您已退订，将不再收到我们的短信。回复 START 可重新订阅。",
		KeywordStart: "您已重新订阅。回复 HELP 获取帮助，回复 STOP 退订。",
	},
}

// KeywordReply is the confirmation an SMS adapter sends at once for STOP
// or START (text is what the user sent: 退订 and TD are answered in
// Chinese), or "" for any other keyword.
func KeywordReply(text string, kw Keyword) string {
	lang := "en"
	if t := strings.TrimSpace(text); t == "退订" || strings.EqualFold(t, "td") {
		lang = "zh"
	}
	return keywordReplies[lang][kw]
}

// OptOuts keeps the opt-out list in hotline_optout, where every sender
// checks it (bus.SetOptOut and bus.OptedOut).
type OptOuts struct{ b *bus.Bus }

// NewOptOuts uses the bus's opt-out bucket.
func NewOptOuts(b *bus.Bus) OptOuts { return OptOuts{b: b} }

// Set opts the conversation out (true) or back in (false) because of a
// message of time at; a change older than the last one applied is dropped.
func (o OptOuts) Set(ctx context.Context, conversation string, out bool, at time.Time) error {
	if _, err := o.b.SetOptOut(ctx, conversation, out, at); err != nil {
		return fmt.Errorf("sms: %w", err)
	}
	return nil
}

// Has reports whether the conversation is opted out.
func (o OptOuts) Has(ctx context.Context, conversation string) (bool, error) {
	return o.b.OptedOut(ctx, conversation)
}

// InboundLimiter bounds how fast one number may text us. Over the limit
// a message is still stored (nothing is lost) but marked, so the router
// does not spend a reply on it: a runaway script or a flood cannot run up
// the SMS bill.
type InboundLimiter struct {
	every time.Duration
	burst int

	mu     sync.Mutex
	byNum  map[string]*limiterEntry
	pruned time.Time
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

// pruneAbove is the table size past which idle numbers are forgotten.
const pruneAbove = 10_000

// NewInboundLimiter allows one message per every on average, burst at once.
func NewInboundLimiter(every time.Duration, burst int) *InboundLimiter {
	return &InboundLimiter{every: every, burst: burst, byNum: map[string]*limiterEntry{}}
}

// Allow reports whether a message from number at now is within its limit.
//
// A number idle for every×burst has its whole burst back, so its entry
// is the same as none: those are forgotten, in one pass at most once per
// that interval and only past pruneAbove numbers, so the table holds the
// numbers of the last moments and a busy account does not scan it per
// message.
func (l *InboundLimiter) Allow(number string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	refill := l.every * time.Duration(max(1, l.burst))
	if len(l.byNum) > pruneAbove && now.Sub(l.pruned) >= refill {
		for k, e := range l.byNum {
			if now.Sub(e.seen) >= refill {
				delete(l.byNum, k)
			}
		}
		l.pruned = now
	}
	e, ok := l.byNum[number]
	if !ok {
		e = &limiterEntry{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.byNum[number] = e
	}
	e.seen = now
	return e.lim.AllowN(now, 1)
}
