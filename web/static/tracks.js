// Audio track and subtitle pickers for the page's player: hls.js lists a
// video's audio renditions and subtitles from the master; the pickers
// show when there is a choice to make (more than one audio track, or any
// subtitles) and switch hls.js's audioTrack and subtitleTrack.
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  let hls = null;

  // label names a track from the master's NAME and LANGUAGE, which come
  // from the uploaded file: set as text, never as markup.
  function label(t, i) {
    const name = t.name || 'Track ' + (i + 1);
    return t.lang && name !== t.lang ? name + ' (' + t.lang + ')' : name;
  }

  function fill(sel, tracks, current, off) {
    const opts = [];
    if (off) opts.push(new Option('Off', '-1'));
    tracks.forEach((t, i) => opts.push(new Option(label(t, i), String(i))));
    sel.replaceChildren(...opts);
    sel.value = String(current);
    sel.dataset.current = String(current); // what hls.js plays, for tests and styles
  }

  function show() {
    if (!hls) return;
    const audio = hls.audioTracks || [];
    const subs = hls.subtitleTracks || [];
    fill($('audio-track'), audio, hls.audioTrack, false);
    fill($('subtitle-track'), subs, hls.subtitleDisplay ? hls.subtitleTrack : -1, true);
    $('audio-track-label').hidden = $('audio-track').hidden = audio.length < 2;
    $('subtitle-track-label').hidden = $('subtitle-track').hidden = subs.length === 0;
    $('tracks').hidden = audio.length < 2 && subs.length === 0;
  }

  function attach(h) {
    detach();
    hls = h;
    const E = window.Hls.Events;
    for (const ev of [E.MANIFEST_PARSED, E.AUDIO_TRACKS_UPDATED, E.AUDIO_TRACK_SWITCHED, E.SUBTITLE_TRACKS_UPDATED, E.SUBTITLE_TRACK_SWITCH]) {
      h.on(ev, show);
    }
  }

  function detach() {
    hls = null;
    $('tracks').hidden = true;
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('audio-track').addEventListener('change', (e) => {
      if (hls) hls.audioTrack = Number(e.target.value);
    });
    $('subtitle-track').addEventListener('change', (e) => {
      if (!hls) return;
      const n = Number(e.target.value);
      hls.subtitleDisplay = n >= 0;
      hls.subtitleTrack = n;
    });
  });

  window.hlsflowTracks = { attach, detach };
})();
