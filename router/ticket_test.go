package router

import (
	"context"
	"errors"
	"testing"

	"hotline/bus/bustest"
)

// An agent may quote the ticket the user read out: in lower case, with
// O for 0 and I or L for 1. Two handoffs that share a ticket are not
// guessed between.
func TestResolveHandoff(t *testing.T) {
	t.Parallel()
	b := bustest.Open(t)
	r := newRouter(t, b, testConfig(), Deps{})
	ctx := context.Background()
	ids := []string{"01JDV0000000000000AB100XYZ", "01JDV0000000000000CD10QQQQ", "01JDV1111111111111EF10QQQQ"}
	for _, id := range ids {
		if _, err := r.handoffs.Put(ctx, id, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		ref, want string
		err       error
	}{
		{ids[0], ids[0], nil},
		{"B1O0XYZ", "B100XYZ", nil}, // not a ticket's length: GetHandoff judges it
		{"ab1o0xyz", ids[0], nil},
		{"AB100XYZ", ids[0], nil},
		{"abl0oxyz", ids[0], nil},
		{"zz1o0xyz", "", ErrHandoffNotFound},
		{"10qqqq", "10QQQQ", nil},
		{"EF1OQQQQ", ids[2], nil},
	} {
		got, err := r.ResolveHandoff(ctx, tc.ref)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("ResolveHandoff(%q) = %q, %v; want %q, %v", tc.ref, got, err, tc.want, tc.err)
		}
	}
	if _, err := r.handoffs.Put(ctx, "01JDV2222222222222EF10QQQQ", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ResolveHandoff(ctx, "ef10qqqq"); !errors.Is(err, ErrAmbiguousTicket) {
		t.Fatalf("a ticket two handoffs share: %v, want ErrAmbiguousTicket", err)
	}
}
