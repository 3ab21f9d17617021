package edge

import (
	"container/list"
	"sync"
	"time"
)

// entryOverhead approximates the memory an entry costs beyond its body, so
// that many tiny objects (or metadata of streamed ones) still count.
const entryOverhead = 256

// lru keeps objects until they expire or until newer ones need the room,
// least recently used first out, with the bound counted in bytes.
type lru struct {
	mu    sync.Mutex
	limit int64
	used  int64
	order *list.List // front: most recently used; values are *object
	items map[string]*list.Element
}

func newLRU(limit int64) *lru {
	return &lru{limit: limit, order: list.New(), items: map[string]*list.Element{}}
}

func cost(o *object) int64 {
	return int64(len(o.data)) + int64(len(o.key)+len(o.etag)+len(o.contentType)+len(o.cacheControl)) + entryOverhead
}

// get returns the fresh object at key, or nil; an expired one is dropped.
func (c *lru) get(key string, now time.Time) *object {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.items[key]
	if el == nil {
		return nil
	}
	o := el.Value.(*object)
	if !now.Before(o.expires) {
		c.drop(el)
		return nil
	}
	c.order.MoveToFront(el)
	return o
}

// add stores o, replacing any entry for its key, then evicts from the back
// until the bound holds. An object larger than the bound is not stored.
func (c *lru) add(o *object) {
	n := cost(o)
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.items[o.key]; el != nil {
		c.drop(el)
	}
	if n > c.limit {
		return
	}
	c.items[o.key] = c.order.PushFront(o)
	c.used += n
	for c.used > c.limit {
		c.drop(c.order.Back())
	}
}

// remove drops key's entry if it still holds o.
func (c *lru) remove(key string, o *object) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.items[key]; el != nil && el.Value.(*object) == o {
		c.drop(el)
	}
}

func (c *lru) drop(el *list.Element) {
	o := c.order.Remove(el).(*object)
	delete(c.items, o.key)
	c.used -= cost(o)
}

func (c *lru) size() (int64, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used, len(c.items)
}
