package envelope

import (
	"errors"
	"fmt"
)

// Subject tokens of the built-in platforms, kept for logs and tests. They
// are not the list of platforms: each platform's descriptor
// (platform.Platform.Name) is the authority, and a platform added in its
// own package needs no constant here.
const (
	PlatformWeChat   = "wechat"
	PlatformWeibo    = "weibo"
	PlatformTelegram = "telegram"
	PlatformSMS      = "sms"
	PlatformWebChat  = "webchat"
)

// Priorities of a handoff, most urgent first.
const (
	P1 Priority = "p1"
	P2 Priority = "p2"
	P3 Priority = "p3"
)

// Priority says how urgently a human must answer a handoff.
type Priority string

// Valid reports whether p is P1, P2 or P3.
func (p Priority) Valid() bool { return p == P1 || p == P2 || p == P3 }

// Subjects and their wildcards. Each stream owns one subject tree.
const (
	SubjectInAll      = "hotline.in.>"
	SubjectOutAll     = "hotline.out.>"
	SubjectHandoffAll = "hotline.handoff.>"
	SubjectReview     = "hotline.review"
	SubjectStatusAll  = "hotline.status.>"
	SubjectDead       = "hotline.dead"
	SubjectAudit      = "hotline.audit"
)

// MaxTokenLen bounds account and platform names. NATS itself has no such
// limit, but a name that long is a mistake, and KV keys and consumer names
// are built from these tokens.
const MaxTokenLen = 64

// ErrBadToken is returned for a platform or account name that is not a safe
// subject token.
var ErrBadToken = errors.New("envelope: not a safe subject token")

// ValidToken checks that s can stand as one NATS subject token and as part
// of a durable consumer name or KV key: 1 to 64 characters of ASCII letters,
// digits, '-' and '_'. Dots, spaces and wildcards would change the subject's
// meaning, so they are refused rather than escaped.
func ValidToken(s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty", ErrBadToken)
	}
	if len(s) > MaxTokenLen {
		return fmt.Errorf("%w: %d characters, at most %d", ErrBadToken, len(s), MaxTokenLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return fmt.Errorf("%w: %q has %q at %d (allowed: letters, digits, - and _)", ErrBadToken, s, c, i)
		}
	}
	return nil
}

func pairSubject(kind, platform, account string) (string, error) {
	if err := ValidToken(platform); err != nil {
		return "", fmt.Errorf("%s subject: platform: %w", kind, err)
	}
	if err := ValidToken(account); err != nil {
		return "", fmt.Errorf("%s subject: account: %w", kind, err)
	}
	return "hotline." + kind + "." + platform + "." + account, nil
}

// InSubject is where adapters publish what platform/account received:
// hotline.in.<platform>.<account>.
func InSubject(platform, account string) (string, error) {
	return pairSubject("in", platform, account)
}

// OutSubject is where replies for platform/account wait for delivery:
// hotline.out.<platform>.<account>.
func OutSubject(platform, account string) (string, error) {
	return pairSubject("out", platform, account)
}

// StatusSubject carries delivery status events of platform/account:
// hotline.status.<platform>.<account>.
func StatusSubject(platform, account string) (string, error) {
	return pairSubject("status", platform, account)
}

// HandoffSubject is the agents' queue for priority p: hotline.handoff.<p>.
func HandoffSubject(p Priority) (string, error) {
	if !p.Valid() {
		return "", fmt.Errorf("handoff subject: priority %q is not p1, p2 or p3", string(p))
	}
	return "hotline.handoff." + string(p), nil
}

// ConversationKey is the key of one user's conversation with one account:
// platform:account:user. The user part is the platform's own user id and
// may hold any character except a newline.
func ConversationKey(platform, account, user string) string {
	return platform + ":" + account + ":" + user
}
