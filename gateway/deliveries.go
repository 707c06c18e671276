package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"hotline/bus"
	"hotline/envelope"
	"hotline/fallback"
	"hotline/httpjson"
)

// The operators' view of delivery: what became of each reply, from the
// status events on HOTLINE_STATUS, and the dead letters on HOTLINE_DEAD,
// which they can send again or drop (both audited).
//
//	GET  /admin/v1/deliveries?conversation=&reply=&platform=&state=&limit=
//	GET  /admin/v1/dead?subject=&limit=
//	GET  /admin/v1/dead/{seq}
//	POST /admin/v1/dead/{seq}/retry   {"by", "reason"}
//	POST /admin/v1/dead/{seq}/drop    {"by", "reason"}
//
// Both lists read the newest end of their stream (maxDeliveryScan and
// bus.MaxDeadScan messages at most), which is what an operator working an
// incident looks at; older history is in the streams themselves.

// maxDeliveryScan bounds how many status events a deliveries query reads.
const maxDeliveryScan = 20_000

// deliveryLimit bounds the events a deliveries query returns.
const deliveryLimit = 1000

// DeadRetryResponse answers POST /admin/v1/dead/{seq}/retry.
type DeadRetryResponse struct {
	Seq     uint64 `json:"seq"`
	Subject string `json:"subject"`
	// Stream and Sequence are where the message was published again.
	Stream   string `json:"stream"`
	Sequence uint64 `json:"sequence"`
}

// DeadActionRequest is the body of the dead-letter actions.
type DeadActionRequest struct {
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
}

func deliveriesHandler(b *bus.Bus, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/v1/deliveries", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit, ok := httpjson.Limit(w, q.Get("limit"), 200, deliveryLimit)
		if !ok {
			return
		}
		list, err := deliveries(r.Context(), b, deliveryFilter{conversation: q.Get("conversation"), reply: q.Get("reply"),
			platform: q.Get("platform"), state: envelope.DeliveryState(q.Get("state"))}, limit)
		if err != nil {
			log.Error("admin: deliveries", "err", err)
			httpjson.Error(w, http.StatusInternalServerError, err.Error())
			return
		}
		httpjson.Write(w, http.StatusOK, list)
	})
	mux.HandleFunc("GET /admin/v1/dead", func(w http.ResponseWriter, r *http.Request) {
		limit, ok := httpjson.Limit(w, r.URL.Query().Get("limit"), 100, 1000)
		if !ok {
			return
		}
		subject := r.URL.Query().Get("subject")
		list, err := b.DeadLetters(r.Context(), limit, func(d *bus.DeadRecord) bool {
			return subject == "" || strings.HasPrefix(d.Subject, subject)
		})
		if err != nil {
			log.Error("admin: dead letters", "err", err)
			httpjson.Error(w, http.StatusInternalServerError, err.Error())
			return
		}
		if list == nil {
			list = []bus.DeadRecord{}
		}
		httpjson.Write(w, http.StatusOK, list)
	})
	mux.HandleFunc("GET /admin/v1/dead/{seq}", func(w http.ResponseWriter, r *http.Request) {
		seq, ok := deadSeq(w, r)
		if !ok {
			return
		}
		rec, err := b.DeadLetter(r.Context(), seq)
		if err != nil {
			deadError(w, log, err)
			return
		}
		httpjson.Write(w, http.StatusOK, rec)
	})
	mux.HandleFunc("POST /admin/v1/dead/{seq}/{action}", func(w http.ResponseWriter, r *http.Request) {
		seq, ok := deadSeq(w, r)
		if !ok {
			return
		}
		var req DeadActionRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil || strings.TrimSpace(req.By) == "" {
			httpjson.Error(w, http.StatusBadRequest, `body must be JSON: {"by": "<operator>", "reason": "<why>"}; by is required`)
			return
		}
		var (
			rec   bus.DeadRecord
			resp  any
			err   error
			audit string
		)
		switch r.PathValue("action") {
		case "retry":
			var ack bus.PubAck
			rec, ack, err = b.RetryDead(r.Context(), seq)
			resp, audit = DeadRetryResponse{Seq: seq, Subject: rec.Subject, Stream: ack.Stream, Sequence: ack.Sequence}, fallback.ActionDeadRetry
		case "drop":
			if rec, err = b.DeadLetter(r.Context(), seq); err == nil {
				err = b.DropDead(r.Context(), seq)
			}
			resp, audit = map[string]any{"seq": seq, "dropped": true}, fallback.ActionDeadDrop
		default:
			httpjson.Error(w, http.StatusNotFound, fmt.Sprintf("unknown action %q (retry or drop)", r.PathValue("action")))
			return
		}
		if err != nil {
			deadError(w, log, err)
			return
		}
		ar := fallback.AuditRecord{Action: audit, By: req.By, Reason: req.Reason, At: time.Now().UTC(), DeadSeq: seq,
			Subject: rec.Subject, ReplyID: rec.MessageID()}
		if err := fallback.WriteAudit(r.Context(), b, ar, audit+":"+strconv.FormatUint(seq, 10)); err != nil {
			log.Error("admin: dead letter audit", "seq", seq, "err", err)
			httpjson.Error(w, http.StatusInternalServerError, "done, but its audit record was not written: "+err.Error())
			return
		}
		httpjson.Write(w, http.StatusOK, resp)
	})
	return mux
}

