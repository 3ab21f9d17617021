package media

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"
)

// decoderSets caches, per ffprobe binary, the codecs its build can decode
// in software. The builds differ (Debian's decodes AV1 with dav1d; the
// Lambda layer has no AV1 decoder), and a file whose codec the build cannot
// decode must be refused at probe time with a reason, not fail mid-encode.
var decoderSets = struct {
	sync.Mutex
	m map[string]map[string]bool
}{m: map[string]map[string]bool{}}

// decodableCodecs returns the codecs ffprobe's build can decode.
func decodableCodecs(ctx context.Context, ffprobe string) (map[string]bool, error) {
	decoderSets.Lock()
	set, ok := decoderSets.m[ffprobe]
	decoderSets.Unlock()
	if ok {
		return set, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffprobe, "-hide_banner", "-decoders")
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("list the decoders of %s: %w", ffprobe, err)
	}
	set = ParseDecoders(out)
	if len(set) == 0 {
		return nil, fmt.Errorf("list the decoders of %s: none in its output", ffprobe)
	}
	decoderSets.Lock()
	decoderSets.m[ffprobe] = set
	decoderSets.Unlock()
	return set, nil
}

// hardwareOnly are decoders that need a GPU or a hardware block, which
// Lambda and most machines do not have: FFmpeg's own AV1 decoder is one
// (it only drives hardware acceleration), as are the vendor wrappers.
var hardwareOnly = []string{"_cuvid", "_qsv", "_v4l2m2m", "_mediacodec", "_mmal", "_rkmpp", "_vaapi", "_amf"}

// ParseDecoders reads `ffmpeg -decoders` (or ffprobe's) and returns the
// codecs, by ffprobe's codec_name, that at least one software decoder of
// the build handles. Lines name the decoder and, when the codec is called
// otherwise, end with "(codec NAME)".
func ParseDecoders(listing []byte) map[string]bool {
	set := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(listing))
	started := false
	for sc.Scan() {
		line := sc.Text()
		if !started {
			started = strings.TrimSpace(line) == "------"
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || len(f[0]) != 6 {
			continue
		}
		decoder, codec := f[1], f[1]
		if i := strings.LastIndex(line, "(codec "); i >= 0 && strings.HasSuffix(line, ")") {
			codec = line[i+len("(codec ") : len(line)-1]
		}
		if decoder == "av1" || slices.ContainsFunc(hardwareOnly, func(x string) bool { return strings.HasSuffix(decoder, x) }) {
			continue
		}
		set[codec] = true
	}
	return set
}

// Undecodable lists, sorted, the codecs the probe accepts that a build
// with the decodable set cannot decode.
func Undecodable(decodable map[string]bool) []string {
	var missing []string
	for _, m := range []map[string]bool{videoCodecs, audioCodecs} {
		for c := range m {
			if !decodable[c] {
				missing = append(missing, c)
			}
		}
	}
	slices.Sort(missing)
	return missing
}
