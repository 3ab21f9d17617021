package edge

import (
	"bytes"
	"io"
	"net/http"
	"sync"
)

// memReader is a cached body as http.ServeContent reads it; directWriter
// recognises it and writes the wanted bytes straight from the cache.
type memReader struct {
	bytes.Reader
	data []byte
}

// directWriter lets http.ServeContent keep the HTTP semantics (ranges,
// preconditions, 304, 416) while the body of a cached object goes out in
// one Write of a slice of the cached bytes: no copy through a 32 kB buffer,
// which net/http would otherwise allocate per response, and few syscalls.
// It carries the body's reader too, and both come from a pool, so a cache
// hit costs no allocation of the edge's own.
type directWriter struct {
	http.ResponseWriter
	body memReader
}

var directWriters = sync.Pool{New: func() any { return new(directWriter) }}

func newDirectWriter(w http.ResponseWriter, data []byte) *directWriter {
	d := directWriters.Get().(*directWriter)
	d.ResponseWriter = w
	d.body.data = data
	d.body.Reset(data)
	return d
}

// release returns d to the pool; neither d nor its reader may be used
// after, and http.ServeContent keeps neither once it has returned.
func (d *directWriter) release() {
	d.ResponseWriter = nil
	d.body.data = nil
	d.body.Reset(nil)
	directWriters.Put(d)
}

// Unwrap gives http.ResponseController the real writer.
func (d *directWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }

// ReadFrom is what io.CopyN inside http.ServeContent ends up calling, with
// an *io.LimitedReader around the content it was given.
func (d *directWriter) ReadFrom(src io.Reader) (int64, error) {
	if lr, ok := src.(*io.LimitedReader); ok {
		if mr, ok := lr.R.(*memReader); ok {
			pos := mr.Size() - int64(mr.Len())
			n := min(lr.N, int64(mr.Len()))
			written, err := d.ResponseWriter.Write(mr.data[pos : pos+n])
			m := int64(written)
			lr.N -= m
			if _, serr := mr.Seek(m, io.SeekCurrent); err == nil {
				err = serr
			}
			return m, err
		}
	}
	if rf, ok := d.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{d.ResponseWriter}, src)
}
