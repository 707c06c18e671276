package passive

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"hotline/bus/bustest"
	"hotline/envelope"
)

func sendOffer(t *testing.T, nc *nats.Conn, inbox string, n int) (string, error) {
	t.Helper()
	var o offer
	for range n {
		o.Replies = append(o.Replies, envelope.Reply{ID: envelope.NewID(time.Now()), Text: "hi"})
	}
	data, _ := json.Marshal(o)
	resp, err := nc.Request(inbox, data, time.Second)
	if err != nil {
		return "", err
	}
	return string(resp.Data), nil
}

func TestOneOfferWinsAndLateOffersAreRefused(t *testing.T) {
	nc := bustest.Open(t).Conn()
	w, err := Open(nc, time.Now().Add(2*time.Second), 1)
	if err != nil {
		t.Fatal(err)
	}
	inbox := w.Header().Get(HeaderInbox)
	if got, err := sendOffer(t, nc, inbox, 2); err != nil || got == accepted {
		t.Fatalf("two replies to a one-reply window: %q %v, want refused", got, err)
	}
	if got, err := sendOffer(t, nc, inbox, 1); err != nil || got != accepted {
		t.Fatalf("first offer: %q %v, want accepted", got, err)
	}
	if got, _ := sendOffer(t, nc, inbox, 1); got == accepted {
		t.Fatal("a second offer was accepted")
	}
	if got := w.Wait(context.Background()); len(got) != 1 {
		t.Fatalf("Wait returned %d replies, want the accepted one", len(got))
	}
	if _, err := sendOffer(t, nc, inbox, 1); !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("offer after Wait: %v, want no responders", err)
	}
}

func TestDeadlineClosesTheWindow(t *testing.T) {
	nc := bustest.Open(t).Conn()
	w, err := Open(nc, time.Now().Add(100*time.Millisecond), 5)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Wait(context.Background()); got != nil {
		t.Fatalf("got %d replies with no offer", len(got))
	}
	if _, err := sendOffer(t, nc, w.Header().Get(HeaderInbox), 1); err == nil {
		t.Fatal("an offer after the deadline reached the window")
	}
	dl, err := time.Parse(time.RFC3339Nano, w.Header().Get(HeaderDeadline))
	if err != nil || dl.IsZero() {
		t.Fatalf("deadline header: %v", err)
	}
}

