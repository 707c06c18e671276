package passive

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"hotline/envelope"
)

func TestSettle(t *testing.T) {
	m := &envelope.Message{ID: "01JSETTLE", PlatformMsgID: "SM1"}
	tests := []struct {
		name     string
		res      Result
		err      error
		answer   bool
		code     int
		logged   string
		unlogged bool
	}{
		{"replies to write", Result{Replies: []envelope.Reply{{ID: "r"}}}, nil, true, 200, "", true},
		{"a platform retry", Result{Duplicate: true}, nil, true, 200, "", true},
		{"not stored", Result{}, errors.New("no responders"), false, 503, "inbound not stored", false},
		{"request dropped", Result{Gone: true}, nil, false, 200, "", true},
		{"request dropped, forward failed", Result{Gone: true}, errors.New("publish failed"), false, 200, "not queued", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			rec := httptest.NewRecorder()
			answer := Settle(rec, slog.New(slog.NewTextHandler(&logs, nil)), m, tc.res, tc.err)
			if answer != tc.answer || rec.Code != tc.code {
				t.Fatalf("answer %v, status %d; want %v, %d", answer, rec.Code, tc.answer, tc.code)
			}
			if tc.unlogged && logs.Len() != 0 || !strings.Contains(logs.String(), tc.logged) {
				t.Fatalf("log %q, want %q", logs.String(), tc.logged)
			}
			if !tc.answer && tc.code == 200 && rec.Body.Len() != 0 {
				t.Fatalf("wrote %q to a request the platform dropped", rec.Body.String())
			}
		})
	}
}
