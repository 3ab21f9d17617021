package media

// EncodeOptions tune LadderArgs.
type EncodeOptions struct {
	Input    string
	OutDir   string
	Preset   string // x264 preset, default "veryfast"
	Threads  int    // 0 = ffmpeg default
	Progress bool   // add -progress pipe:1
}

// LadderArgs returns the full ffmpeg argv (without the binary name) that
// encodes the whole ladder in one process.
func LadderArgs(src *Source, l Ladder, opt EncodeOptions) []string {
	return nil
}
