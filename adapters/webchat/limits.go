package webchat

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// addressShare is how many visitors' budgets one address gets: an office
// or a phone carrier puts many people behind one address, and a script
// that drops its cookie to become a new visitor each time still has one.
const addressShare = 4

// keyedLimits is a token bucket per key (a visitor, an address), each
// perMinute a minute with burst, forgotten once it is full again.
type keyedLimits struct {
	perMinute, burst int

	mu        sync.Mutex
	buckets   map[string]*keyedBucket
	lastPrune time.Time
}

type keyedBucket struct {
	lim  *rate.Limiter
	last time.Time
}

func newKeyedLimits(perMinute, burst int) *keyedLimits {
	return &keyedLimits{perMinute: perMinute, burst: burst, buckets: map[string]*keyedBucket{}}
}

// allow takes one token from key's bucket at now.
func (l *keyedLimits) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
	b := l.buckets[key]
	if b == nil {
		b = &keyedBucket{lim: rate.NewLimiter(rate.Limit(float64(l.perMinute)/60), l.burst)}
		l.buckets[key] = b
	}
	b.last = now
	return b.lim.AllowN(now, 1)
}

// has reports whether key's bucket has a token at now, taking none.
func (l *keyedLimits) has(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	return b == nil || b.lim.TokensAt(now) >= 1
}

// prune forgets the buckets that have refilled: a new one behaves the same.
func (l *keyedLimits) prune(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
}

func (l *keyedLimits) pruneLocked(now time.Time) {
	if now.Sub(l.lastPrune) < time.Minute {
		return
	}
	l.lastPrune = now
	refill := time.Duration(float64(l.burst) * float64(time.Minute) / float64(l.perMinute))
	for k, b := range l.buckets {
		if now.Sub(b.last) > refill {
			delete(l.buckets, k)
		}
	}
}

// clientAddress is the address a visitor's socket comes from: the remote
// address, or with header set (a proxy in front that adds it) the last
// address in it, the one that proxy saw. Earlier entries of
// X-Forwarded-For are whatever the client wrote.
func clientAddress(r *http.Request, header string) string {
	if header != "" {
		if v := r.Header.Values(header); len(v) > 0 {
			list := strings.Split(v[len(v)-1], ",")
			if addr := strings.TrimSpace(list[len(list)-1]); addr != "" {
				return addr
			}
		}
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
