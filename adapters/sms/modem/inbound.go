package modem

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"hotline/adapters/sms"
	"hotline/adapters/sms/modem/at"
	"hotline/adapters/sms/modem/pdu"
	"hotline/bus"
	"hotline/envelope"
)

// stored is one message in the modem's memory, as AT+CMGL or AT+CMGR
// give it.
type stored struct {
	index int
	// stat is 0 received unread, 1 received read, 2 stored unsent, 3
	// stored sent (TS 27.005 §3.1).
	stat int
	pdu  string
	// length is the TPDU length the modem gave (-1: none), which
	// tells a whole PDU line from one the serial line garbled.
	length int
}

// frame decodes the PDU's hex and checks it against the length the modem
// gave: a line cut or mangled on the wire must not be taken for a
// message that cannot be decoded (and deleted).
func (s stored) frame() ([]byte, error) {
	frame, err := pdu.ParseHex(s.pdu)
	if err != nil {
		return nil, err
	}
	if s.length >= 0 && (len(frame) == 0 || len(frame)-1-int(frame[0]) != s.length) {
		return nil, fmt.Errorf("modem: PDU of %d octets does not match the announced TPDU length %d", len(frame), s.length)
	}
	return frame, nil
}

// header reads "<a>,<b>,...,<length>" of +CMGL (index, stat) or +CMGR
// (stat): the first two numbers wanted and the length at the end.
func header(v string, wanted int) (nums []int, length int, err error) {
	f := strings.Split(v, ",")
	if len(f) < wanted+1 {
		return nil, 0, fmt.Errorf("%d fields", len(f))
	}
	for _, x := range f[:wanted] {
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			return nil, 0, err
		}
		nums = append(nums, n)
	}
	length, err = strconv.Atoi(strings.TrimSpace(f[len(f)-1]))
	if err != nil {
		length = -1 // some modems leave it out; the PDU is then unchecked
	}
	return nums, length, nil
}

// received reports whether the message came from the network (an
// SMS-DELIVER or a status report), as opposed to one stored to send.
func (s stored) received() bool { return s.stat == 0 || s.stat == 1 }

// parseListing reads AT+CMGL's answer: "+CMGL: <index>,<stat>,[<alpha>],<length>"
// lines, each followed by its PDU.
func parseListing(lines []string) ([]stored, error) {
	var out []stored
	var errs []error
	for i := 0; i < len(lines); i++ {
		v, ok := strings.CutPrefix(lines[i], "+CMGL:")
		if !ok {
			continue
		}
		nums, length, err := header(v, 2)
		if err != nil || i+1 >= len(lines) || strings.HasPrefix(lines[i+1], "+") {
			// The PDU line was lost to noise: that message is listed
			// again at the next sweep.
			errs = append(errs, fmt.Errorf("modem: AT+CMGL line %q has no index, status or PDU", lines[i]))
			continue
		}
		i++
		out = append(out, stored{index: nums[0], stat: nums[1], pdu: lines[i], length: length})
	}
	return out, errors.Join(errs...)
}

// parseRead reads AT+CMGR's answer: "+CMGR: <stat>,[<alpha>],<length>"
// and the PDU.
func parseRead(index int, lines []string) (stored, error) {
	for i, l := range lines {
		v, ok := strings.CutPrefix(l, "+CMGR:")
		if !ok {
			continue
		}
		nums, length, err := header(v, 1)
		if err != nil || i+1 >= len(lines) {
			return stored{}, fmt.Errorf("modem: AT+CMGR=%d answered %q", index, l)
		}
		return stored{index: index, stat: nums[0], pdu: lines[i+1], length: length}, nil
	}
	return stored{}, fmt.Errorf("modem: AT+CMGR=%d: no message in the answer", index)
}

// sweep reads everything in the modem's memory: what arrived while
// hotline was down, and what an indication failed to announce; and the
// status report memory too, once the modem named one of its own.
func (a *Adapter) sweep(ctx context.Context, c *at.Conn) error {
	if err := a.sweepMemory(ctx, c); err != nil {
		return err
	}
	if mem := a.reportMemory.Load(); mem != nil {
		return a.inMemory(ctx, c, *mem, func() error { return a.sweepMemory(ctx, c) })
	}
	return nil
}

