package modem

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"hotline/adapters/sms"
	"hotline/adapters/sms/modem/at"
	"hotline/adapters/sms/modem/pdu"
	"hotline/bus"
	"hotline/envelope"
	"hotline/outbound"
)

// Send delivers a reply as one SMS-SUBMIT per part (AT+CMGS), the parts
// of a long text sharing one concatenation reference. Which parts left is
// kept in hotline_sent, so a retry sends only the rest, with the same
// reference (it is derived from the reply id) so the handset still joins
// them. Each part's message reference is kept for its status report.
func (a *Adapter) Send(ctx context.Context, r envelope.Reply) (envelope.Receipt, error) {
	c, err := a.current()
	if err != nil {
		return envelope.Receipt{}, outbound.RetryableError("modem_down", err)
	}
	to, err := sms.Normalize(cmp.Or(r.To.Phone, r.To.ID), a.cfg.DefaultRegion)
	if err != nil {
		return envelope.Receipt{}, outbound.PermanentError("invalid_number", fmt.Errorf("modem: recipient: %w", err))
	}
	parts, err := pdu.SubmitParts(pdu.Address{Number: to}, replyText(r), replyRef(r.ID),
		pdu.SubmitOptions{StatusReport: a.cfg.StatusReports})
	if err != nil {
		return envelope.Receipt{}, outbound.PermanentError("bad_text", fmt.Errorf("modem: %w", err))
	}
	done := outbound.LoadParts(ctx, a.bus.KV(bus.BucketSent), envelope.PlatformSMS, r.ID, len(parts))
	for i := done.Sent(); i < len(parts); i++ {
		frame, tpduLen, err := pdu.EncodeSubmit(parts[i])
		if err != nil {
			return envelope.Receipt{}, outbound.PermanentError("bad_pdu", fmt.Errorf("modem: part %d: %w", i+1, err))
		}
		res, err := c.SendPDU(ctx, tpduLen, strings.ToUpper(hex.EncodeToString(frame)))
		if err != nil {
			if portFailed(err) {
				a.dropSession(c)
			}
			return envelope.Receipt{}, classify(err)
		}
		mr, _ := res.Value("+CMGS")
		mr, _, _ = strings.Cut(mr, ",")
		a.rememberRef(ctx, mr, sentPart{Reply: r.ID, Conversation: r.Conversation, To: to, Part: i + 1, Total: len(parts)})
		if err := done.Record(ctx, "mr:"+mr); err != nil {
			a.log.Warn("recording SMS parts sent; a retry may repeat some", "reply", r.ID, "err", err)
		}
	}
	ids := done.IDs()
	receipt := envelope.Receipt{SentAt: a.now().UTC(), Segments: len(parts)}
	if len(ids) > 0 {
		receipt.PlatformMsgID = ids[0]
	}
	return receipt, nil
}

// replyText is what an SMS can carry of a reply: its text, and the
// address of each attachment on a line of its own.
func replyText(r envelope.Reply) string {
	text := r.Text
	for _, m := range r.Media {
		if m.URL != "" {
			text = strings.TrimRight(text, "\n") + "\n" + m.URL
		}
	}
	return strings.TrimLeft(text, "\n")
}

// replyRef is the concatenation reference of a reply's parts: the same
// on every try, so parts sent on a retry join those sent before.
func replyRef(replyID string) uint16 { return uint16(fnvString(replyID)) }

// classify maps what the modem said to what the delivery loop should do:
// +CMS ERROR codes (3GPP TS 27.005 §3.2.5, network causes of TS 24.011
// Annex E-2) and the port failing.
func classify(err error) error {
	me, ok := at.IsModemError(err)
	if !ok {
		// The port failed or a timeout broke the dialogue. After a timeout
		// the part may have left anyway: a retry can send it twice.
		return outbound.RetryableError("modem_io", err)
	}
	code := me.Code
	if me.Kind != "+CMS ERROR" {
		return outbound.RetryableError("modem_error", err)
	}
	switch {
	case code == 42 || code == 47 || code == 314:
		// Congestion, resources unavailable, SIM busy: the network or
		// SIM is up but full; wait rather than count a failure.
		return outbound.ThrottledError("throttled", 30*time.Second, err)
	case code == 1 || code == 28 || code == 30:
		return outbound.PermanentError("invalid_number", err)
	case code == 8 || code == 10 || code == 21 || code == 29 || code == 50 || code == 69:
		return outbound.PermanentError("barred", err)
	case code >= 95 && code <= 99, code == 111, code == 304, code == 305, code == 303:
		return outbound.PermanentError("bad_pdu", err)
	}
	// No network, network timeout, SIM or ME trouble, unknown: worth
	// another try, and an operator's alert if it lasts.
	return outbound.RetryableError("cms_"+strconv.Itoa(code), err)
}

