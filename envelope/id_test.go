package envelope

import (
	"crypto/rand"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
)

func TestParseIDTimeSpecVector(t *testing.T) {
	// The example ULID from the specification's README; its time part
	// 01ARZ3NDEK is 1469922850259 ms, as oklog/ulid also decodes it.
	got, err := ParseIDTime("01ARZ3NDEKTSV4RRFFQ69G5FAV")
	if err != nil {
		t.Fatalf("ParseIDTime: %v", err)
	}
	if want := time.UnixMilli(1469922850259).UTC(); !got.Equal(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestEncodeULIDMatchesReference(t *testing.T) {
	// oklog/ulid is the reference Go implementation; our stdlib-only
	// encoder must render the same 128 bits identically.
	for i := 0; i < 200; i++ {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			t.Fatal(err)
		}
		b[0] &= 0x7f // keep it inside what any encoder accepts
		want := ulid.ULID(b).String()
		if got := encodeULID(b); got != want {
			t.Fatalf("encodeULID(%x) = %s, want %s", b, got, want)
		}
	}
}

func TestNewIDSortsByTime(t *testing.T) {
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var ids []string
	for i := 0; i < 50; i++ {
		ids = append(ids, NewID(base.Add(time.Duration(i)*time.Millisecond)))
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatalf("ids from increasing times are not sorted: %v", ids)
	}
	got, err := ParseIDTime(ids[7])
	if err != nil {
		t.Fatal(err)
	}
	if want := base.Add(7 * time.Millisecond); !got.Equal(want) {
		t.Fatalf("time of id: got %v, want %v", got, want)
	}
	if _, err := ulid.ParseStrict(ids[0]); err != nil {
		t.Fatalf("reference parser refuses our id %s: %v", ids[0], err)
	}
}

func TestParseIDTimeErrors(t *testing.T) {
	for _, id := range []string{"", "01ARZ3NDEK", "81ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FAU", "01ARZ3NDEKTSV4RRFFQ69G5FA!"} {
		if _, err := ParseIDTime(id); !errors.Is(err, ErrBadID) {
			t.Errorf("ParseIDTime(%q) error = %v, want ErrBadID", id, err)
		}
	}
}

func TestDeriveIDIsStableAndKeepsTime(t *testing.T) {
	parent := NewID(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	a, b := DeriveID(parent, "reply.0"), DeriveID(parent, "reply.0")
	if a != b {
		t.Fatalf("same parent and salt gave %s and %s", a, b)
	}
	if c := DeriveID(parent, "reply.1"); c == a {
		t.Fatalf("different salts gave the same id %s", c)
	}
	pt, _ := ParseIDTime(parent)
	at, err := ParseIDTime(a)
	if err != nil || !at.Equal(pt) {
		t.Fatalf("derived id time %v (err %v), want the parent's %v", at, err, pt)
	}
}
