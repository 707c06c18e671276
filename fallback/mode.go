package fallback

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"hotline/envelope"
)

// Modes operators can switch on. A mode name is also the first part of its
// hotline_modes key, so it only uses characters KV keys allow.
const (
	ModeReadOnly     = "read_only"
	ModeRateLimited  = "rate_limited"
	ModeReviewFirst  = "review_first"
	ModeSMSFallback  = "sms_fallback"
	ModeAnnouncement = "announcement"
)

// Modes lists every mode in a stable order.
func Modes() []string {
	return []string{ModeReadOnly, ModeRateLimited, ModeReviewFirst, ModeSMSFallback, ModeAnnouncement}
}

// KnownMode reports whether mode is one of Modes.
func KnownMode(mode string) bool {
	switch mode {
	case ModeReadOnly, ModeRateLimited, ModeReviewFirst, ModeSMSFallback, ModeAnnouncement:
		return true
	}
	return false
}

// SetByAuto is the SetBy of settings hotline makes by itself (health-driven
// sms_fallback). Operators' settings always win over these.
const SetByAuto = "auto"

// Limits on what a setting may carry: enough for a paragraph per language,
// small enough that the whole bucket stays a few kilobytes.
const (
	maxReasonLen   = 1000
	maxSetByLen    = 128
	maxAnnounceLen = 4000
	maxLanguages   = 32
)

// ErrInvalid is matched (errors.Is) by every *InvalidError.
var ErrInvalid = errors.New("fallback: invalid")

// InvalidError says which field of a setting or request is wrong. Msg names
// the field first ("scope \"sms/modem.1\": account: ..."), so it can be
// shown to an operator as it is.
type InvalidError struct {
	Field string
	Msg   string
	Err   error // the underlying cause, if any
}

// Error returns Msg behind the package prefix.
func (e *InvalidError) Error() string { return "fallback: " + e.Msg }

// Unwrap returns the underlying cause.
func (e *InvalidError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrInvalid) hold for every InvalidError.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) *InvalidError {
	return &InvalidError{Field: field, Msg: field + ": " + fmt.Sprintf(format, args...)}
}

// Scope is where a setting applies: everywhere (the zero value), one
// platform, or one account of a platform.
type Scope struct {
	Platform string // empty: global
	Account  string // empty: the whole platform
}

// Global is the scope that covers every platform and account.
var Global = Scope{}

// scopeGlobal is how the global scope is written.
const scopeGlobal = "global"

// ParseScope reads "global", "<platform>" or "<platform>/<account>". Both
// parts must be safe subject tokens, because they end up in KV keys and
// subjects. Whether this gateway runs the platform or account is not known
// here: the admin API checks that before it sets a mode.
func ParseScope(s string) (Scope, error) {
	if s == "" {
		return Scope{}, invalid("scope", `required ("global", a platform such as "sms", or "sms/modem-1")`)
	}
	if s == scopeGlobal {
		return Global, nil
	}
	platform, account, hasAccount := strings.Cut(s, "/")
	if err := envelope.ValidToken(platform); err != nil {
		return Scope{}, &InvalidError{Field: "scope", Msg: fmt.Sprintf("scope %q: platform: %v", s, err), Err: err}
	}
	if platform == scopeGlobal {
		// A platform named so would share the global scope's string and
		// KV key.
		return Scope{}, &InvalidError{Field: "scope", Msg: fmt.Sprintf("scope %q: platform: %q is reserved for the global scope", s, platform)}
	}
	sc := Scope{Platform: platform}
	if hasAccount {
		if err := envelope.ValidToken(account); err != nil {
			return Scope{}, &InvalidError{Field: "scope", Msg: fmt.Sprintf("scope %q: account: %v", s, err), Err: err}
		}
		sc.Account = account
	}
	return sc, nil
}

// String writes the scope the way ParseScope reads it.
func (s Scope) String() string {
	switch {
	case s.Platform == "":
		return scopeGlobal
	case s.Account == "":
		return s.Platform
	default:
		return s.Platform + "/" + s.Account
	}
}

// IsGlobal reports whether s covers everything.
func (s Scope) IsGlobal() bool { return s.Platform == "" }

// validate checks a Scope built in code rather than parsed.
func (s Scope) validate() error {
	if s.Platform == "" && s.Account != "" {
		return invalid("scope", "account %q without a platform", s.Account)
	}
	if s.Platform == "" {
		return nil
	}
	got, err := ParseScope(s.String())
	if err != nil {
		return err
	}
	if got != s {
		return invalid("scope", "platform %q is reserved for the global scope", s.Platform)
	}
	return nil
}

