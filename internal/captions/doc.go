// Package captions reads subtitle files people upload (WebVTT or SubRip)
// and the WebVTT FFmpeg extracts from a source, checks them and writes
// them back as plain WebVTT: text only, UTF-8, bounded in size and cue
// count, cue times in order, only the markup WebVTT allows. Nothing in a
// file is executed or fetched: style and region blocks, notes, cue
// identifiers and unknown markup are dropped.
package captions
