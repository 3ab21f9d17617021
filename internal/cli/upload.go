package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	tm "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"

	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/store"
)

// partSize is the multipart part size: big enough to keep the part count
// low for multi-GB files, small enough to keep memory bounded (the SDK
// holds a few parts in memory at a time).
const partSize = 16 << 20

func runUpload(ctx context.Context, env Env, args []string) error {
	var c Common
	fs := newFlagSet("upload", env)
	c.register(fs)
	c.registerDeployment(fs)
	wait := fs.Bool("wait", false, "show progress and wait until the video is ready (exit 1 if it fails)")
	key := fs.String("key", "", "object key in the uploads bucket (default: the file's base name)")
	timeout := fs.Duration("timeout", 2*time.Hour, "with --wait, give up after this long")
	token := fs.String("token", "", "API token, for a playback URL under signed playback (default: $HLSFLOW_TOKEN, then DATA/api.token, or with --outputs the stack's secret)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want exactly one FILE, got %d arguments", errUsage, len(pos))
	}
	path := pos[0]
	if *key == "" {
		*key = filepath.Base(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return err // *PathError already says "open PATH: why"
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a directory, not a video file", path)
	}
	tg, err := c.connect(ctx)
	if err != nil {
		return err
	}

	id := catalog.VideoID(*key)
	up := tm.New(tg.store.Client, func(o *tm.Options) {
		o.PartSizeBytes = partSize
		o.MultipartUploadThreshold = partSize
		o.Concurrency = 4
		// Checksums only where S3 requires them, as the store's client does:
		// not every S3-compatible server accepts the newer ones.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	})
	body := &countingReader{r: f, total: st.Size(), w: env.Stderr, show: *wait}
	out, err := up.UploadObject(ctx, &tm.UploadObjectInput{
		Bucket:        aws.String(tg.uploads),
		Key:           aws.String(*key),
		Body:          body,
		ContentLength: aws.Int64(st.Size()),
		ContentType:   aws.String(contentTypeOf(path)),
	})
	if err != nil {
		return fmt.Errorf("upload %s to s3://%s/%s: %w", path, tg.uploads, *key, err)
	}
	body.finish()
	fmt.Fprintf(env.Stdout, "id: %s\n", id)
	pb := playbackOf(ctx, env, &c, tg, *token, id)
	pb.printEarly(env, tg, id, *wait)
	if !*wait {
		return nil
	}
	// The key may have held another file before: its status.json says
	// ready or failed until this upload is picked up. The ETag S3 gave the
	// upload tells which upload a status is about, as the transcoder
	// records it (from a HEAD, which answers the same ETag).
	wctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := waitReady(wctx, env, tg.store, tg.media, id, strings.Trim(aws.ToString(out.ETag), `"`)); err != nil {
		return err
	}
	return pb.printGranted(ctx, env, &c, tg, *token, id)
}

// waitReady polls status.json until it is about the upload with etag and
// that is ready or failed, drawing a progress bar on stderr.
func waitReady(ctx context.Context, env Env, s *store.Store, bucket, id, etag string) error {
	bar := progressBar{w: env.Stderr}
	defer bar.done()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := catalog.Read(ctx, s, bucket, id)
		switch {
		case err == nil && st.Source.ETag != etag && st.Replacement != nil && st.Replacement.Source.ETag == etag:
			// The previous upload plays on while this one replaces it.
			if r := st.Replacement; r.State == catalog.StateFailed {
				bar.draw("failed", r.Progress)
				return fmt.Errorf("video %s: the new upload failed (the previous version still plays): %s", id, r.Error)
			}
			bar.draw("replacing", st.Replacement.Progress)
		case errors.Is(err, store.ErrNotFound), err == nil && st.Source.ETag != etag:
			bar.draw("queued", 0)
		case err != nil && ctx.Err() == nil:
			bar.draw("waiting for status", 0)
		case err == nil:
			switch st.State {
			case catalog.StateReady:
				bar.draw("ready", 1)
				return nil
			case catalog.StateFailed:
				bar.draw("failed", st.Progress)
				return fmt.Errorf("video %s failed: %s", id, st.Error)
			default:
				bar.draw(string(st.State), st.Progress)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up waiting for video %s: %w", id, ctx.Err())
		case <-tick.C:
		}
	}
}

func contentTypeOf(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".mp4", ".m4v":
		return "video/mp4"
	case ".mov":
		return "video/quicktime"
	case ".webm":
		return "video/webm"
	case ".mkv":
		return "video/x-matroska"
	case ".ts":
		return "video/mp2t"
	case ".flv":
		return "video/x-flv"
	case ".m4a":
		return "audio/mp4"
	case ".mp3":
		return "audio/mpeg"
	default:
		return "application/octet-stream"
	}
}

// countingReader reports upload progress. The SDK reads parts
// sequentially from a non-seekable reader, so bytes read ≈ bytes sent.
type countingReader struct {
	r     io.Reader
	total int64
	n     int64
	w     io.Writer
	show  bool
	last  time.Time
	bar   progressBar
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.show && time.Since(c.last) > 200*time.Millisecond {
		c.last = time.Now()
		frac := 1.0
		if c.total > 0 {
			frac = float64(c.n) / float64(c.total)
		}
		c.bar.w = c.w
		c.bar.draw("uploading", frac)
	}
	return n, err
}

func (c *countingReader) finish() {
	if c.show {
		c.bar.w = c.w
		c.bar.draw("uploaded", 1)
		c.bar.done()
	}
}
