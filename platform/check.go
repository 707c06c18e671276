package platform

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"hotline/envelope"
)

// Problems collects what is wrong with an account's settings, one error
// per key, for Config.Validate.
type Problems struct{ errs []error }

// Add records a problem with key.
func (p *Problems) Add(key, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

// Required records key as missing unless set.
func (p *Problems) Required(key string, set bool) {
	if !set {
		p.Add(key, "required")
	}
}

// Err joins the problems; nil when there are none.
func (p *Problems) Err() error { return errors.Join(p.errs...) }

// Name checks an account name (key "name"): a subject token.
func (p *Problems) Name(name string) {
	if err := envelope.ValidToken(name); err != nil {
		p.errs = append(p.errs, fmt.Errorf("name: %w", err))
	}
}

// URL checks an optional absolute http(s) URL.
func (p *Problems) URL(key, raw string) {
	if raw == "" {
		return
	}
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		p.Add(key, "%q is not an absolute http(s) URL", raw)
	}
}

// PassiveTimeout is how long the platforms that take a reply in the
// webhook's response wait for it before they give up (docs/protocols.md).
const PassiveTimeout = 5 * time.Second

// ReplyWindow checks reply_window: how long a webhook waits for the
// router's answer must stay under the platform's own timeout.
func (p *Problems) ReplyWindow(d time.Duration) {
	if d < 0 || d >= PassiveTimeout {
		p.Add("reply_window", "%s must be under 5s (the platform stops waiting at 5s)", d)
	}
}

// DuplicateWindow is how long the streams remember a message id; a
// replay window longer than it would let a replayed push in twice.
const DuplicateWindow = 5 * time.Minute

// ReplayWindow checks replay_window: how old a signed timestamp may be.
func (p *Problems) ReplayWindow(d time.Duration) {
	if d < 0 {
		p.Add("replay_window", "must not be negative (0 turns the check off)")
	}
	if d > DuplicateWindow {
		p.Add("replay_window", "%s is longer than the 5m duplicate window: a replayed push could be stored twice", d)
	}
}

// Region checks default_region: empty, or an ISO 3166 code in capitals.
func (p *Problems) Region(r string) {
	if r != "" && (len(r) != 2 || strings.ToUpper(r) != r) {
		p.Add("default_region", "%q is not an ISO 3166 code such as CN", r)
	}
}

// SendRate checks send_rate.
func (p *Problems) SendRate(r float64) {
	if r < 0 {
		p.Add("send_rate", "must not be negative (0 takes the platform's limit)")
	}
}

// Prefixed returns err's problems each prefixed ("<platform> <account>: ")
// for an error a constructor returns.
func Prefixed(prefix string, err error) error {
	if err == nil {
		return nil
	}
	var out []error
	for _, e := range Split(err) {
		out = append(out, fmt.Errorf("%s%w", prefix, e))
	}
	return errors.Join(out...)
}

// Split returns the errors errors.Join put together, or err alone.
func Split(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
