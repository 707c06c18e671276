package router

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"hotline/envelope"
)

// TestSessionClone checks that a clone shares no slice, map or pointer
// with its original, for every field Session has: a field added later
// and forgotten in clone fails here, rather than leaking one
// conversation's change into the cached copy.
func TestSessionClone(t *testing.T) {
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	s := &Session{Conversation: "sms:m:+1", Lang: "zh", Detected: "zh", Phone: "+1", HandoffDay: "2026-11-30", HandoffsToday: 1,
		LastChannel: "sms", LastSeen: now,
		Turns:        []envelope.Turn{{Role: "user", Text: "hi", At: now, Media: []envelope.Media{{URL: "u"}}}},
		Bind:         &PendingBind{Phone: "+1", CodeHash: "h", Expires: now, Attempts: 3},
		BindRequests: []time.Time{now}, Processed: []string{"a"}, Announced: []string{"k"},
		Outbox: []Effects{{InboundID: "a", Replies: []envelope.Reply{{ID: "r"}}}, {InboundID: "b"}}}
	v := reflect.ValueOf(s).Elem()
	for i := range v.NumField() {
		if f := v.Type().Field(i); v.Field(i).IsZero() {
			t.Fatalf("fill in %s in this test's session", f.Name)
		}
	}
	before, _ := json.Marshal(s)
	c := s.clone()
	cv := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		switch f.Type.Kind() {
		case reflect.Slice, reflect.Map, reflect.Pointer:
			if !cv.Field(i).IsNil() && cv.Field(i).Pointer() == v.Field(i).Pointer() {
				t.Errorf("clone shares %s with the original", f.Name)
			}
		}
	}
	c.Turns = append(c.Turns[:0], envelope.Turn{Role: "bot", Text: "changed"})
	c.Processed[0], c.Announced[0], c.BindRequests[0], c.Bind.Attempts = "x", "y", now.Add(time.Hour), 0
	c.dropEffects("a") // shifts the outbox's backing array
	if after, _ := json.Marshal(s); string(after) != string(before) {
		t.Fatalf("changing the clone changed the original:\n%s\n%s", before, after)
	}
}
