// Package hls reads and writes HLS playlists (RFC 8216): media playlists,
// for on-demand renditions and sliding-window live ones, and master
// playlists that tie renditions together. It keeps the subset of tags
// hlsflow writes and players need; unknown tags are skipped when parsing,
// as the RFC asks of clients.
package hls
