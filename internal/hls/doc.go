// Package hls reads and writes HLS playlists (RFC 8216): media playlists,
// for on-demand renditions and sliding-window live ones, and master
// playlists that tie renditions together. It keeps the subset of tags
// hlsflow writes and players need; unknown tags are skipped when parsing,
// as the RFC asks of clients.
//
// Ladder is the one builder of a master playlist from a ladder's
// renditions, for on-demand videos (audio a rendition of its own) and live
// streams (audio muxed into each video rendition) alike; Measure gives a
// rendition's BANDWIDTH and AVERAGE-BANDWIDTH from its segments.
package hls
