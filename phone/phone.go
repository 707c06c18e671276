// Package phone normalizes phone numbers to E.164 with libphonenumber.
// The router (binding a phone) and every SMS channel share it, so a
// number means the same everywhere.
package phone

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// ErrNoRegion is returned for a national-format number when the account
// has no default region: guessing the country is how messages reach the
// wrong person (0415… is a valid number in China and in Australia).
var ErrNoRegion = errors.New("phone: national number and no default region")

// ErrBadNumber is returned for anything that is not a valid phone number.
var ErrBadNumber = errors.New("phone: not a valid phone number")

// Normalize returns raw as an E.164 number. A number without + is read in
// region (ISO 3166, e.g. "CN"); with no region it is an error.
func Normalize(raw, region string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", fmt.Errorf("%w: empty", ErrBadNumber)
	}
	if !strings.HasPrefix(raw, "+") {
		if region == "" {
			return "", fmt.Errorf("%w: %q", ErrNoRegion, raw)
		}
		if strings.HasPrefix(raw, "00") {
			raw = "+" + raw[2:]
		}
	}
	num, err := phonenumbers.Parse(raw, strings.ToUpper(region))
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadNumber, raw, err)
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("%w: %q", ErrBadNumber, raw)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// Region returns the country (ISO 3166, "CN") an E.164 number belongs to,
// or "" when it cannot tell.
func Region(e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return ""
	}
	return phonenumbers.GetRegionCodeForNumber(num)
}
