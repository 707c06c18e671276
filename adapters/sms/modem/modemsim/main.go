// Command modemsim is a GSM modem at a terminal, for trying hotline's
// modem SMS provider without a modem: it serves the simulator of package
// hotline/adapters/sms/modem/modemtest on a pseudo-terminal behind a stable
// symbolic link, turns each line typed into an SMS from a phone to the
// gateway, and prints what the gateway sends back.
//
//	go run ./adapters/sms/modem/modemsim -config /tmp/modem.yaml     # terminal 1
//	go run ./cmd/hotline serve --config /tmp/modem.yaml              # terminal 2
//
// -config writes a hotline config whose one account, modem-1, is the
// simulated modem; without it, point a provider: modem entry of
// accounts.sms at the link. Lines starting with "/" are commands (/help).
// Each part the gateway sends asking for a status report gets a "delivered"
// one a second later, unless -reports=false or /report off.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"hotline/adapters/sms/modem/modemtest"
	"hotline/adapters/sms/modem/pdu"
)

const commandsHelp = `Type a line to text the gateway. Commands:
  /from +8613900000000   send as another number
  /signal 0-31|99        signal strength AT+CSQ reports (99: unknown)
  /register STATE        home, roaming, searching, denied or none
  /vanish, /back         unplug the modem, plug it back (it reboots)
  /report on|off         answer sent parts with "delivered" reports
  /help, /quit           this text; leave (so do Ctrl-D and Ctrl-C)
  //text                 send a text that starts with "/"
`

// pollEvery is how often the modem is checked for what the gateway sent.
const pollEvery = 200 * time.Millisecond

type options struct {
	link, config, from, pin string
	reports, verbose        bool
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "modemsim:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := start(ctx, o, os.Stdout)
	if err == nil {
		err = errors.Join(a.loop(ctx, os.Stdin), a.close())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "modemsim:", err)
		stop()
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("modemsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.link, "link", filepath.Join(os.TempDir(), "hotline-modem"), "the modem's `path`, a symbolic link to its pty, for the device key")
	fs.StringVar(&o.config, "config", "", "write a hotline config with the modem as account modem-1 to `file`")
	fs.StringVar(&o.from, "from", "+8613800138000", "the `number` typed lines come from")
	fs.StringVar(&o.pin, "pin", "", "lock the SIM with this `PIN` (4-8 digits; -config passes it on)")
	fs.BoolVar(&o.reports, "reports", true, "answer each part that asks for a status report with a delivered one after a second")
	fs.BoolVar(&o.verbose, "v", false, "print the AT transcript")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "modemsim: a simulated GSM modem for hotline's modem SMS provider.\n\n",
			"  go run ./adapters/sms/modem/modemsim -config /tmp/modem.yaml\n",
			"  go run ./cmd/hotline serve --config /tmp/modem.yaml   # in another terminal\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), "\n", commandsHelp)
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (see -h)", fs.Arg(0))
	}
	if o.pin != "" && (len(o.pin) < 4 || len(o.pin) > 8 || strings.Trim(o.pin, "0123456789") != "") {
		return o, fmt.Errorf("-pin %q: a PIN is 4 to 8 digits", o.pin)
	}
	if o.from == "" {
		return o, errors.New("-from: empty")
	}
	if _, err := deliverPDUs(o.from, "", 0, scts(time.Now())); err != nil {
		return o, fmt.Errorf("-from %q: %w", o.from, err)
	}
	var err error
	if o.link, err = filepath.Abs(o.link); err == nil && o.config != "" {
		o.config, err = filepath.Abs(o.config)
	}
	return o, err
}

// printer writes whole lines from every goroutine. Its lock is never held
// while calling the Sim, whose Logf ends up here.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, strings.TrimSuffix(fmt.Sprintf(format, args...), "\n"))
}

