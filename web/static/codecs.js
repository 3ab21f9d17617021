// Names for what the player plays: the CODECS strings of the master
// playlist (RFC 6381: "avc1.64001f", "mp4a.40.2") as people know them
// (H.264, AAC), and a level's codec and picture size for the player bar;
// and which video codec of a master the page prefers.
(function () {
  'use strict';

  // By sample entry (the part before the first dot); MP3 in MP4 is
  // mp4a.40.34 or mp4a.69/6B (object types), the rest of mp4a is AAC.
  const NAMES = {
    avc1: 'H.264', avc3: 'H.264', hvc1: 'HEVC', hev1: 'HEVC', av01: 'AV1',
    vp09: 'VP9', vp08: 'VP8', vp8: 'VP8', vp9: 'VP9',
    mp4a: 'AAC', 'ac-3': 'AC-3', 'ec-3': 'E-AC-3', opus: 'Opus', flac: 'FLAC', alac: 'ALAC',
  };
  const MP3 = /^mp4a\.(40\.34|69|6b)$/;

  // name gives the name of one codec string, or the string itself when it
  // is not one of ours; '' for none.
  function name(codec) {
    const c = String(codec || '').trim();
    const lower = c.toLowerCase();
    if (MP3.test(lower)) return 'MP3';
    return NAMES[lower.split('.')[0]] || c;
  }

  // describe gives "H.264 · 1280×720" for an hls.js level (videoCodec,
  // width, height), leaving out what the level does not say.
  function describe(level) {
    const parts = [];
    if (level.videoCodec) parts.push(name(level.videoCodec));
    else if (level.audioCodec && !level.height) parts.push(name(level.audioCodec));
    if (level.width && level.height) parts.push(level.width + '×' + level.height);
    else if (level.height) parts.push(level.height + 'p');
    return parts.join(' · ');
  }

  // PREFERRED are the video codecs (sample entries) the page plays before
  // H.264 where the browser decodes them, fewest bytes first.
  const PREFERRED = ['av01', 'hvc1', 'hev1'];

  // preferredVideo gives the first of PREFERRED that one of hls.js's
  // levels has and supports (MediaSource.isTypeSupported) accepts, or ''
  // when none: hls.js then keeps its own choice (H.264).
  function preferredVideo(levels, supports) {
    for (const want of PREFERRED) {
      const ok = levels.some((l) => {
        const c = String(l.videoCodec || '').trim();
        return c.toLowerCase().startsWith(want) && supports('video/mp4; codecs="' + c + '"');
      });
      if (ok) return want;
    }
    return '';
  }

  window.hlsflowCodecs = { name, describe, preferredVideo };
})();
