// hls.js on the player page (harness.js).
'use strict';
window.hlsflowPlayers['hls.js'] = {
  version: () => 'hls.js ' + Hls.version,
  async start(video, src, report) {
    if (!Hls.isSupported()) throw new Error('Hls.isSupported() is false');
    const hls = new Hls();
    hls.on(Hls.Events.ERROR, (_, d) => report({
      type: d.type, details: d.details, fatal: d.fatal,
      url: (d.frag && d.frag.url) || (d.context && d.context.url) || d.url,
      code: d.response && d.response.code, reason: d.reason || (d.error && String(d.error)),
    }));
    hls.loadSource(src);
    hls.attachMedia(video);
    return {
      media: video,
      play: () => video.play(),
      state() {
        const l = hls.levels[hls.currentLevel];
        return l ? { codecs: [l.videoCodec, l.audioCodec].filter(Boolean).join(','), height: l.height } : null;
      },
    };
  },
};