func (a *Adapter) sweepMemory(ctx context.Context, c *at.Conn) error {
	res, err := c.CommandTimeout(ctx, "AT+CMGL=4", time.Minute)
	if err != nil {
		if portFailed(err) {
			return err
		}
		a.log.Warn("listing the modem's messages", "err", err)
		return nil
	}
	list, err := parseListing(res.Lines)
	if err != nil {
		a.log.Warn("reading the modem's message list", "err", err)
	}
	for _, s := range list {
		if !s.received() {
			continue // a message stored to send: not ours to read or delete
		}
		if err := a.take(ctx, c, s); err != nil {
			return err
		}
	}
	return nil
}

// inMemory runs fn with mem as the memory read and deleted from, and
// switches back to the configured one. If switching back fails the
// session ends: every index read after it would be in the wrong memory.
func (a *Adapter) inMemory(ctx context.Context, c *at.Conn, mem string, fn func() error) error {
	if _, err := c.Command(ctx, `AT+CPMS="`+mem+`"`); err != nil {
		if portFailed(err) {
			return err
		}
		a.log.Warn("cannot read the modem memory an indication named", "memory", mem, "err", err)
		return nil
	}
	err := fn()
	if _, backErr := c.Command(ctx, `AT+CPMS="`+a.cfg.Memory+`"`); backErr != nil {
		return fmt.Errorf("modem: back to memory %s: %w", a.cfg.Memory, errors.Join(backErr, at.ErrBroken))
	}
	return err
}

// indication acts on an unsolicited result code.
func (a *Adapter) indication(ctx context.Context, c *at.Conn, u at.URC) error {
	switch u.Name {
	case "+CMTI", "+CDSI": // `"SM",3`: stored at an index
		mem, idx, ok := strings.Cut(u.Args, ",")
		index, err := strconv.Atoi(strings.TrimSpace(idx))
		if !ok || err != nil {
			a.log.Warn("modem indication without an index", "urc", u.Name, "args", u.Args)
			return nil
		}
		return a.read(ctx, c, strings.Trim(strings.TrimSpace(mem), `"`), index)
	case "+CMT", "+CDS": // delivered whole, not stored: nothing to delete
		// "+CMT: [<alpha>],<length>", "+CDS: <length>"
		f := strings.Split(u.Args, ",")
		length, err := strconv.Atoi(strings.TrimSpace(f[len(f)-1]))
		if err != nil {
			length = -1
		}
		return a.take(ctx, c, stored{index: -1, pdu: u.PDU, length: length})
	case "+CREG", "+CEREG":
		return a.checkHealth(ctx, c)
	}
	a.log.Debug("modem indication ignored", "urc", u.Name)
	return nil
}

// read takes the message at index of memory mem. A status report some
// modems keep apart ("SR") is read by switching the read memory there
// and back.
func (a *Adapter) read(ctx context.Context, c *at.Conn, mem string, index int) error {
	if mem != "" && mem != a.cfg.Memory {
		a.reportMemory.Store(&mem)
		return a.inMemory(ctx, c, mem, func() error { return a.readIndex(ctx, c, index) })
	}
	return a.readIndex(ctx, c, index)
}

func (a *Adapter) readIndex(ctx context.Context, c *at.Conn, index int) error {
	res, err := c.Command(ctx, "AT+CMGR="+strconv.Itoa(index))
	if err != nil {
		if portFailed(err) {
			return err
		}
		// Gone already (read by the sweep) or unreadable: the next
		// sweep lists whatever is still there.
		a.log.Debug("reading an announced message", "index", index, "err", err)
		return nil
	}
	s, err := parseRead(index, res.Lines)
	if err != nil {
		a.log.Warn("reading an announced message", "err", err)
		return nil
	}
	return a.take(ctx, c, s)
}

