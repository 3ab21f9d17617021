package media

import "os"

// FFmpegPath returns the ffmpeg binary to run: $FFMPEG_PATH, else the Lambda
// layer's /opt/bin/ffmpeg when present, else "ffmpeg" looked up on PATH.
func FFmpegPath() string { return toolPath("FFMPEG_PATH", "/opt/bin/ffmpeg", "ffmpeg") }

// FFprobePath is FFmpegPath for ffprobe ($FFPROBE_PATH, /opt/bin/ffprobe, "ffprobe").
func FFprobePath() string { return toolPath("FFPROBE_PATH", "/opt/bin/ffprobe", "ffprobe") }

func toolPath(env, layer, name string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	if fi, err := os.Stat(layer); err == nil && !fi.IsDir() {
		return layer
	}
	return name
}