func deadSeq(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("%q is not a dead letter's number (the SEQ column of hotline dead ls)", r.PathValue("seq")))
		return 0, false
	}
	return seq, true
}

func deadError(w http.ResponseWriter, log *slog.Logger, err error) {
	if errors.Is(err, bus.ErrDeadNotFound) {
		httpjson.Error(w, http.StatusNotFound, err.Error())
		return
	}
	log.Error("admin: dead letter", "err", err)
	httpjson.Error(w, http.StatusInternalServerError, err.Error())
}

// deliveryFilter selects status events; empty fields match anything.
type deliveryFilter struct {
	conversation, reply, platform string
	state                         envelope.DeliveryState
}

func (f deliveryFilter) match(st *envelope.Status) bool {
	return (f.conversation == "" || st.Conversation == f.conversation) && (f.reply == "" || st.ReplyID == f.reply) &&
		(f.platform == "" || st.Platform == f.platform) && (f.state == "" || st.State == f.state)
}

// deliveries returns the newest status events f selects, oldest first:
// a conversation's or a reply's timeline reads top to bottom. A timeline
// (f names a conversation or a reply) starts with each reply's "queued"
// entry, read from HOTLINE_OUT: no event says a reply was stored, and a
// timeline that begins at "failed" hides when the answer was made.
func deliveries(ctx context.Context, b *bus.Bus, f deliveryFilter, limit int) ([]envelope.Status, error) {
	out := []envelope.Status{}
	err := b.ScanBack(ctx, bus.StreamStatus, maxDeliveryScan, func(m *jetstream.RawStreamMsg) bool {
		var st envelope.Status
		if json.Unmarshal(m.Data, &st) == nil && f.match(&st) {
			out = append(out, st)
		}
		return len(out) < limit
	})
	if err != nil {
		return nil, fmt.Errorf("deliveries: %w", err)
	}
	slices.Reverse(out) // read newest first; a tie in time keeps stream order
	if (f.conversation != "" || f.reply != "") && (f.state == "" || f.state == envelope.StateQueued) {
		var queued []envelope.Status
		err := b.ScanBack(ctx, bus.StreamOut, maxDeliveryScan, func(m *jetstream.RawStreamMsg) bool {
			var rep envelope.Reply
			if json.Unmarshal(m.Data, &rep) != nil {
				return true
			}
			st := envelope.Status{ReplyID: rep.ID, Platform: rep.Platform, Account: rep.Account, Conversation: rep.Conversation,
				State: envelope.StateQueued, At: m.Time.UTC()}
			if f.match(&st) {
				queued = append(queued, st)
			}
			return len(queued) < limit
		})
		if err != nil {
			return nil, fmt.Errorf("deliveries: %w", err)
		}
		slices.Reverse(queued)
		out = append(queued, out...)
	}
	slices.SortStableFunc(out, func(a, b envelope.Status) int { return a.At.Compare(b.At) })
	return out[max(0, len(out)-limit):], nil
}
