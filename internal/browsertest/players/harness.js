// The player page of browsertest.Players: /play?player=NAME&src=URL&rate=N
// loads this file, the player's library and its adapter (hlsjs.js,
// shaka.js, videojs.js), which registers in hlsflowPlayers. Once the page
// has loaded, the adapter is started on src, and playback runs at rate
// from its first frame; the Go side polls hlsflowState().
'use strict';

// video.js adds a <style> element unless told not to, which the page's
// Content-Security-Policy (style-src 'self', the product page's) forbids.
window.VIDEOJS_NO_DYNAMIC_STYLE = true;
window.hlsflowPlayers = {};

// hide=CODEC (repeatable, such as av01): the page's Media Source
// Extensions and Media Capabilities deny that codec, as a browser that
// cannot decode it would. Set here, before the player's library loads.
(function () {
  const hide = new URLSearchParams(location.search).getAll('hide').filter(Boolean);
  if (!hide.length) return;
  const hidden = (type) => hide.some((c) => String(type).includes(c));
  for (const MS of [window.MediaSource, window.ManagedMediaSource]) {
    if (!MS || !MS.isTypeSupported) continue;
    const can = MS.isTypeSupported.bind(MS);
    MS.isTypeSupported = (type) => !hidden(type) && can(type);
  }
  const mc = navigator.mediaCapabilities;
  if (mc && mc.decodingInfo) {
    const info = mc.decodingInfo.bind(mc);
    mc.decodingInfo = (config) => (config && config.video && hidden(config.video.contentType) ?
      Promise.resolve({ supported: false, smooth: false, powerEfficient: false, configuration: config }) :
      info(config));
  }
})();

(function () {
  const maxErrors = 100;
  const s = {
    player: '', version: '', started: false, playing: false, startTime: 0, currentTime: 0,
    duration: 0, ended: false, fatal: false, errors: [], droppedErrors: 0, codecs: '', height: 0,
    rate: 1, stalls: 0,
  };
  let handle = null;

  // report records a player error; a fatal one ends the run.
  function report(e) {
    if (e.fatal) s.fatal = true;
    if (s.errors.length >= maxErrors) { s.droppedErrors++; return; }
    s.errors.push({
      type: String(e.type || ''), details: String(e.details || ''), fatal: !!e.fatal,
      url: String(e.url || ''), code: Number(e.code) || 0, reason: String(e.reason || '').slice(0, 500),
    });
  }

  function watch(media) {
    media.addEventListener('playing', () => {
      if (s.playing) return;
      s.playing = true;
      s.startTime = media.currentTime;
      if (handle.setRate) handle.setRate(s.rate);
      else media.playbackRate = s.rate;
    });
    media.addEventListener('ended', () => { s.ended = true; });
    media.addEventListener('waiting', () => { if (s.playing) s.stalls++; });
    media.addEventListener('error', () => {
      if (media.error) report({ type: 'media', details: 'MediaError ' + media.error.code, fatal: true, reason: media.error.message });
    });
  }

  function reason(e) {
    if (!e) return 'unknown';
    if (e.message) return e.message;
    if (e.code) return 'code ' + e.code + (e.data ? ' ' + JSON.stringify(e.data) : '');
    return String(e);
  }

  window.addEventListener('load', async () => {
    const q = new URLSearchParams(location.search);
    s.player = q.get('player') || '';
    s.rate = Number(q.get('rate')) || 1;
    const adapter = window.hlsflowPlayers[s.player];
    s.started = true;
    if (!adapter) {
      report({ type: 'setup', details: 'no player ' + s.player, fatal: true });
      return;
    }
    try {
      s.version = adapter.version();
      handle = await adapter.start(document.getElementById('v'), q.get('src'), report);
    } catch (e) {
      report({ type: 'setup', details: 'start', fatal: true, reason: reason(e) });
      return;
    }
    watch(handle.media);
    try {
      await handle.play();
    } catch (e) {
      report({ type: 'play', details: 'play()', fatal: false, reason: reason(e) });
    }
  });

  window.hlsflowState = function () {
    if (handle) {
      const m = handle.media;
      s.currentTime = m.currentTime;
      s.duration = isFinite(m.duration) ? m.duration : 0;
      try {
        const now = handle.state() || {};
        s.codecs = now.codecs || s.codecs;
        s.height = now.height || s.height;
      } catch (e) { /* between levels: keep the last */ }
    }
    return JSON.stringify(s);
  };
})();