// sentPart is what a message reference stands for, until its status
// report comes.
type sentPart struct {
	Reply        string `json:"reply"`
	Conversation string `json:"conversation"`
	To           string `json:"to"`
	Part         int    `json:"part"`
	Total        int    `json:"total"`
}

func (a *Adapter) refKey(mr string) string { return "ref." + a.cfg.Account + "." + mr }

// rememberRef keeps what message reference mr stands for. References
// wrap at 256, so an old one is overwritten by the newest; a lost record
// only costs a status report.
func (a *Adapter) rememberRef(ctx context.Context, mr string, p sentPart) {
	if _, err := strconv.Atoi(mr); err != nil {
		a.log.Warn("modem sent a part without a message reference", "reply", p.Reply, "answer", mr)
		return
	}
	data, _ := json.Marshal(p)
	if _, err := a.kv.Put(ctx, a.refKey(mr), data); err != nil {
		a.log.Warn("message reference not kept; its status report will be ignored", "mr", mr, "err", err)
	}
}

// reportGrace is how long after its message was sent a status report
// whose message reference is unknown is kept for another look.
const reportGrace = 2 * time.Minute

// errReportEarly: a status report came before its send was recorded.
var errReportEarly = errors.New("modem: status report before its send was recorded")

// delivered counts the parts of a reply reported delivered.
type delivered struct {
	Parts []int `json:"parts"`
}

// statusReport turns an SMS-STATUS-REPORT into a delivery event: failed
// at the first part that failed, delivered when every part is. A report
// still in progress (TP-ST 0x20–0x3F) only leaves the SIM.
func (a *Adapter) statusReport(ctx context.Context, sr pdu.StatusReport) (safe bool, err error) {
	mr := strconv.Itoa(int(sr.MR))
	e, err := a.kv.Get(ctx, a.refKey(mr))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		// A report can overtake the record of its send by a moment
		// (the send records it after +CMGS): a recent one waits on the
		// SIM for the next sweep.
		if a.now().Sub(sr.Time) < reportGrace {
			return false, errReportEarly
		}
		a.log.Debug("status report for a message hotline does not know", "mr", mr)
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("modem: status report %s: %w", mr, err)
	}
	var p sentPart
	if json.Unmarshal(e.Value(), &p) != nil {
		return true, nil
	}
	if to, _ := sms.Normalize(sr.Recipient.Number, a.cfg.DefaultRegion); to != "" && to != p.To {
		a.log.Debug("status report for an older use of a message reference", "mr", mr)
		return true, nil
	}
	if !sr.Final() {
		return true, nil
	}
	ev := envelope.Status{ReplyID: p.Reply, Platform: envelope.PlatformSMS, Account: a.cfg.Account,
		Conversation: p.Conversation, PlatformMsgID: "mr:" + mr, At: sr.Discharge.UTC()}
	if ev.At.IsZero() {
		ev.At = a.now().UTC()
	}
	if sr.Delivered() {
		all, err := a.countDelivered(ctx, p)
		if err != nil {
			return false, err
		}
		if !all {
			return true, nil
		}
		ev.State = envelope.StateDelivered
	} else {
		ev.State = envelope.StateFailed
		ev.Error = fmt.Sprintf("status report TP-ST 0x%02X for part %d of %d", sr.Status, p.Part, p.Total)
	}
	subject, _ := envelope.StatusSubject(envelope.PlatformSMS, a.cfg.Account)
	if _, err := a.bus.PublishJSON(ctx, subject, &ev, "status:modem:"+a.cfg.Account+":"+p.Reply+":"+string(ev.State), nil); err != nil {
		return false, fmt.Errorf("modem: status event: %w", err)
	}
	a.log.Info("sms status report", "reply", p.Reply, "state", ev.State, "mr", mr)
	return true, nil
}

// countDelivered records part p as delivered and reports whether all
// parts of its reply now are.
func (a *Adapter) countDelivered(ctx context.Context, p sentPart) (bool, error) {
	if p.Total <= 1 {
		return true, nil
	}
	key := "dlr." + a.cfg.Account + "." + fmt.Sprintf("%08x", fnvString(p.Reply))
	for range 5 {
		var d delivered
		var rev uint64
		e, err := a.kv.Get(ctx, key)
		switch {
		case err == nil:
			rev = e.Revision()
			_ = json.Unmarshal(e.Value(), &d)
		case !errors.Is(err, jetstream.ErrKeyNotFound):
			return false, fmt.Errorf("modem: delivery count: %w", err)
		}
		if !slices.Contains(d.Parts, p.Part) {
			d.Parts = append(d.Parts, p.Part)
		}
		data, _ := json.Marshal(d)
		if rev == 0 {
			_, err = a.kv.Create(ctx, key, data)
		} else {
			_, err = a.kv.Update(ctx, key, data, rev)
		}
		if err == nil {
			return len(d.Parts) >= p.Total, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return false, fmt.Errorf("modem: delivery count: %w", err)
		}
	}
	return false, errors.New("modem: delivery count: too many concurrent updates")
}

func fnvString(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}
