package modem

import (
	"context"
	"strings"
	"time"

	"hotline/adapters/sms"
	"hotline/envelope"
	"hotline/platform"
)

// Provider is the provider key of a modem entry in accounts.sms.
const Provider = "modem"

// Config is one GSM modem as hotline uses it: an entry of accounts.sms
// with provider: modem, whose keys are the mapstructure tags.
type Config struct {
	Account  string `mapstructure:"name"`
	Provider string `mapstructure:"provider"`
	// Device is the modem's serial port. Prefer a stable name such as
	// /dev/serial/by-id/usb-...-if02-port0: a USB modem that resets comes
	// back as another ttyUSB number.
	Device string `mapstructure:"device"`
	// Baud is the port speed; USB modems ignore it, a real UART does not.
	Baud int `mapstructure:"baud"`
	// PIN unlocks the SIM when it asks. It is tried once per start: a
	// wrong PIN is never tried again, since three wrong tries lock the
	// SIM until its PUK is entered.
	PIN envelope.Secret `mapstructure:"pin"`
	// SMSC overrides the SIM's service centre (E.164); empty keeps it.
	SMSC string `mapstructure:"smsc"`
	// DefaultRegion (ISO 3166, "CN") reads senders written without a
	// country code.
	DefaultRegion string `mapstructure:"default_region"`
	// Memory is where the modem stores messages: SM (the SIM, the
	// default: survives a power cut and a new modem), ME or MT.
	Memory string `mapstructure:"memory"`
	// StatusReports asks the network for delivery reports.
	StatusReports bool `mapstructure:"status_reports"`
	// PartsTimeout is how long the parts of a long message wait for the
	// missing ones before what arrived is passed on, marked incomplete.
	PartsTimeout time.Duration `mapstructure:"parts_timeout"`
	// SendRate caps sends per second; 0 takes the platform's limit.
	SendRate float64 `mapstructure:"send_rate"`
	// Poll is how often the modem is asked for signal, registration and
	// messages it did not announce.
	Poll time.Duration `mapstructure:"poll"`
}

// Defaults of a modem entry.
const (
	defaultBaud         = 115200
	defaultPartsTimeout = 5 * time.Minute
	defaultPoll         = 30 * time.Second
)

// Validate reports every setting that is wrong, each starting with its key.
func (c *Config) Validate() error {
	var p platform.Problems
	p.Name(c.Account)
	if c.Provider != "" && c.Provider != Provider {
		p.Add("provider", "%q is not %s", c.Provider, Provider)
	}
	p.Required("device", c.Device != "")
	if c.Baud < 0 {
		p.Add("baud", "%d must be positive (0 takes %d)", c.Baud, defaultBaud)
	}
	if pin := c.PIN.Reveal(); pin != "" && (len(pin) < 4 || len(pin) > 8 || strings.Trim(pin, "0123456789") != "") {
		p.Add("pin", "must be 4 to 8 digits")
	}
	if c.SMSC != "" {
		if _, err := sms.Normalize(c.SMSC, ""); err != nil {
			p.Add("smsc", "%q is not an E.164 number such as +8613800100500", c.SMSC)
		}
	}
	p.Region(c.DefaultRegion)
	switch c.Memory {
	case "", "SM", "ME", "MT":
	default:
		p.Add("memory", "%q is not SM, ME or MT", c.Memory)
	}
	if c.PartsTimeout < 0 {
		p.Add("parts_timeout", "must not be negative")
	}
	if c.Poll < 0 {
		p.Add("poll", "must not be negative")
	}
	p.SendRate(c.SendRate)
	return p.Err()
}

// withDefaults fills what the entry left out.
func (c Config) withDefaults() Config {
	if c.Baud == 0 {
		c.Baud = defaultBaud
	}
	if c.Memory == "" {
		c.Memory = "SM"
	}
	if c.PartsTimeout <= 0 {
		c.PartsTimeout = defaultPartsTimeout
	}
	if c.Poll <= 0 {
		c.Poll = defaultPoll
	}
	return c
}

// AccountName is the account's name in hotline.
func (c *Config) AccountName() string { return c.Account }

// AccountSendRate is the configured send_rate (0: the platform's limit).
func (c *Config) AccountSendRate() float64 { return c.SendRate }

// Region is the account's default_region.
func (c *Config) Region() string { return c.DefaultRegion }

// Platform describes the modem to the gateway: accounts.sms entries with
// provider: modem are Config, each opened as an Adapter on the sms
// platform. The device is on this host, so its delivery loop runs here
// (Attached) rather than wherever the cluster would put it.
func Platform() platform.Platform {
	return platform.Platform{
		Name:     envelope.PlatformSMS,
		Provider: Provider,
		Label:    "SMS",
		Section:  "accounts.sms",
		Attached: true,
		// A modem sends one PDU at a time, each taking the network a
		// second or more; the limit only keeps a burst from queueing in
		// the modem, where it could not be retried.
		Limits: platform.Limits{PerSecond: 1, Burst: 3, PerRecipient: 1, RecipientBurst: 3},
		NewConfig: func() platform.Config {
			return &Config{Provider: Provider, Baud: defaultBaud, Memory: "SM", StatusReports: true,
				PartsTimeout: defaultPartsTimeout, Poll: defaultPoll}
		},
		Open: platform.Opener("modem", func(ctx context.Context, env platform.Env, cfg *Config) (platform.Sender, error) {
			return New(ctx, *cfg, Deps{Bus: env.Bus, Logger: env.Logger, Registry: env.Registry})
		}),
	}
}

var (
	_ platform.Sender   = (*Adapter)(nil)
	_ platform.Runner   = (*Adapter)(nil)
	_ platform.Readier  = (*Adapter)(nil)
	_ platform.Regional = (*Config)(nil)
)