// MarshalText writes the scope as a string ("sms/modem-1").
func (s Scope) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a scope with ParseScope.
func (s *Scope) UnmarshalText(b []byte) error {
	sc, err := ParseScope(string(b))
	if err != nil {
		return err
	}
	*s = sc
	return nil
}

// keyPart is the scope as it appears in a KV key: slashes are not allowed
// there, dots are, and tokens never contain dots.
func (s Scope) keyPart() string {
	if s.Platform == "" {
		return scopeGlobal
	}
	if s.Account == "" {
		return s.Platform
	}
	return s.Platform + "." + s.Account
}

// modeKey is the hotline_modes key of one mode in one scope.
func modeKey(mode string, s Scope) string {
	return mode + "." + s.keyPart()
}

// parseModeKey splits a key made by modeKey, for metric labels of keys
// whose value is gone.
func parseModeKey(key string) (mode, scope string) {
	mode, rest, _ := strings.Cut(key, ".")
	return mode, strings.Replace(rest, ".", "/", 1)
}

// Setting is one mode switched on in one scope.
type Setting struct {
	Mode   string    `json:"mode"`
	Scope  Scope     `json:"scope"`
	Reason string    `json:"reason"`
	SetBy  string    `json:"set_by"`
	SetAt  time.Time `json:"set_at"`
	// ExpiresAt switches the setting off by itself; zero means never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Announce is text per language (BCP 47 code: "zh", "en", "pt-BR").
	// The announcement mode needs at least one; any mode's text is what
	// users are told of it (STATUS, the first reply after it starts, the
	// banner of a channel the gateway serves itself).
	Announce map[string]string `json:"announce,omitempty"`
}

// Auto reports whether hotline set this itself rather than an operator.
func (s *Setting) Auto() bool { return s.SetBy == SetByAuto }

// Expired reports whether the setting has run out at now.
func (s *Setting) Expired(now time.Time) bool {
	return !s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt)
}

func (s *Setting) key() string { return modeKey(s.Mode, s.Scope) }

// validate reports the first wrong field of a setting about to be stored.
func (s *Setting) validate(now time.Time) error {
	if !KnownMode(s.Mode) {
		return unknownMode(s.Mode)
	}
	if err := s.Scope.validate(); err != nil {
		return err
	}
	if err := validText("reason", s.Reason, maxReasonLen); err != nil {
		return err
	}
	if err := validBy("set_by", s.SetBy); err != nil {
		return err
	}
	if !s.ExpiresAt.IsZero() && !s.ExpiresAt.After(now) {
		return invalid("expires_at", "%s is not in the future", s.ExpiresAt.Format(time.RFC3339))
	}
	if len(s.Announce) > maxLanguages {
		return invalid("announce", "%d languages, at most %d", len(s.Announce), maxLanguages)
	}
	for lang, text := range s.Announce {
		if !validLang(lang) {
			return invalid("announce", "%q is not a language code (BCP 47, e.g. \"zh\", \"en\", \"pt-BR\")", lang)
		}
		if err := validText("announce."+lang, text, maxAnnounceLen); err != nil {
			return err
		}
	}
	if s.Mode == ModeAnnouncement && len(s.Announce) == 0 {
		return invalid("announce", "the announcement mode needs text in at least one language")
	}
	return nil
}

func unknownMode(mode string) *InvalidError {
	return invalid("mode", "unknown mode %q (known: %s)", mode, strings.Join(Modes(), ", "))
}

func validText(field, s string, maxLen int) error {
	if strings.TrimSpace(s) == "" {
		return invalid(field, "required")
	}
	if len(s) > maxLen {
		return invalid(field, "%d bytes, at most %d", len(s), maxLen)
	}
	if !utf8.ValidString(s) {
		return invalid(field, "not valid UTF-8")
	}
	return nil
}

// validBy checks who made a change; it goes into logs and the audit
// trail, so control characters are refused.
func validBy(field, by string) error {
	if err := validText(field, by, maxSetByLen); err != nil {
		return err
	}
	for _, r := range by {
		if r < ' ' || r == 0x7f {
			return invalid(field, "control character %U", r)
		}
	}
	return nil
}

// validLang accepts the shape of a BCP 47 tag: letter subtags of 2 to 8
// characters joined by '-'. It does not check the registry; the router
// falls back to its default language for codes it has no text for.
func validLang(tag string) bool {
	if tag == "" || len(tag) > 35 {
		return false
	}
	for i, sub := range strings.Split(tag, "-") {
		if len(sub) < 1 || len(sub) > 8 || (i == 0 && len(sub) < 2) {
			return false
		}
		for j := 0; j < len(sub); j++ {
			c := sub[j]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}
