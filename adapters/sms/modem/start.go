package modem

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"hotline/adapters/sms"
	"hotline/adapters/sms/modem/at"
)

// start brings a freshly opened modem to the state the adapter relies
// on: no echo, numeric errors, SIM unlocked, PDU mode, the configured
// memory for reading, writing and receiving, and every new message and
// status report announced by an indication. 3GPP TS 27.005 §3 and TS
// 27.007 §8 define the commands; docs/protocols.md §D.1 lists them in order.
func (a *Adapter) start(ctx context.Context, c *at.Conn) error {
	for _, cmd := range []string{"AT", "ATE0", "AT+CMEE=1"} {
		if _, err := c.Command(ctx, cmd); err != nil {
			return fmt.Errorf("modem: start: %s: %w", cmd, err)
		}
	}
	if err := a.unlock(ctx, c); err != nil {
		return err
	}
	// Service level 0: no +CNMA acknowledgements, which a modem left at
	// level 1 would wait for after each +CDS. Refused by a few modems
	// that have only one level; that is fine.
	if _, err := c.Command(ctx, "AT+CSMS=0"); portFailed(err) {
		return fmt.Errorf("modem: start: AT+CSMS=0: %w", err)
	}
	mem := a.cfg.Memory
	steps := []string{"AT+CMGF=0", fmt.Sprintf(`AT+CPMS="%s","%s","%s"`, mem, mem, mem)}
	if a.cfg.SMSC != "" {
		smsc, _ := sms.Normalize(a.cfg.SMSC, "") // Validate checked it
		steps = append(steps, fmt.Sprintf(`AT+CSCA="%s",145`, smsc))
	}
	for _, cmd := range steps {
		if _, err := c.Command(ctx, cmd); err != nil {
			return fmt.Errorf("modem: start: %s: %w", cmd, err)
		}
	}
	if err := a.indications(ctx, c); err != nil {
		return err
	}
	return a.checkHealth(ctx, c)
}

// cnmiChoices are the AT+CNMI settings tried in order: every received
// message stored and announced (+CMTI); status reports stored and
// announced (+CDSI), else sent whole (+CDS), else not at all. Modems
// differ in what they accept.
var cnmiChoices = []string{"AT+CNMI=2,1,0,2,0", "AT+CNMI=2,1,0,1,0", "AT+CNMI=2,1,0,0,0"}

func (a *Adapter) indications(ctx context.Context, c *at.Conn) error {
	var last error
	for i, cmd := range cnmiChoices {
		_, err := c.Command(ctx, cmd)
		if err == nil {
			if i == len(cnmiChoices)-1 && a.cfg.StatusReports {
				a.log.Warn("modem takes no status report indications; replies stay 'sent', never 'delivered'")
			}
			return nil
		}
		if portFailed(err) {
			return fmt.Errorf("modem: start: %s: %w", cmd, err)
		}
		last = err
	}
	// Without indications messages are still read at every poll.
	a.log.Warn("modem refuses new-message indications; messages are read at each poll only", "poll", a.cfg.Poll, "err", last)
	return nil
}

// simState is the answer to AT+CPIN? (TS 27.007 §8.3).
func simState(ctx context.Context, c *at.Conn) (string, error) {
	res, err := c.Command(ctx, "AT+CPIN?")
	if err != nil {
		return "", err
	}
	state, ok := res.Value("+CPIN")
	if !ok {
		return "", fmt.Errorf("modem: AT+CPIN? answered %q", res.Lines)
	}
	return strings.Trim(state, `"`), nil
}

// unlock makes sure the SIM is ready, entering the PIN once if it asks.
// A SIM that is busy (just powered) is asked again for a few seconds.
func (a *Adapter) unlock(ctx context.Context, c *at.Conn) error {
	state, err := a.waitSIM(ctx, c)
	if err != nil {
		return err
	}
	switch state {
	case "READY":
		return nil
	case "SIM PIN":
		if a.cfg.PIN.IsZero() {
			return &errStop{errors.New("modem: the SIM asks for its PIN and none is configured (pin)")}
		}
		// Once per adapter, whatever happens to the answer: a PIN whose
		// answer was lost (a timeout, the port failing) may have been
		// wrong, and a second try could be the third wrong one.
		if !a.pinTried.CompareAndSwap(false, true) {
			return &errStop{errors.New("modem: the SIM asks for its PIN again after hotline entered it once; " +
				"hotline does not try twice, since three wrong tries lock the SIM until its PUK is entered")}
		}
		// package at masks the PIN in its errors and logs.
		if _, err := c.Command(ctx, `AT+CPIN="`+a.cfg.PIN.Reveal()+`"`); err != nil {
			if portFailed(err) {
				return fmt.Errorf("modem: entering the PIN: %w", err)
			}
			return &errStop{fmt.Errorf("modem: the SIM refused the configured PIN (%s); hotline will not try it again, "+
				"since three wrong tries lock the SIM until its PUK is entered", describeRefusal(err))}
		}
		state, err = a.waitSIM(ctx, c)
		if err != nil {
			return err
		}
		if state != "READY" {
			return &errStop{fmt.Errorf("modem: the SIM is %q after its PIN was accepted", state)}
		}
		return nil
	case "SIM PUK", "SIM PUK2":
		return &errStop{fmt.Errorf("modem: the SIM is locked and asks for its PUK (%s): unlock it in a phone, then restart hotline", state)}
	}
	return &errStop{fmt.Errorf("modem: the SIM asks for %q, which hotline cannot give", state)}
}

// waitSIM asks AT+CPIN? until the SIM answers, for up to 20 s: a SIM
// just powered says "busy" (+CME ERROR: 14) for a while.
func (a *Adapter) waitSIM(ctx context.Context, c *at.Conn) (string, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		state, err := simState(ctx, c)
		if err == nil {
			return state, nil
		}
		if me, ok := at.IsModemError(err); ok && me.CME(10) {
			return "", fmt.Errorf("modem: no SIM in the modem: %w", err)
		}
		me, ok := at.IsModemError(err)
		if !ok || !me.CME(14) || time.Now().After(deadline) {
			return "", fmt.Errorf("modem: SIM state: %w", err)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func describeRefusal(err error) string {
	if me, ok := at.IsModemError(err); ok {
		if me.Code >= 0 {
			return fmt.Sprintf("%s %d, %s", me.Kind, me.Code, me.Meaning())
		}
		return me.Kind + ": " + me.Text
	}
	return err.Error()
}
