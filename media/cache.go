package media

import (
	"container/list"
	"sync"
	"time"
)

// cache keeps recently served files in memory, least recently used out
// first, each for a short while: a video player asks for the same file
// again and again in ranges, and the console redraws every few seconds.
// It is bounded in bytes, not entries, since one video weighs as much as
// a thousand thumbnails.
type cache struct {
	mu    sync.Mutex
	max   int64
	ttl   time.Duration
	now   func() time.Time
	size  int64
	order *list.List // of *cached, most recently used first
	items map[string]*list.Element
}

type cached struct {
	key     string
	data    []byte
	ctype   string
	expires time.Time
}

func newCache(maxBytes int64, ttl time.Duration, now func() time.Time) *cache {
	return &cache{max: maxBytes, ttl: ttl, now: now, order: list.New(), items: map[string]*list.Element{}}
}

func (c *cache) get(key string) (*cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return nil, false
	}
	it := e.Value.(*cached)
	if !c.now().Before(it.expires) {
		c.remove(e)
		return nil, false
	}
	c.order.MoveToFront(e)
	return it, true
}

// put stores a file unless it alone is larger than the cache, evicting
// expired files and then the least recently used until it fits.
func (c *cache) put(key string, data []byte, ctype string) {
	n := int64(len(data))
	if c.max <= 0 || n > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.remove(e)
	}
	now := c.now()
	for e := c.order.Back(); e != nil; {
		prev := e.Prev()
		if !now.Before(e.Value.(*cached).expires) {
			c.remove(e)
		}
		e = prev
	}
	for c.size+n > c.max {
		c.remove(c.order.Back())
	}
	c.items[key] = c.order.PushFront(&cached{key: key, data: data, ctype: ctype, expires: now.Add(c.ttl)})
	c.size += n
}

func (c *cache) remove(e *list.Element) {
	it := c.order.Remove(e).(*cached)
	delete(c.items, it.key)
	c.size -= int64(len(it.data))
}

// bytes is what the cache holds now.
func (c *cache) bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}
