package telegram

import (
	"context"
	"net/http"
	"testing"
	"time"

	"hotline/bus"
	"hotline/bus/bustest"
)

// Telegram's secret token never changes, so a captured update can be
// posted again at any time: after the stream's duplicate window it is
// recognized by its update_id, answered 200 and not stored again.
func TestUpdateReplayedAfterDuplicateWindowIgnored(t *testing.T) {
	t.Parallel()
	g := newGateway(t, gwOpts{alone: true})
	ctx := context.Background()
	st, err := g.b.JetStream().Stream(ctx, bus.StreamIn)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	cfg.Duplicates = 200 * time.Millisecond
	if _, err := g.b.JetStream().UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	update := textUpdate(nextUpdateID(), testUser, "stop")
	if code, _, body := g.post(t, testSecret, update); code != http.StatusOK {
		t.Fatalf("first: %d %s", code, body)
	}
	// A real wait, not a barrier: the stream's duplicate window (200ms
	// here) is measured in time, and only a replay after it shows that
	// the seen record, not the window, refuses it.
	time.Sleep(400 * time.Millisecond)
	if code, _, body := g.post(t, testSecret, update); code != http.StatusOK {
		t.Fatalf("replay: %d %s, want 200", code, body)
	}
	if n := len(bustest.Messages(t, g.b, bus.StreamIn, "hotline.in.telegram.")); n != 1 {
		t.Fatalf("HOTLINE_IN holds %d, want the update once", n)
	}
}
