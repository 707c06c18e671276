package envelope

// Secret is a string that never prints itself. Tokens, app secrets, AES
// keys and auth tokens are held as Secret from the moment config is read,
// so a config dump, a %v in an error or a slog attribute shows "[redacted]"
// instead of the value. It lives here, in the package everyone imports,
// so adapters can keep credentials in the same type without importing
// config.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret's value, for the one place that must send it
// to a platform.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether no secret is set.
func (s Secret) IsZero() bool { return s == "" }

// String implements fmt.Stringer with the redacted form.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return `envelope.Secret("` + s.String() + `")` }

// MarshalText keeps JSON, YAML and slog's JSON handler from printing the
// value; a Secret marshals as "[redacted]".
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
