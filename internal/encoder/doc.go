// Package encoder is the one place that knows ffmpeg's encoding: it builds
// the arguments of every encode (Args: on demand, chunks of a long video,
// live, with optional storyboard sheets; PosterArgs; DownloadArgs, an MP4
// remux of encoded segments) and of a restream's copy of a live feed (RelayArgs),
// runs ffmpeg (Run, Start) and reports the segments as they finish
// (Watch).
//
// A Job is an input (a probed file or URL with an optional span, or a live
// MPEG-TS feed on stdin), a media.Ladder, and an output (VOD or a Live
// window; segment names with a revision, a start number and a time offset
// that continue another encode's timeline). Every encode of a ladder gets
// the same filter graph (LadderGraph), the same x264 keyframe rules and
// the same HLS muxer settings, so renditions made by one process, by
// chunks, or live all switch and join cleanly.
//
// A Process is ffmpeg in its own process group, with its stdin fed from a
// bounded queue when it reads a pipe, its -progress parsed, the last lines
// of its stderr kept for errors, and a Budget (RLIMIT_DATA, RLIMIT_CPU,
// sized by EncodeBudget) set with prlimit. A decoder refusing a picture
// larger than -max_pixels (media.InputArgs) stops it at once. It never
// outlives us: stopping it stops its group (SIGTERM, then SIGKILL after
// KillGrace), and on Linux the kernel SIGKILLs it when this process dies,
// even of kill -9 (see Process.start).
//
// Dependencies: encoder imports internal/media (what a source is, how an
// upload may be opened, the ladder and file names) and internal/hls (to
// read ffmpeg's playlists), which import nothing of the project. media
// inspects and plans; encoder runs ffmpeg.
package encoder
