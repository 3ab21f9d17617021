// Package media inspects a source with ffprobe and plans what is made of
// it: Probe, then PlanLadder. It also says how any ffmpeg may open an
// upload (InputArgs) and names the files of a rendition (SegmentName,
// PlaylistName); internal/encoder builds and runs the encodes themselves.
//
//   - Probe refuses, with errors wrapping ErrUnsupported and worded for the
//     uploader, anything that is not a plain audio/video file in an
//     allow-listed container (images, playlists, concat lists, text, damaged
//     or absurd files). It reads the input (a local path or a presigned
//     URL) through ffprobe with range requests, never the whole file.
//   - PlanLadder picks rungs (1080p/720p/480p/360p, 240p for small sources,
//     a single own-size rung for tiny ones), never upscaling, in display
//     orientation, with even sizes, capped frame rates and a bitrate table.
//   - SegmentCodecs reads back what x264 wrote (the master's CODECS).
//
// Security: uploads are hostile. Both ffprobe and ffmpeg run with
// -format_whitelist (the allow-listed demuxers) and a -protocol_whitelist
// limited to what the input needs, and ffmpeg is forced to the demuxer
// Probe found (-f Source.Demuxer), so an uploaded playlist cannot make them
// open the files or URLs it names. Every decode is bounded too (InputArgs):
// -max_pixels from the probed picture, so a file that grows mid-stream (a
// decompression bomb) has its larger pictures refused; -t from the probed
// duration plus DurationMargin.
//
// It imports nothing of the project, so functions and services can share it.
package media
