package outbound

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies a failed send. The adapter decides it, once, where it
// understands the platform's answer; the loop acts on it.
type Kind int

// Kinds of send failure.
const (
	// Retryable failures (5xx, timeouts, HTML error pages) are tried
	// again with backoff and count against the circuit breaker.
	Retryable Kind = iota
	// Throttled failures (429, "too many requests") are tried again
	// after the platform's retry-after; the platform is up, so they do
	// not trip the breaker.
	Throttled
	// Permanent failures (bad recipient, blocked, opted out, outside the
	// platform's reply window) go to dead letters at once.
	Permanent
)

func (k Kind) String() string {
	switch k {
	case Throttled:
		return "throttled"
	case Permanent:
		return "permanent"
	}
	return "retryable"
}

// SendError is what a Sender returns when a platform refused a reply.
// Errors that are not a *SendError count as Retryable.
type SendError struct {
	Kind       Kind
	RetryAfter time.Duration // from the platform, when it said
	Reason     string        // short and stable: "blocked", "bad_recipient", "window_closed", "http_503"
	Err        error
}

func (e *SendError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("%s: %s", e.Kind, e.Reason)
	}
	return fmt.Sprintf("%s: %s: %v", e.Kind, e.Reason, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// ReasonWindowClosed is the Reason of a permanent failure because the
// platform no longer lets us write to the user (the customer-service
// window of a platform that has one has closed; docs/protocols.md). Such a reply goes by SMS instead when sms_fallback is
// on for the account and the user has a bound phone.
const ReasonWindowClosed = "window_closed"

// RetryableError builds a retryable SendError.
func RetryableError(reason string, err error) error {
	return &SendError{Kind: Retryable, Reason: reason, Err: err}
}

// ThrottledError builds a throttled SendError honouring retryAfter.
func ThrottledError(reason string, retryAfter time.Duration, err error) error {
	return &SendError{Kind: Throttled, Reason: reason, RetryAfter: retryAfter, Err: err}
}

// PermanentError builds a permanent SendError.
func PermanentError(reason string, err error) error {
	return &SendError{Kind: Permanent, Reason: reason, Err: err}
}

// classify returns err as a SendError, treating anything unclassified as
// retryable: a transport error is worth another try.
func classify(err error) *SendError {
	var se *SendError
	if errors.As(err, &se) {
		return se
	}
	return &SendError{Kind: Retryable, Reason: "error", Err: err}
}
