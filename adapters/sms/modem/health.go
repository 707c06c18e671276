package modem

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"hotline/adapters/sms/modem/at"
	"hotline/adapters/webhook"
)

// Health is what the adapter knows of its modem, for hotline status and
// /readyz.
type Health struct {
	Device string `json:"device"`
	// State is starting, up, reopening or stopped.
	State string `json:"state"`
	Error string `json:"error,omitempty"`
	// SignalDBm is the received signal strength, from AT+CSQ; 0 when the
	// modem does not know it.
	SignalDBm int `json:"signal_dbm,omitempty"`
	// Registration is the network registration of AT+CREG? (or, on LTE,
	// AT+CEREG?): home, roaming, searching, denied, not registered.
	Registration string `json:"registration,omitempty"`
	// Stored and Capacity are the messages in the modem's memory.
	Stored   int `json:"stored"`
	Capacity int `json:"capacity,omitempty"`
}

func (h Health) describe() string {
	if h.Error != "" {
		return "modem " + h.State + ": " + h.Error
	}
	return "modem " + h.State
}

// Health reports the modem's state for the status report.
func (a *Adapter) Health() map[string]string {
	a.mu.Lock()
	h := a.health
	a.mu.Unlock()
	out := map[string]string{"device": h.Device, "state": h.State}
	if h.Error != "" {
		out["error"] = h.Error
	}
	if h.SignalDBm != 0 {
		out["signal"] = strconv.Itoa(h.SignalDBm) + " dBm"
	}
	if h.Registration != "" {
		out["registration"] = h.Registration
	}
	if h.Capacity > 0 {
		out["memory"] = fmt.Sprintf("%d/%d %s", h.Stored, h.Capacity, a.cfg.Memory)
	}
	return out
}

// Ready is nil while the modem is up and registered on a network.
func (a *Adapter) Ready() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := a.health
	switch {
	case h.State != "up":
		return errors.New(h.describe())
	case h.Registration == "searching" || h.Registration == "denied" || h.Registration == "not registered":
		// "unknown" (an answer hotline cannot read) is given the benefit
		// of the doubt: sends say soon enough whether it is registered.
		return fmt.Errorf("modem up but %s on the network", h.Registration)
	}
	return nil
}

type metrics struct {
	up, signal, registered, stored prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, account string) (metrics, error) {
	gauge := func(name, help string) (prometheus.Gauge, error) {
		v, err := webhook.RegisterGaugeVec(reg, prometheus.GaugeOpts{Name: name, Help: help}, "account")
		if err != nil {
			return nil, err
		}
		return v.WithLabelValues(account), nil
	}
	var m metrics
	var errs []error
	var err error
	m.up, err = gauge("hotline_modem_up", "1 while the modem's port is open and started, by account.")
	errs = append(errs, err)
	m.signal, err = gauge("hotline_modem_signal_dbm", "Received signal strength from AT+CSQ in dBm (NaN: unknown), by account.")
	errs = append(errs, err)
	m.registered, err = gauge("hotline_modem_registered", "1 while the modem is registered on a network (home or roaming), by account.")
	errs = append(errs, err)
	m.stored, err = gauge("hotline_modem_stored_messages", "Messages in the modem's memory, by account: growing means they are not being read.")
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return metrics{}, err
	}
	m.signal.Set(math.NaN())
	return m, nil
}

// checkHealth asks signal, registration and memory use. A modem that
// does not know a command (AT+CEREG on a 2G modem) is not a failure.
func (a *Adapter) checkHealth(ctx context.Context, c *at.Conn) error {
	var h Health
	res, err := c.Command(ctx, "AT+CSQ")
	if portFailed(err) {
		return err
	}
	if v, ok := res.Value("+CSQ"); ok && err == nil {
		h.SignalDBm = signalDBm(v)
	}
	// Unknown unless an answer says otherwise: a modem that answers
	// neither question is not taken for one off the network.
	h.Registration = "unknown"
	for _, cmd := range []string{"AT+CREG?", "AT+CEREG?"} {
		res, err := c.Command(ctx, cmd)
		if portFailed(err) {
			return err
		}
		if v, ok := res.Value(strings.TrimSuffix(strings.TrimPrefix(cmd, "AT"), "?")); ok && err == nil {
			if r := registration(v); r == "home" || r == "roaming" || h.Registration == "unknown" {
				h.Registration = r
			}
		}
	}
	res, err = c.Command(ctx, "AT+CPMS?")
	if portFailed(err) {
		return err
	}
	if v, ok := res.Value("+CPMS"); ok && err == nil {
		h.Stored, h.Capacity = memoryUse(v)
	}
	a.mu.Lock()
	a.health.SignalDBm, a.health.Registration, a.health.Stored, a.health.Capacity = h.SignalDBm, h.Registration, h.Stored, h.Capacity
	a.mu.Unlock()
	if h.SignalDBm == 0 {
		a.metrics.signal.Set(math.NaN())
	} else {
		a.metrics.signal.Set(float64(h.SignalDBm))
	}
	a.metrics.registered.Set(b2f(h.Registration == "home" || h.Registration == "roaming"))
	a.metrics.stored.Set(float64(h.Stored))
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// signalDBm reads "+CSQ: <rssi>,<ber>" (TS 27.007 §8.5): rssi 0 is
// -113 dBm or less, 31 is -51 dBm or more, 2 dBm a step; 99 is unknown.
func signalDBm(v string) int {
	rssi, _, _ := strings.Cut(v, ",")
	n, err := strconv.Atoi(strings.TrimSpace(rssi))
	if err != nil || n < 0 || n > 31 {
		return 0
	}
	return -113 + 2*n
}

// registration reads "+CREG: <n>,<stat>[,...]" (TS 27.007 §7.2): stat 1
// home, 5 roaming, 2 searching, 3 denied, 0 not registered; on LTE 6-10
// are SMS-only variants, still registered.
func registration(v string) string {
	fields := strings.Split(v, ",")
	if len(fields) < 2 {
		return "unknown"
	}
	switch strings.TrimSpace(fields[1]) {
	case "1", "6", "9":
		return "home"
	case "5", "7", "10":
		return "roaming"
	case "2":
		return "searching"
	case "3":
		return "denied"
	case "0":
		return "not registered"
	}
	return "unknown"
}

// memoryUse reads the first memory of "+CPMS: "SM",3,30,..." (the
// answer to AT+CPMS?, TS 27.005 §3.2.2).
func memoryUse(v string) (used, total int) {
	fields := strings.Split(v, ",")
	if len(fields) < 3 {
		return 0, 0
	}
	used, _ = strconv.Atoi(strings.TrimSpace(fields[1]))
	total, _ = strconv.Atoi(strings.TrimSpace(fields[2]))
	return used, total
}
