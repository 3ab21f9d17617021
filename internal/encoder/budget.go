package encoder

import (
	"fmt"
	"math"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/hlsflow/hlsflow/internal/media"
)

// Budget is what one ffmpeg may use, enforced by the kernel where the OS
// allows it (Linux: see Apply). A zero field means no limit.
type Budget struct {
	// Memory bounds the process's data: heap, private mappings and thread
	// stacks (RLIMIT_DATA). It counts address space ffmpeg has made
	// writable, so it is larger than the resident size.
	Memory int64
	// CPU bounds the CPU time of all its threads together (RLIMIT_CPU).
	CPU time.Duration
}

// Budget sizing, from measurements of the ladder encodes of
// testdata/media (see functions/transcode/README.md, "Limits"): the data
// size peaked at 75 MB for audio and 905 MB for a 1080p source's four-rung
// ladder with six encoder threads; CPU time at 0.015-0.03 s per megapixel
// frame (source plus rungs) with the veryfast preset. The budget is two to
// ten times that, so that only a file that lies about itself reaches it.
const (
	budgetBaseMemory   = 512 << 20 // libraries, buffers, the audio encoder
	budgetMemoryPerCPU = 64 << 20  // a decoder and an encoder thread per CPU, their stacks and frames
	budgetMemoryPerMP  = 256 << 20 // per megapixel of the source and of each rung
	budgetBaseCPU      = 60 * time.Second
	budgetCPUPerSecond = time.Second            // audio, demuxing, muxing, per second of media
	budgetCPUPerMPF    = 250 * time.Millisecond // per megapixel frame, veryfast (x presetCost)
)

// presetCost is the CPU time of an x264 preset relative to veryfast
// (x264's own speed table, rounded up).
var presetCost = map[string]float64{
	"ultrafast": 1, "superfast": 1, "veryfast": 1, "faster": 1.5, "fast": 2,
	"medium": 2.5, "slow": 4, "slower": 8, "veryslow": 16, "placebo": 50,
}

// ValidPreset reports whether p is an x264 preset ("" means the default).
func ValidPreset(p string) bool {
	_, ok := presetCost[p]
	return ok || p == ""
}

// EncodeBudget sizes the Budget of an ffmpeg that decodes seconds of src
// (0 for a single frame) and encodes them into the video rungs of l with
// preset: memory from the picture sizes and the CPUs, CPU time from the
// pixel rate and the duration.
func EncodeBudget(src *media.Source, l media.Ladder, seconds float64, preset string) Budget {
	var mp, mpf float64 // megapixels held, megapixel frames per second
	if src != nil && src.Video != nil {
		v := src.Video
		p := float64(media.MaxPixels(v)) / 1e6
		mp += p
		mpf += p * math.Min(math.Max(v.FPS, 1), media.DefaultLimits.MaxFPS)
	}
	for _, r := range l.Video {
		p := float64(r.Width*r.Height) / 1e6
		mp += p
		mpf += p * math.Max(r.FPS, 1)
	}
	cost := presetCost[preset]
	if cost == 0 {
		cost = presetCost[DefaultPreset]
	}
	mpf *= cost
	for _, r := range l.Extra { // their own presets, at their cost relative to x264 veryfast
		c := codecCost[r.Codec]
		p := float64(r.Width*r.Height) / 1e6
		mp += p * c.memory
		mpf += p * math.Max(r.FPS, 1) * c.cpu
	}
	perSecond := budgetCPUPerSecond + time.Duration(mpf*float64(budgetCPUPerMPF))
	return Budget{
		Memory: budgetBaseMemory + int64(numCPU())*budgetMemoryPerCPU + int64(mp*budgetMemoryPerMP),
		CPU:    budgetBaseCPU + time.Duration(math.Max(seconds, 0)*float64(perSecond)),
	}
}

func (b Budget) String() string {
	var parts []string
	if b.Memory > 0 {
		parts = append(parts, "memory "+media.HumanBytes(b.Memory))
	}
	if b.CPU > 0 {
		parts = append(parts, "CPU time "+b.CPU.Round(time.Second).String())
	}
	if len(parts) == 0 {
		return "no limits"
	}
	return strings.Join(parts, ", ")
}

// LimitError is returned by Run when ffmpeg was stopped by its
// Budget. It wraps media.ErrUnsupported: the input needed more than its size
// promised, and retrying would stop the same way.
type LimitError struct {
	Limit string // "memory" or "CPU time"
	Value string // the limit, e.g. "RLIMIT_DATA 1.1 GiB"
	Run   *RunError
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s: processing stopped at ffmpeg's %s limit (%s), which is set from the video's size and duration (%s)",
		media.ErrUnsupported, e.Limit, e.Value, e.Run)
}

func (e *LimitError) Unwrap() []error { return []error{media.ErrUnsupported, e.Run} }

// memoryFailures are what ffmpeg and its libraries print when an
// allocation or a thread start fails.
var memoryFailures = []string{
	"Cannot allocate memory", "malloc of size", "out of memory", "Out of memory",
	"Resource temporarily unavailable", "std::bad_alloc",
}

// limitHit names the limit of b that stopped a failed process, or
// returns nil when the failure was something else. The memory limit makes
// allocations fail, which ffmpeg reports in words or, in code that does
// not check, dies of; the CPU limit sends SIGXCPU, which ffmpeg takes as a
// request to stop, then SIGKILL.
func limitHit(b Budget, st *os.ProcessState, re *RunError) *LimitError {
	if st == nil {
		return nil
	}
	if b.CPU > 0 && st.UserTime()+st.SystemTime() >= b.CPU-10*time.Millisecond {
		return &LimitError{Limit: "CPU time", Value: "RLIMIT_CPU " + b.CPU.Round(time.Second).String(), Run: re}
	}
	if b.Memory <= 0 {
		return nil
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		switch ws.Signal() {
		case syscall.SIGSEGV, syscall.SIGABRT, syscall.SIGBUS:
			return &LimitError{Limit: "memory", Value: "RLIMIT_DATA " + media.HumanBytes(b.Memory), Run: re}
		}
	}
	for _, l := range re.Stderr {
		for _, m := range memoryFailures {
			if strings.Contains(l, m) {
				return &LimitError{Limit: "memory", Value: "RLIMIT_DATA " + media.HumanBytes(b.Memory), Run: re}
			}
		}
	}
	return nil
}

// errPictureGrew is the cause a Process is stopped ffmpeg with when a decoder
// refused a picture larger than -max_pixels.
type errPictureGrew struct{ size string }

func (e errPictureGrew) Error() string {
	return fmt.Sprintf("%s: the picture grows mid-stream to %s, larger than the size the file declares at its start "+
		"(a file like this can exhaust the encoder); re-encode the video at one picture size and upload it again",
		media.ErrUnsupported, e.size)
}

func (e errPictureGrew) Unwrap() error { return media.ErrUnsupported }

// pictureGrew recognises libavutil's refusal of a picture over
// -max_pixels: "Picture size 8192x8192 exceeds specified max pixel count 33792".
func pictureGrew(line string) (error, bool) {
	_, rest, ok := strings.Cut(line, "Picture size ")
	if !ok || !strings.Contains(rest, " exceeds specified max pixel count") {
		return nil, false
	}
	size, _, _ := strings.Cut(rest, " ")
	return errPictureGrew{size: size}, true
}
