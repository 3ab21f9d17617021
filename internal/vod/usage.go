package vod

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/hlsflow/hlsflow/internal/cost"
	"github.com/hlsflow/hlsflow/internal/metrics"
)

// The pipeline's metrics (EMF on Lambda, /metrics under hlsflow up).
var (
	mJobsStarted   = metrics.Metric{Name: "JobsStarted", Unit: "Count", Kind: metrics.Counter, Help: "On-demand jobs started."}
	mJobsReady     = metrics.Metric{Name: "JobsReady", Unit: "Count", Kind: metrics.Counter, Help: "On-demand jobs that made a ready video."}
	mJobsFailed    = metrics.Metric{Name: "JobsFailed", Unit: "Count", Kind: metrics.Counter, Help: "On-demand jobs that failed, by reason."}
	mSourceSeconds = metrics.Metric{Name: "SourceSeconds", Unit: "Seconds", Kind: metrics.Sum, Help: "Duration of the sources made ready."}
	mEncodeSeconds = metrics.Metric{Name: "EncodeSeconds", Unit: "Seconds", Kind: metrics.Sum, Help: "Function seconds spent encoding (every chunk invocation, or the one ffmpeg)."}
	mGBSeconds     = metrics.Metric{Name: "GBSeconds", Unit: "None", Kind: metrics.Sum, Help: "Lambda GB-seconds of each ready job, every function."}
	mFirstPlayable = metrics.Metric{Name: "TimeToFirstPlayable", Unit: "Seconds", Kind: metrics.Sum, Help: "From the job's start until a master playlist could be played."}
	mCostUSD       = metrics.Metric{Name: "JobCostUSD", Unit: "None", Kind: metrics.Sum, Help: "Cost of each ready job in US dollars at the published prices."}
)

// usage is what a job used, counted as it goes; the fan-out's goroutines
// and the tracker add to it.
type usage struct {
	started           time.Time
	puts, gets, bytes atomic.Int64

	mu            sync.Mutex
	encode        []float64     // wall seconds of each encode invocation (fan-out)
	encodeHere    float64       // wall seconds of the one ffmpeg here
	firstPlayable time.Duration // since started; 0 until a master is written
}

// wrote counts n PUTs of size bytes in all.
func (u *usage) wrote(n int, size int64) {
	u.puts.Add(int64(n))
	u.bytes.Add(size)
}

func (u *usage) encoded(seconds float64) {
	u.mu.Lock()
	u.encode = append(u.encode, seconds)
	u.mu.Unlock()
}

// playable notes the first time a master playlist is written.
func (u *usage) playable() {
	u.mu.Lock()
	if u.firstPlayable == 0 {
		u.firstPlayable = time.Since(u.started)
	}
	u.mu.Unlock()
}

// bill is the job's cost: this invocation of the transcode function so
// far (its memory × wall seconds since it started), each encode
// invocation, and the S3 requests, counting the status.json write that
// will record it; at prices. It also returns the seconds spent encoding.
func (u *usage) bill(transcodeMB, encodeMB int, prices cost.Prices) (*cost.Usage, float64) {
	c := &cost.Usage{S3Puts: u.puts.Load() + 1, S3Gets: u.gets.Load(), BytesWritten: u.bytes.Load()}
	c.Invocation("transcode", transcodeMB, time.Since(u.started).Seconds())
	u.mu.Lock()
	encodeSeconds := u.encodeHere
	for _, s := range u.encode {
		c.Invocation("encode", encodeMB, s)
		encodeSeconds += s
	}
	u.mu.Unlock()
	c.Price(prices)
	return c, encodeSeconds
}

func (u *usage) firstPlayableSeconds() float64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.firstPlayable.Seconds()
}
