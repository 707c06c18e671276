package envelope

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// crockford is the ULID alphabet (Crockford's base32, no I, L, O or U).
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// IDLen is the length of a gateway id in characters.
const IDLen = 26

// NewID returns a new gateway id: a ULID (https://github.com/ulid/spec)
// whose first 48 bits are the Unix time in milliseconds and whose last 80
// bits are random. Ids sort by creation time to the millisecond; ids made in
// the same millisecond sort in random order, which is all hotline needs
// (JetStream sequences give the exact order within a stream).
func NewID(now time.Time) string {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	b[0] = byte(ms >> 40)
	b[1] = byte(ms >> 32)
	binary.BigEndian.PutUint32(b[2:6], uint32(ms))
	// crypto/rand.Read never returns an error on supported platforms
	// (it panics instead), so there is nothing to handle here.
	_, _ = rand.Read(b[6:])
	return encodeULID(b)
}

// encodeULID renders 128 bits as 26 Crockford base32 characters, the first
// character carrying only the top 3 bits.
func encodeULID(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [IDLen]byte
	for i := IDLen - 1; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// ErrBadID is returned by ParseIDTime for a string that is not a ULID.
var ErrBadID = errors.New("envelope: malformed gateway id")

// ParseIDTime checks that id is a well-formed ULID and returns the time it
// carries.
func ParseIDTime(id string) (time.Time, error) {
	if len(id) != IDLen {
		return time.Time{}, fmt.Errorf("%w: length %d, want %d", ErrBadID, len(id), IDLen)
	}
	// The first character holds 3 bits only, so anything above '7'
	// would overflow 128 bits.
	if id[0] > '7' {
		return time.Time{}, fmt.Errorf("%w: first character %q overflows", ErrBadID, id[0])
	}
	var ms uint64
	for i := 0; i < IDLen; i++ {
		v := decodeCrockford(id[i])
		if v < 0 {
			return time.Time{}, fmt.Errorf("%w: character %q at %d", ErrBadID, id[i], i)
		}
		if i < 10 {
			ms = ms<<5 | uint64(v)
		}
	}
	return time.UnixMilli(int64(ms)).UTC(), nil
}

func decodeCrockford(c byte) int {
	if c >= 'a' && c <= 'z' {
		c -= 'a' - 'A'
	}
	for i := 0; i < len(crockford); i++ {
		if crockford[i] == c {
			return i
		}
	}
	return -1
}

// DeriveID returns a gateway id fixed by parent and salt: the parent's
// time with 80 bits taken from a SHA-256 of both. The router derives its
// reply ids from the inbound id this way, so a redelivered inbound yields
// the same reply id and the stream's duplicate window drops the second
// publish. A parent that is not a ULID is hashed whole with the current
// time's millisecond left at zero.
func DeriveID(parent, salt string) string {
	var b [16]byte
	if t, err := ParseIDTime(parent); err == nil {
		ms := uint64(t.UnixMilli())
		b[0] = byte(ms >> 40)
		b[1] = byte(ms >> 32)
		binary.BigEndian.PutUint32(b[2:6], uint32(ms))
	}
	sum := sha256.Sum256([]byte(parent + "\x00" + salt))
	copy(b[6:], sum[:10])
	return encodeULID(b)
}

// ReplyID is the id of the n-th reply (from 1) the router gives to the
// inbound message inboundID: derived, so a message handled twice gets
// replies with the same ids, and a webhook can find the replies of a
// message it stored.
func ReplyID(inboundID string, n int) string {
	return DeriveID(inboundID, "reply."+strconv.Itoa(n))
}