// take hands one stored message on and deletes it from the modem once it
// is safe elsewhere. Only a port failure is returned: anything else is
// logged and the message stays on the SIM for the next sweep.
func (a *Adapter) take(ctx context.Context, c *at.Conn, s stored) error {
	frame, err := s.frame()
	if err != nil {
		if s.index < 0 {
			a.log.Error("a message the modem passed on directly arrived garbled, and is lost", "err", err)
			return nil
		}
		a.log.Warn("modem message garbled on the line; left on the SIM for the next poll", "index", s.index, "err", err)
		return nil
	}
	if s.index >= 0 {
		if !a.hold(ctx, s, frame) {
			return nil
		}
		return a.delete(ctx, c, s.index)
	}
	// Not on the SIM: hotline has the only copy, so keep trying while
	// the bus recovers, for as long as a network would wait for it.
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := bus.KeepTrying(tctx, func(ctx context.Context) error {
		if !a.hold(ctx, s, frame) {
			return errors.New("not stored")
		}
		return nil
	}, nil); err != nil {
		a.log.Error("a message the modem passed on directly could not be stored, and is lost", "pdu", truncate(s.pdu, 80))
	}
	return nil
}

// hold stores what frame carries where it is safe (the inbound stream,
// the parts bucket, a status event) and reports whether it is. A frame
// that does not decode is stored raw, so nothing a user sent is dropped.
func (a *Adapter) hold(ctx context.Context, s stored, frame []byte) bool {
	msg, err := pdu.Decode(frame)
	safe := false
	switch m := msg.(type) {
	case pdu.Deliver:
		safe, err = a.deliver(ctx, m, s.index)
	case pdu.StatusReport:
		safe, err = a.statusReport(ctx, m)
	}
	if safe {
		return true
	}
	if errors.Is(err, errReportEarly) {
		a.log.Debug("status report left on the SIM for the next poll", "index", s.index)
		return false
	}
	var bad *badPDU
	if err == nil || (!errors.As(err, &bad) && !errors.Is(err, pdu.ErrInvalid) && !errors.Is(err, pdu.ErrTruncated)) {
		a.log.Error("modem message not stored; it stays on the SIM", "index", s.index, "err", err)
		return false
	}
	if err := a.deliverRaw(ctx, s.pdu, err); err != nil {
		a.log.Error("undecodable modem message not stored; it stays on the SIM", "index", s.index, "err", err)
		return false
	}
	return true
}

// badPDU is a frame that decoded but cannot be used.
type badPDU struct{ why string }

func (e *badPDU) Error() string { return "modem: " + e.why }

func (a *Adapter) delete(ctx context.Context, c *at.Conn, index int) error {
	if _, err := c.Command(ctx, "AT+CMGD="+strconv.Itoa(index)); err != nil {
		if portFailed(err) {
			return err
		}
		// Stored in hotline already; if it is read again the dedup id
		// stores it once.
		a.log.Warn("deleting a stored message from the modem", "index", index, "err", err)
	}
	return nil
}

// deliver passes on an SMS-DELIVER: a whole message to the stream, a
// part of a long one to the parts bucket. safe is true once it is held.
//
// The dedup id of a whole message includes its index in the modem's
// memory, which stays the same while it is there: read twice, it is
// stored once, but the same text sent twice in one second (a double tap)
// is two messages.
func (a *Adapter) deliver(ctx context.Context, d pdu.Deliver, index int) (safe bool, err error) {
	if d.Concat != nil && d.Concat.Total > 1 {
		return a.addPart(ctx, d)
	}
	id := dedupID(d.From.Number, d.Time, "i"+strconv.Itoa(index), d.Body)
	text := d.Text
	meta := map[string]string{}
	if d.Alphabet == pdu.Data8 {
		meta["body_hex"] = hex.EncodeToString(d.Body)
	}
	return a.publish(ctx, d.From, text, d.Time, id, meta)
}

