package media

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
	"unicode/utf8"
)

// readHead returns the first n bytes of input (fewer if it is shorter). It
// is only used after ffprobe failed, to say what the file is, and reads a
// single range of a URL.
func readHead(ctx context.Context, input string, n int) ([]byte, error) {
	if !isURL(input) {
		f, err := os.Open(input)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		b := make([]byte, n)
		m, err := io.ReadFull(f, b)
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			err = nil
		}
		return b[:m], err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, input, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=0-%d", n-1))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusRequestedRangeNotSatisfiable:
		return nil, nil // a range of an empty object
	case http.StatusOK, http.StatusPartialContent:
		return io.ReadAll(io.LimitReader(resp.Body, int64(n)))
	}
	return nil, fmt.Errorf("read head: %s", resp.Status)
}

// sniff names what a file that ffprobe could not open looks like, or
// returns "" when it cannot tell.
func sniff(head []byte) string {
	switch {
	case len(head) == 0:
		return "the file is empty"
	case bytes.HasPrefix(head, []byte("#EXTM3U")):
		return "the file is a playlist (M3U), which refers to other files; upload the video file itself"
	case bytes.HasPrefix(head, []byte("ffconcat")):
		return "the file is a concat list, which refers to other files; upload the video file itself"
	case isText(head):
		return "the file is text, not a video"
	}
	return ""
}

// looksLikeMP4 reports whether head starts with an ISO BMFF box.
func looksLikeMP4(head []byte) bool {
	if len(head) < 8 {
		return false
	}
	switch string(head[4:8]) {
	case "ftyp", "moov", "mdat", "free", "wide", "skip", "pnot", "uuid":
		return true
	}
	return false
}

func isText(b []byte) bool {
	// A cut in the middle of a multi-byte rune at the end is still text.
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			return len(b) < utf8.UTFMax && !utf8.FullRune(b)
		}
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
		b = b[size:]
	}
	return true
}