// app is one simulated modem. Everything but out is used by loop's
// goroutine alone.
type app struct {
	out     *printer
	sim     *modemtest.Sim
	pty     *modemtest.PTY
	link    string
	device  string // what link points at, "" while vanished
	from    string
	reports bool
	delay   time.Duration // from a part sent to its status report
	ref     byte          // of the last long text
	last    time.Time     // time stamp of the last text
	seen    int           // how many of Sent() are printed
	parts   assembler
	pending []report
}

// report is a status report waiting to be delivered.
type report struct {
	due, sent time.Time
	mr        int
	to        pdu.Address
}

// start serves the modem on a pty behind o.link and writes o.config.
func start(ctx context.Context, o options, w io.Writer) (*app, error) {
	out := &printer{w: w}
	opts := modemtest.Options{PIN: o.pin}
	if o.verbose {
		opts.Logf = out.printf
	}
	sim := modemtest.New(opts)
	p, err := sim.StartPTY(ctx)
	if err != nil {
		return nil, err
	}
	a := &app{out: out, sim: sim, pty: p, link: o.link, device: p.Device(), from: o.from, reports: o.reports,
		delay: time.Second, ref: byte(rand.N(256)), parts: assembler{}}
	if err := placeLink(a.link, a.device); err != nil {
		return nil, errors.Join(err, p.Close())
	}
	if o.config != "" {
		if err := writeConfig(o.config, o.link, o.pin); err != nil {
			return nil, errors.Join(err, a.close())
		}
	}
	lock := ""
	if o.pin != "" {
		lock = ", SIM PIN " + o.pin
	}
	out.printf("modemsim: GSM modem (PDU mode%s) on %s -> %s", lock, a.link, a.device)
	if o.config != "" {
		out.printf("Config written to %s. In another terminal, from the repository root:\n  go run ./cmd/hotline serve --config %s", o.config, o.config)
	} else {
		out.printf("Give hotline an accounts.sms entry for it:\n  - {name: modem-1, provider: modem, device: %q, default_region: CN}", a.link)
	}
	out.printf("Lines you type are SMS from %s; /help lists the commands.", a.from)
	return a, nil
}

// close stops the modem and removes the link.
func (a *app) close() error {
	return errors.Join(a.pty.Close(), removeLink(a.link, a.device))
}

// loop reads lines from in until EOF, /quit or the end of ctx, and
// prints what the gateway sends meanwhile.
func (a *app) loop(ctx context.Context, in io.Reader) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lines := make(chan string)
	var readErr error
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			select {
			case lines <- strings.TrimSuffix(sc.Text(), "\r"):
			case <-ctx.Done():
				return
			}
		}
		readErr = sc.Err()
	}()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok {
				a.poll(time.Now())
				return readErr
			}
			if a.handle(line) {
				return nil
			}
		case now := <-tick.C:
			a.poll(now)
		}
	}
}

// handle acts on one line and reports whether it was /quit.
func (a *app) handle(line string) (quit bool) {
	switch {
	case strings.TrimSpace(line) == "":
	case strings.HasPrefix(line, "//"):
		a.text(line[1:])
	case strings.HasPrefix(line, "/"):
		return a.command(strings.Fields(line))
	default:
		a.text(line)
	}
	return false
}

// text delivers line to the modem as an SMS from a.from.
func (a *app) text(line string) {
	at := nextStamp(time.Now(), a.last)
	hexes, err := deliverPDUs(a.from, line, a.ref+1, at)
	if err != nil {
		a.out.printf("! not sent: %v", err)
		return
	}
	a.last = at
	what := "1 SMS"
	if len(hexes) > 1 {
		a.ref++
		what = fmt.Sprintf("%d parts, ref 0x%02X", len(hexes), a.ref)
	}
	for i, h := range hexes {
		_, err := a.sim.Receive(h)
		switch {
		case errors.Is(err, modemtest.ErrMemoryFull):
			a.out.printf("! SIM full: part %d waits until the gateway deletes a message", i+1)
		case err != nil:
			a.out.printf("! part %d: %v", i+1, err)
		}
	}
	a.out.printf("→ from %s: %s", a.from, what)
}