// deliverRaw stores a frame that could not be decoded, hex and all, so an
// operator can see what came.
func (a *Adapter) deliverRaw(ctx context.Context, raw string, why error) error {
	now := a.now().UTC()
	m := &envelope.Message{ID: envelope.NewID(now), Platform: envelope.PlatformSMS, Account: a.cfg.Account,
		PlatformMsgID: dedupID("raw", time.Time{}, "", []byte(raw)),
		From:          envelope.Party{ID: "unknown"}, Kind: envelope.KindRaw, ReceivedAt: now,
		Meta: map[string]string{"pdu": truncate(raw, 400), "decode_error": truncate(why.Error(), 200)}}
	m.Conversation = envelope.ConversationKey(envelope.PlatformSMS, a.cfg.Account, m.From.ID)
	if _, err := a.bus.PublishInbound(ctx, m, nil); err != nil {
		return err
	}
	a.log.Warn("modem message could not be decoded; stored raw", "err", why)
	return nil
}

// dedupID names a message the way a PDU cannot: by its sender, the
// SMSC's timestamp, the part reference and the text itself, so a message
// read twice (a crash between storing and deleting it) is stored once
// and two texts in the same second are not taken for one.
func dedupID(from string, at time.Time, ref string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(from + "\x00" + at.UTC().Format(time.RFC3339) + "\x00" + ref + "\x00"))
	h.Write(body)
	return "modem:" + hex.EncodeToString(h.Sum(nil)[:12])
}

// publish stores a message from the network on the inbound stream,
// answering STOP and START as an SMS provider must.
func (a *Adapter) publish(ctx context.Context, from pdu.Address, text string, sentAt time.Time, id string, meta map[string]string) (bool, error) {
	now := a.now().UTC()
	user, phone := a.sender(from)
	m := &envelope.Message{ID: envelope.NewID(now), Platform: envelope.PlatformSMS, Account: a.cfg.Account,
		PlatformMsgID: id, Conversation: envelope.ConversationKey(envelope.PlatformSMS, a.cfg.Account, user),
		From: envelope.Party{ID: user, Phone: phone}, Kind: envelope.KindText, Text: text, ReceivedAt: now, Meta: meta}
	if !sentAt.IsZero() {
		m.Meta["sent_at"] = sentAt.Format(time.RFC3339)
	}
	kw := sms.ParseKeyword(text)
	if kw != sms.KeywordNone {
		m.Meta["carrier_keyword"] = string(kw)
	}
	if !a.limiter.Allow(user, now) {
		m.Meta["rate_limited"] = "true"
	}
	if err := m.Validate(); err != nil {
		return false, &badPDU{why: "message: " + err.Error()}
	}
	ack, err := a.bus.PublishInbound(ctx, m, nil)
	if err != nil {
		return false, err
	}
	a.log.Info("sms received", "from", user, "duplicate", ack.Duplicate, "chars", len([]rune(text)))
	if (kw == sms.KeywordStop || kw == sms.KeywordStart) && !ack.Duplicate {
		a.confirmKeyword(ctx, m, kw)
	}
	return true, nil
}

// confirmKeyword records an opt-out or opt-in and confirms it to the
// user at once, as carriers require; the router records it too, so a
// failure here is repaired.
func (a *Adapter) confirmKeyword(ctx context.Context, m *envelope.Message, kw sms.Keyword) {
	if err := a.optouts.Set(ctx, m.Conversation, kw == sms.KeywordStop, m.ReceivedAt); err != nil {
		a.log.Error("opt-out not stored here; the router records it", "err", err)
	}
	if m.From.Phone == "" {
		return
	}
	// The session loop calls this between commands, so the send can
	// take the port.
	r := envelope.Reply{ID: "keyword:" + m.ID, Platform: envelope.PlatformSMS, Account: a.cfg.Account,
		Conversation: m.Conversation, To: m.From, Text: sms.KeywordReply(m.Text, kw)}
	if _, err := a.Send(ctx, r); err != nil {
		a.log.Warn("keyword confirmation not sent", "keyword", kw, "err", err)
	}
}

// sender is the conversation's user for an address: E.164 for a phone
// number, the name itself for an alphanumeric sender (which cannot be
// answered), the digits of a short code.
func (a *Adapter) sender(from pdu.Address) (user, phone string) {
	if from.TOA == pdu.TOAAlphanumeric {
		return strings.TrimSpace(from.Number), ""
	}
	if n, err := sms.Normalize(from.Number, a.cfg.DefaultRegion); err == nil {
		return n, n
	}
	return from.Number, ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
