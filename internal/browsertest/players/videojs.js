// video.js with its own streaming engine (VHS, overriding the browser's)
// on the player page (harness.js); DASH for a .mpd source, else HLS.
'use strict';
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