// TestLateAnswerIsStillHeard: the window took the offer, but its answer
// reaches the router after the deadline plus Guard (here its record is
// slow; on a loaded cluster the hop between nodes can be). The router
// must count the reply as taken, or it would send it by API as well as
// in the response.
func TestLateAnswerIsStillHeard(t *testing.T) {
	nc := bustest.Open(t).Conn()
	deadline := time.Now().Add(time.Second)
	w, err := open(nc, deadline, 1, func(context.Context, []envelope.Reply, []json.RawMessage) error {
		time.Sleep(time.Until(deadline.Add(2 * Guard))) // the slow record the scenario is about
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	inv := InvitationFrom(w.Header())
	taken, recorded := inv.Offer(context.Background(), nc, time.Now(), []envelope.Reply{{ID: envelope.NewID(time.Now()), Text: "hi"}})
	if !taken || !recorded {
		t.Fatalf("an answer %v past the deadline: taken %v, recorded %v; want both", 2*Guard, taken, recorded)
	}
	if got := w.Wait(context.Background()); len(got) != 1 {
		t.Fatalf("the response carries %d replies, want 1", len(got))
	}
}

func TestExchange(t *testing.T) {
	b := bustest.Open(t)
	nc := b.Conn()
	// A stand-in for the router: offer one reply to every inbound's window.
	type answer struct {
		replyID, text string
	}
	answers := make(chan answer, 4)
	sub, err := nc.Subscribe("hotline.in.>", func(msg *nats.Msg) {
		if inbox := msg.Header.Get(HeaderInbox); inbox != "" {
			id := envelope.NewID(time.Now())
			data, _ := json.Marshal(offer{Replies: []envelope.Reply{{ID: id, Text: "hello"}}})
			resp, err := nc.Request(inbox, data, time.Second)
			if err == nil {
				answers <- answer{id, string(resp.Data)}
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	now := time.Now().UTC()
	m := &envelope.Message{ID: envelope.NewID(now), Platform: "webchat", Account: "demo", PlatformMsgID: "p-1",
		Conversation: "webchat:demo:v1", From: envelope.Party{ID: "v1"}, Kind: envelope.KindText, Text: "hi", ReceivedAt: now}
	res, err := Exchange(context.Background(), b, m, time.Now().Add(2*time.Second), 1, "test-api")
	if err != nil || res.Duplicate || res.Gone || len(res.Replies) != 1 || res.Replies[0].Text != "hello" {
		t.Fatalf("first exchange: %+v, %v; want the offered reply", res, err)
	}
	// The window recorded the reply as sent before it answered, so an
	// answer lost on its way cannot make the router send it again.
	a := <-answers
	if a.text != acceptedRecorded {
		t.Errorf("the window answered %q, want %q", a.text, acceptedRecorded)
	}
	if sent, err := b.WasSent(context.Background(), a.replyID); err != nil || !sent {
		t.Errorf("reply taken by the window: sent %v, %v; want it recorded as sent", sent, err)
	}
	// This stand-in's reply id is not the router's (envelope.ReplyID), so
	// a retry finds nothing to give again.
	res, err = Exchange(context.Background(), b, m, time.Now().Add(2*time.Second), 1, "test-api")
	if err != nil || !res.Duplicate || len(res.Replies) != 0 {
		t.Fatalf("retried message: %+v, %v; want a duplicate with no replies", res, err)
	}
}

// TestRetryOfALostAnswerIsAnswered: the window took the router's reply
// and recorded it, and the instance died before writing its response
// (here: the response is dropped). The platform's retry of the message,
// to any instance, is a duplicate naming its original, whose reply
// Earlier finds; the router is not asked again.
func TestRetryOfALostAnswerIsAnswered(t *testing.T) {
	b := bustest.Open(t)
	nc := b.Conn()
	var offers atomic.Int32
	sub, err := nc.Subscribe("hotline.in.>", func(msg *nats.Msg) {
		inbox := msg.Header.Get(HeaderInbox)
		var in envelope.Message
		if inbox == "" || envelope.Decode(msg.Data, &in) != nil {
			return
		}
		offers.Add(1)
		data, _ := json.Marshal(offer{Replies: []envelope.Reply{{ID: envelope.ReplyID(in.ID, 1), Text: "menu: 1 account, 2 payments"}}})
		_, _ = nc.Request(inbox, data, time.Second)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	now := time.Now().UTC()
	m := &envelope.Message{ID: envelope.NewID(now), Platform: "sms", Account: "sms-main", PlatformMsgID: "SM-lost",
		Conversation: "sms:sms-main:+15550100", From: envelope.Party{ID: "+15550100"}, Kind: envelope.KindText, Text: "menu", ReceivedAt: now}
	first, err := Exchange(context.Background(), b, m, time.Now().Add(2*time.Second), 5, "test-api")
	if err != nil || len(first.Replies) != 1 {
		t.Fatalf("first exchange: %+v, %v", first, err)
	}
	// ... and that response never reaches the platform. Its retry comes
	// with a new gateway id, as a new request would.
	retry := *m
	retry.ID = envelope.NewID(time.Now())
	res, err := Exchange(context.Background(), b, &retry, time.Now().Add(2*time.Second), 5, "test-api")
	if err != nil || !res.Duplicate || len(res.Replies) != 0 || res.Original == 0 {
		t.Fatalf("retry: %+v, %v; want a duplicate naming its original, with no replies of its own", res, err)
	}
	earlier := Earlier(context.Background(), b, res.Original, 5)
	if len(earlier) != 1 || earlier[0].Text != first.Replies[0].Text || earlier[0].ID != first.Replies[0].ID {
		t.Fatalf("Earlier = %+v, want %+v", earlier, first.Replies)
	}
	if n := offers.Load(); n != 1 {
		t.Fatalf("the router was offered a window %d times, want once", n)
	}
}

// TestSentRecordIsJSON: the record written by hand is what marshalling
// its map gave, byte for byte.
func TestSentRecordIsJSON(t *testing.T) {
	at := time.Date(2026, 11, 30, 8, 0, 0, 123456789, time.FixedZone("", 8*3600))
	want, _ := json.Marshal(map[string]any{"state": envelope.StatePassive, "at": at.UTC()})
	if got := SentRecord(at); string(got) != string(want) {
		t.Fatalf("SentRecord = %s, want %s", got, want)
	}
}

// TestTakenRecordIsJSON: the record put together from the offered bytes
// is what marshalling its struct gives, byte for byte.
func TestTakenRecordIsJSON(t *testing.T) {
	at := time.Date(2026, 11, 30, 8, 0, 0, 5, time.UTC)
	rep := envelope.Reply{ID: "01JREPLY", Text: "مرحبا \"quoted\"", Lang: "ar"}
	want, _ := json.Marshal(struct {
		At    time.Time              `json:"at"`
		State envelope.DeliveryState `json:"state"`
		Reply envelope.Reply         `json:"reply"`
	}{at, envelope.StatePassive, rep})
	offered, _ := json.Marshal(offer{Replies: []envelope.Reply{rep}})
	replies, raw, ok := decodeOffer(offered)
	if !ok || len(replies) != 1 || replies[0].Text != rep.Text {
		t.Fatalf("decodeOffer(%s) = %+v, %v", offered, replies, ok)
	}
	if got := takenRecord(at, raw[0]); string(got) != string(want) {
		t.Fatalf("takenRecord = %s, want %s", got, want)
	}
	if _, _, ok := decodeOffer([]byte(`{"replies":[{"id":1}]}`)); ok {
		t.Fatal("an offer with a reply that does not decode was taken")
	}
}
