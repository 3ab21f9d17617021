// Package media inspects a source with ffprobe, plans an HLS bitrate ladder
// for it, builds the ffmpeg arguments that encode the whole ladder in one
// process, and runs ffmpeg under a context.
//
// It imports nothing of the project, so functions and services can share it.
package media