// command runs a slash command and reports whether it was /quit.
func (a *app) command(f []string) (quit bool) {
	arg := ""
	if len(f) == 2 {
		arg = f[1]
	}
	switch {
	case f[0] == "/quit" || f[0] == "/exit":
		return true
	case f[0] == "/from" && arg != "":
		if _, err := deliverPDUs(arg, "", 0, scts(time.Now())); err != nil {
			a.out.printf("! /from %s: %v", arg, err)
			return false
		}
		a.from = arg
		a.out.printf("sending as %s", arg)
	case f[0] == "/signal" && arg != "":
		n, err := strconv.Atoi(arg)
		if err != nil || (n < 0 || n > 31) && n != 99 {
			a.out.printf("! /signal takes 0 to 31, or 99 for unknown")
			return false
		}
		a.sim.SetSignal(n, 99)
		a.out.printf("signal %d", n)
	case f[0] == "/register" && arg != "":
		stat, ok := map[string]int{"none": 0, "home": 1, "searching": 2, "denied": 3, "roaming": 5}[arg]
		if !ok {
			a.out.printf("! /register home, roaming, searching, denied or none")
			return false
		}
		a.sim.SetRegistration(stat)
		a.out.printf("registration: %s (%d)", arg, stat)
	case f[0] == "/vanish" && len(f) == 1:
		if err := a.pty.Vanish(); err != nil {
			a.out.printf("! %v", err)
			return false
		}
		if err := removeLink(a.link, a.device); err != nil {
			a.out.printf("! %v", err)
		}
		a.device = ""
		a.out.printf("modem unplugged: %s is gone", a.link)
	case f[0] == "/back" && len(f) == 1:
		if err := a.pty.Reappear(); err != nil {
			a.out.printf("! %v", err)
			return false
		}
		a.device = a.pty.Device()
		if err := placeLink(a.link, a.device); err != nil {
			a.out.printf("! %v", err)
			return false
		}
		a.out.printf("modem back, rebooted: %s -> %s", a.link, a.device)
	case f[0] == "/report" && (arg == "on" || arg == "off"):
		a.reports = arg == "on"
		a.out.printf("status reports %s", arg)
	case f[0] == "/help":
		a.out.printf("%s", commandsHelp)
	default:
		a.out.printf("! %s: unknown command or wrong arguments; /help lists them", strings.Join(f, " "))
	}
	return false
}

// poll prints what the gateway sent since the last poll and delivers the
// status reports that are due.
func (a *app) poll(now time.Time) {
	sent := a.sim.Sent()
	for _, sub := range sent[min(a.seen, len(sent)):] {
		s, err := decodeSubmission(sub)
		if err != nil {
			a.out.printf("← undecodable (mr %d): %v\n  %s", sub.MR, err, sub.PDU)
			continue
		}
		a.out.printf("%s", describe(sub.MR, s))
		if text, ok := a.parts.add(s); ok {
			a.out.printf("%s", describeJoined(s, text))
		}
		if a.reports && s.StatusReport {
			a.pending = append(a.pending, report{due: now.Add(a.delay), sent: sub.Time, mr: sub.MR, to: s.To})
		}
	}
	a.seen = len(sent)
	waiting := a.pending[:0]
	for _, r := range a.pending {
		if now.Before(r.due) {
			waiting = append(waiting, r)
			continue
		}
		h, err := statusReportPDU(byte(r.mr), r.to, r.sent, now)
		if err == nil {
			_, err = a.sim.ReceiveStatusReport(h)
		}
		if err != nil {
			a.out.printf("! status report for mr %d: %v", r.mr, err)
			continue
		}
		a.out.printf("  ✓ delivered: status report for mr %d to %s", r.mr, r.to.Number)
	}
	a.pending = waiting
}
