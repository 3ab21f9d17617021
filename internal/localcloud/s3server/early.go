package s3server

import (
	"net"
	"sync"
	"time"
)

// holdWrite bounds how long a failed write waits for the connection's
// reader to finish with the answer that came before it.
const holdWrite = 10 * time.Second

// earlyAnswerConn lets an answer the gateway gives before it has read a
// request's whole body reach the client. The gateway answers a PUT with a
// wrong signature at once and closes the connection; sending the rest of
// the body then fails, and net/http's transport returns that write error,
// not the answer, whenever the error comes first (a race: a 1 MB PUT with
// a wrong secret got 503 instead of S3's 403 about one time in two). A
// write that fails is therefore held until the transport has finished
// reading from the connection (it closed it, or its reader got an error
// too) so the answer it read wins; the error is then returned unchanged.
type earlyAnswerConn struct {
	net.Conn
	done     chan struct{} // closed once reading is over
	doneOnce sync.Once
}

func newEarlyAnswerConn(c net.Conn) *earlyAnswerConn {
	return &earlyAnswerConn{Conn: c, done: make(chan struct{})}
}

func (c *earlyAnswerConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.finish()
	}
	return n, err
}

func (c *earlyAnswerConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil {
		t := time.NewTimer(holdWrite)
		defer t.Stop()
		select {
		case <-c.done:
		case <-t.C:
		}
	}
	return n, err
}

func (c *earlyAnswerConn) Close() error {
	c.finish()
	return c.Conn.Close()
}

func (c *earlyAnswerConn) finish() { c.doneOnce.Do(func() { close(c.done) }) }
