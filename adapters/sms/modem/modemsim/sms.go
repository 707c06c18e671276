package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"hotline/adapters/sms/modem/modemtest"
	"hotline/adapters/sms/modem/pdu"
)

// smsc is the service centre the simulated network stamps on what it
// hands the modem.
var smsc = pdu.Address{Number: modemtest.DefaultSMSC}

// deliverPDUs encodes text from sender as the SMS-DELIVER frames a network
// hands the modem, in the hex Sim.Receive takes: one part, or parts that
// share ref, all in the alphabet gsm.Analyze picks for the whole text.
func deliverPDUs(from, text string, ref byte, at time.Time) ([]string, error) {
	parts, err := pdu.DeliverParts(smsc, pdu.Address{Number: from}, text, uint16(ref), at)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(parts))
	for i, d := range parts {
		frame, err := pdu.EncodeDeliver(d)
		if err != nil {
			return nil, fmt.Errorf("part %d: %w", i+1, err)
		}
		out[i] = strings.ToUpper(hex.EncodeToString(frame))
	}
	return out, nil
}

// statusReportPDU is the SMS-STATUS-REPORT saying that the message the
// modem numbered mr reached to: status 0x00, received by the SME.
func statusReportPDU(mr byte, to pdu.Address, sent, done time.Time) (string, error) {
	frame, err := pdu.EncodeStatusReport(pdu.StatusReport{
		SMSC: smsc, MR: mr, Recipient: to, Time: scts(sent), Discharge: scts(done), Status: 0x00,
	})
	if err != nil {
		return "", err
	}
	return strings.ToUpper(hex.EncodeToString(frame)), nil
}

// scts is t as a service centre time stamp can carry it: whole seconds,
// in the local zone unless its offset is not a whole quarter hour, in UTC
// then.
func scts(t time.Time) time.Time {
	t = t.Truncate(time.Second)
	if _, off := t.Zone(); off%(15*60) != 0 {
		return t.UTC()
	}
	return t
}

// nextStamp is the time stamp of a message sent at now when the last one
// had last: a second later at least, since the gateway tells two texts
// apart by sender, time stamp and text, and would drop the same text sent
// twice in one second as a duplicate.
func nextStamp(now, last time.Time) time.Time {
	t := scts(now)
	if !t.After(last) {
		t = last.Add(time.Second)
	}
	return t
}

// decodeSubmission reads what the gateway typed after AT+CMGS.
func decodeSubmission(sub modemtest.Submission) (pdu.Submit, error) {
	frame, err := pdu.ParseHex(sub.PDU)
	if err != nil {
		return pdu.Submit{}, err
	}
	return pdu.DecodeSubmit(frame)
}

// describe is the line printed for a part the gateway sent.
func describe(mr int, s pdu.Submit) string {
	note := fmt.Sprintf("mr %d", mr)
	if c := s.Concat; c != nil {
		note = fmt.Sprintf("part %d/%d, ref 0x%02X, %s", c.Seq, c.Total, c.Ref, note)
	}
	return fmt.Sprintf("← %s: %s  (%s)", s.To.Number, show(s), note)
}

// describeJoined is the line printed once every part of a long reply is in.
func describeJoined(s pdu.Submit, text string) string {
	return fmt.Sprintf("← %s: %s  (all %d parts of ref 0x%02X)", s.To.Number, indent(text), s.Concat.Total, s.Concat.Ref)
}

// show is a part's text for the terminal.
func show(s pdu.Submit) string {
	if s.Alphabet == pdu.Data8 {
		return fmt.Sprintf("<8-bit data: %X>", s.Body)
	}
	return indent(s.Text)
}

// indent keeps the lines of a multi-line text under its first.
func indent(text string) string {
	return strings.ReplaceAll(strings.TrimRight(text, "\n"), "\n", "\n    ")
}

// partKey names one concatenated message.
type partKey struct {
	to    string
	ref   uint16
	total byte
}

// assembler collects the parts of the gateway's long replies.
type assembler map[partKey]map[byte]pdu.Submit

// add keeps a part and returns the whole text once every part is in.
func (as assembler) add(s pdu.Submit) (string, bool) {
	c := s.Concat
	if c == nil || c.Total < 2 || c.Seq < 1 || c.Seq > c.Total {
		return "", false
	}
	k := partKey{s.To.Number, c.Ref, c.Total}
	if as[k] == nil {
		as[k] = map[byte]pdu.Submit{}
	}
	as[k][c.Seq] = s
	if len(as[k]) < int(c.Total) {
		return "", false
	}
	bodies := make([][]byte, c.Total)
	for seq, p := range as[k] {
		bodies[seq-1] = p.Body
	}
	delete(as, k)
	return pdu.JoinText(s.Alphabet, bodies...), true
}

// configHeader starts every config modemsim writes, so that it rewrites
// its own and never someone's hotline.yaml.
const configHeader = "# Written by modemsim (go run ./adapters/sms/modem/modemsim) at each start.\n"

// configYAML is a hotline config with the simulated modem as its one
// account; everything else is hotline's default (NATS embedded, storing
// in data/nats).
func configYAML(link, pin string) string {
	var b strings.Builder
	b.WriteString(configHeader)
	b.WriteString("accounts:\n  sms:\n")
	fmt.Fprintf(&b, "    - {name: modem-1, provider: modem, device: %s, default_region: CN, poll: 5s", strconv.Quote(link))
	if pin != "" {
		fmt.Fprintf(&b, ", pin: %q", pin)
	}
	b.WriteString("}\n# The default fallback account, sms-main, does not exist here.\nfallback: {sms_account: modem-1}\n")
	return b.String()
}

// writeConfig writes configYAML to path, unless path holds a file modemsim
// did not write.
func writeConfig(path, link, pin string) error {
	old, err := os.ReadFile(path)
	switch {
	case err == nil && !strings.HasPrefix(string(old), configHeader):
		return fmt.Errorf("%s exists and was not written by modemsim: not overwriting it", path)
	case err != nil && !os.IsNotExist(err):
		return err
	}
	return os.WriteFile(path, []byte(configYAML(link, pin)), 0o600)
}

// placeLink points link at target, replacing a symbolic link already
// there (one a killed modemsim left) but no other file.
func placeLink(link, target string) error {
	if fi, err := os.Lstat(link); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		return fmt.Errorf("%s exists and is not a symbolic link: choose another -link", link)
	}
	tmp := fmt.Sprintf("%s.%d.tmp", link, os.Getpid())
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, link); err != nil {
		return errors.Join(err, os.Remove(tmp))
	}
	return nil
}

// removeLink removes link if it still points at target.
func removeLink(link, target string) error {
	if got, err := os.Readlink(link); err != nil || got != target {
		return nil
	}
	return os.Remove(link)
}
