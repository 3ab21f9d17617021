// Package ffmpeg checks the FFmpeg Lambda layer that build.sh makes: its
// tests unpack dist/layers/ffmpeg-{arch}.zip into an otherwise empty root
// and run the layer's ffmpeg and ffprobe there, so nothing can come from
// the host. The package has no code of its own; the layer is a zip.
package ffmpeg
