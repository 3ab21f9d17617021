// Shaka Player on the player page (harness.js): HLS (MPEG-TS segments
// through its own transmuxer, fMP4 as they are) and DASH.
'use strict';
window.hlsflowPlayers.shaka = {
  version: () => 'Shaka Player ' + shaka.Player.version,
  async start(video, src, report) {
    shaka.polyfill.installAll();
    if (!shaka.Player.isBrowserSupported()) throw new Error('shaka.Player.isBrowserSupported() is false');
    const player = new shaka.Player();
    player.addEventListener('error', (ev) => {
      const e = ev.detail;
      report({
        type: 'shaka category ' + e.category, details: 'code ' + e.code,
        fatal: e.severity === shaka.util.Error.Severity.CRITICAL, reason: JSON.stringify(e.data),
      });
    });
    // The README's setting for Shaka: without it, Shaka probes the first
    // HLS variant's segments for CEA-608 captions, which labels that
    // variant SDR and the others nothing; its choice of one codec per
    // picture size then groups them apart and keeps H.264 next to AV1,
    // and its ABR takes H.264's higher BANDWIDTH. DASH needs nothing.
    player.configure({ manifest: { hls: { disableClosedCaptionsDetection: true } } });
    await player.attach(video);
    await player.load(src);
    return {
      media: video,
      play: () => video.play(),
      // Through Shaka: it restores its own rate after each stall.
      setRate: (rate) => player.trickPlay(rate, false),
      state() {
        const t = player.getVariantTracks().find((v) => v.active);
        return t ? { codecs: t.codecs || [t.videoCodec, t.audioCodec].filter(Boolean).join(','), height: t.height } : null;
      },
    };
  },
};
