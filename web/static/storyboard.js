// Storyboard thumbnails for the page's seek strip: a video's WebVTT
// storyboard maps each stretch of time to a region (#xywh=) of a JPEG
// sheet beside it; hovering the strip shows that region, clicking seeks.
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  let cues = [];
  let loading = 0; // the latest load wins over earlier ones still running

  function seconds(s) {
    const p = s.trim().split(':').map(Number);
    while (p.length < 3) p.unshift(0);
    return p[0] * 3600 + p[1] * 60 + p[2];
  }

  // parse reads the cues of a storyboard fetched from base, keeping only
  // sheets on base's own origin.
  function parse(text, base) {
    const out = [];
    for (const block of text.replace(/\r/g, '').split(/\n\n+/)) {
      const lines = block.split('\n');
      const t = lines.findIndex((l) => l.includes('-->'));
      if (t < 0 || !lines[t + 1]) continue;
      const [from, to] = lines[t].split('-->').map(seconds);
      const [file, frag] = lines[t + 1].trim().split('#xywh=');
      const xywh = (frag || '').split(',').map(Number);
      if (!(to > from) || xywh.length !== 4 || xywh.some((n) => !Number.isFinite(n))) continue;
      let url;
      try { url = new URL(file, base); } catch (e) { continue; }
      if (url.origin !== base.origin) continue;
      out.push({ from, to, url: url.href, x: xywh[0], y: xywh[1], w: xywh[2], h: xywh[3] });
    }
    return out;
  }

  function at(t) {
    return cues.find((c) => t >= c.from && t < c.to) || (cues.length && t >= cues[cues.length - 1].to ? cues[cues.length - 1] : null);
  }

  function fraction(ev, strip) {
    const r = strip.getBoundingClientRect();
    return Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width));
  }

  function setup() {
    const strip = $('scrub');
    const thumb = $('thumb');
    const video = $('player');
    if (!strip || !thumb || !video) return;
    video.addEventListener('timeupdate', () => {
      const d = video.duration;
      $('scrub-fill').style.width = (d > 0 && Number.isFinite(d) ? (100 * video.currentTime / d) : 0) + '%';
    });
    strip.addEventListener('mousemove', (ev) => {
      const d = video.duration;
      const c = d > 0 && Number.isFinite(d) ? at(fraction(ev, strip) * d) : null;
      if (!c) { thumb.hidden = true; return; }
      thumb.style.width = c.w + 'px';
      thumb.style.height = c.h + 'px';
      thumb.style.backgroundImage = 'url(' + JSON.stringify(c.url) + ')';
      thumb.style.backgroundPosition = (-c.x) + 'px ' + (-c.y) + 'px';
      const r = strip.getBoundingClientRect();
      thumb.style.left = Math.min(r.width - c.w, Math.max(0, ev.clientX - r.left - c.w / 2)) + 'px';
      thumb.dataset.from = String(c.from);
      thumb.hidden = false;
    });
    strip.addEventListener('mouseleave', () => { thumb.hidden = true; });
    strip.addEventListener('click', (ev) => {
      const d = video.duration;
      if (d > 0 && Number.isFinite(d)) video.currentTime = fraction(ev, strip) * d;
    });
  }

  window.hlsflowStoryboard = {
    // load shows the strip with the storyboard at url, or hides it ("").
    async load(url) {
      const n = ++loading;
      cues = [];
      $('scrub').hidden = true;
      $('thumb').hidden = true;
      if (!url) return;
      try {
        const base = new URL(url, location.href);
        const resp = await fetch(base.href);
        if (!resp.ok) return;
        const parsed = parse(await resp.text(), base);
        if (n !== loading || parsed.length === 0) return;
        cues = parsed;
        $('scrub').hidden = false;
      } catch (e) { /* no storyboard: the strip stays hidden */ }
    },
  };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', setup);
  else setup();
})();
