// video.js with its own streaming engine (VHS, overriding the browser's)
// on the player page (harness.js); DASH for a .mpd source, else HLS.
'use strict';

// preferEfficientCodecs is the README's recipe for video.js: VHS picks the
// highest BANDWIDTH at the picture size it wants, whatever the codec, so
// H.264 over the AV1 or HEVC variant of the same size. Its choice is kept
// for the size and frame rate, then the variant of the most efficient
// codec there that it may play (VHS has already excluded codecs that
// Media Source Extensions deny) is taken instead: AV1, then HEVC, then
// H.264.
function preferEfficientCodecs(vhs) {
  const rank = (p) => {
    const c = ((p.attributes && p.attributes.CODECS) || '').toLowerCase();
    return /(^|,)\s*av01/.test(c) ? 0 : /(^|,)\s*(hvc1|hev1)/.test(c) ? 1 : 2;
  };
  const shape = (p) => {
    const a = p.attributes || {};
    const r = a.RESOLUTION || {};
    return [r.width, r.height, a['FRAME-RATE']].join('x');
  };
  const standard = videojs.Vhs.STANDARD_PLAYLIST_SELECTOR;
  vhs.selectPlaylist = function () {
    const chosen = standard.call(this);
    if (!chosen || !chosen.attributes || !chosen.attributes.RESOLUTION) return chosen;
    let best = chosen;
    for (const p of this.playlists.main.playlists) {
      if (shape(p) === shape(chosen) && videojs.Vhs.Playlist.isEnabled(p) && rank(p) < rank(best)) best = p;
    }
    return best;
  };
}
window.hlsflowPlayers['video.js'] = {
  version: () => 'video.js ' + videojs.VERSION,
  start(video, src, report) {
    return new Promise((resolve) => {
      const p = videojs(video, {
        muted: true, controls: false, preload: 'auto',
        html5: { vhs: { overrideNative: true }, nativeAudioTracks: false, nativeVideoTracks: false },
      });
      p.on('error', () => {
        const e = p.error();
        report({ type: 'video.js', details: 'MediaError ' + (e ? e.code : '?'), fatal: true, reason: e && e.message });
      });
      // Before VHS picks its first variant (the event fires as it
      // takes the source): the README's codec preference.
      p.on('xhr-hooks-ready', () => preferEfficientCodecs(p.tech(true).vhs));
      p.ready(() => {
        p.src({ src, type: /\.mpd(\?|$)/.test(src) ? 'application/dash+xml' : 'application/x-mpegURL' });
        resolve({
          media: p.tech(true).el(),
          play: () => p.play(),
          state() {
            const vhs = p.tech(true).vhs;
            const m = vhs && vhs.playlists && vhs.playlists.media();
            const a = (m && m.attributes) || {};
            return { codecs: a.CODECS || '', height: (a.RESOLUTION && a.RESOLUTION.height) || 0 };
          },
        });
      });
    });
  },
};
