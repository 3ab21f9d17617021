// hlsflow's page: upload (single PUT or parallel multipart, straight to S3
// through the URLs the API signs), the library with each video's state, a
// player (hls.js, or the browser's own HLS where it is Safari's) with a
// rendition picker, and live streams. Plain JS, no build step.
//
// It is an operator console: every API call carries the API token, asked
// for once. Everything is wired from here (no inline script, style or
// event handler), so the page runs under a strict Content-Security-Policy.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);

  // Timings. Nothing waits forever: every request has a timeout and every
  // wait shows what it is waiting for.
  const API_TIMEOUT = 15000;
  const STALL_TIMEOUT = 60000; // an upload request with no progress for this long is retried
  const PART_CONCURRENCY = 4;
  const PART_RETRIES = 5;
  const POLL_BUSY = 2000;
  const POLL_IDLE = 10000;
  const QUEUED_WARN = 120000;

  const TYPES = {
    mp4: 'video/mp4', m4v: 'video/x-m4v', mov: 'video/quicktime', webm: 'video/webm',
    mkv: 'video/x-matroska', ts: 'video/mp2t', flv: 'video/x-flv', avi: 'video/x-msvideo',
    mpg: 'video/mpeg', mpeg: 'video/mpeg', '3gp': 'video/3gpp', ogv: 'video/ogg',
  };

  // ---------- helpers ----------

  class APIError extends Error {
    constructor(status, message, body) {
      super(message);
      this.status = status;
      this.body = body || {};
    }
  }

  // bodyHash is the hex SHA-256 of a request body. On AWS, CloudFront signs
  // requests to the API with IAM and cannot hash a body itself, so every
  // POST and PUT carries x-amz-content-sha256 (see infra/README.md).
  // crypto.subtle exists only in secure contexts (HTTPS, localhost): over
  // plain HTTP on a LAN there is no CloudFront, and no need.
  async function bodyHash(text) {
    if (!(window.crypto && window.crypto.subtle)) return null;
    const d = await window.crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
    return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // api calls the API with the token (unless headers bring their own
  // Authorization). A 401 makes the page forget the token and ask for one.
  async function api(method, path, body, headers) {
    const token = auth.get();
    const payload = body ? JSON.stringify(body) : '';
    const h = Object.assign(body ? { 'Content-Type': 'application/json' } : {},
      token ? { Authorization: 'Bearer ' + token } : {}, headers || {});
    if (method !== 'GET' && method !== 'HEAD') {
      const sum = await bodyHash(payload);
      if (sum) h['x-amz-content-sha256'] = sum;
    }
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), API_TIMEOUT);
    let resp;
    try {
      resp = await fetch(path, {
        method,
        headers: h,
        body: body ? payload : undefined,
        signal: ctl.signal,
        cache: 'no-store',
      });
    } catch (e) {
      throw new APIError(0, e.name === 'AbortError'
        ? 'The server did not answer within ' + API_TIMEOUT / 1000 + ' s.'
        : 'Cannot reach the server (' + e.message + ').');
    } finally {
      clearTimeout(timer);
    }
    let data = null;
    const text = await resp.text();
    try { data = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
    if (!resp.ok) {
      const msg = (data && (data.error || data.message)) || ('HTTP ' + resp.status);
      if (resp.status === 401 && !(headers && headers.Authorization)) auth.refused(token);
      throw new APIError(resp.status, msg, data);
    }
    return data;
  }

  // ---------- the API token ----------

  // auth keeps the API token in sessionStorage: this tab only, kept across
  // reloads, gone when the tab is closed, so a shared computer does not
  // keep the operator's credential and other tabs never see it.
  const TOKEN_KEY = 'hlsflow-token';
  const auth = {
    get() {
      try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (_) { return this.memory || ''; }
    },
    set(token) {
      this.memory = token;
      try {
        if (token) sessionStorage.setItem(TOKEN_KEY, token);
        else sessionStorage.removeItem(TOKEN_KEY);
      } catch (_) { /* storage disabled: the token lives in this page only */ }
      $('signout').hidden = !token;
    },

    // ask shows the prompt, saying why.
    ask(why, error) {
      $('signin').hidden = false;
      $('signin-why').textContent = why;
      $('token-error').textContent = error || '';
      $('token-error').hidden = !error;
    },

    // refused is told of a 401: the token sent (if any) is wrong.
    refused(sent) {
      // An older request, sent with another token or none: the token set
      // since is not the one refused (a slow answer to a request made
      // before sign-in must not sign the page out again).
      if ((sent || '') !== this.get()) return;
      this.set('');
      this.ask('This page is the operator console: uploading, the library and live streams need the API token.',
        sent ? 'The server refused the token (wrong, or rotated since). Enter the current one.' : '');
    },

    setup() {
      this.set(this.get());
      if (!this.get()) this.ask($('signin-why').textContent);
      const input = $('token');
      $('token-form').addEventListener('submit', async (e) => {
        e.preventDefault();
        const token = input.value.trim();
        if (!token) return;
        this.set(token);
        $('token-error').hidden = true;
        try {
          await api('GET', '/api/videos?limit=1');
        } catch (ex) {
          if (ex.status !== 401) this.ask($('signin-why').textContent, 'Cannot check the token: ' + ex.message);
          return;
        }
        input.value = '';
        $('signin').hidden = true;
        library.refresh();
        live.refresh();
      });
      $('signout').addEventListener('click', () => {
        this.set('');
        this.ask('The token is forgotten. Enter it again to keep using this page.');
        library.refresh();
        live.refresh();
      });
    },
  };

  function human(n) {
    if (!isFinite(n)) return '?';
    const u = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
    return (i ? n.toFixed(1) : n) + ' ' + u[i];
  }

  function mbps(bits) { return (bits / 1e6).toFixed(bits < 1e6 ? 2 : 1) + ' Mbps'; }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  function showBanner(msg) {
    const b = $('banner');
    b.textContent = msg || '';
    b.hidden = !msg;
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // s3Reason turns S3's XML error into a sentence for a person.
  function s3Reason(status, xml) {
    const code = (/<Code>([^<]*)<\/Code>/.exec(xml || '') || [])[1] || '';
    const msg = (/<Message>([^<]*)<\/Message>/.exec(xml || '') || [])[1] || '';
    switch (code) {
      case 'SignatureDoesNotMatch':
        return 'Storage refused the upload: the file does not match the size or type the upload was signed for.';
      case 'AccessDenied':
        return /expired/i.test(msg) ? 'The upload link expired; start the upload again.' : 'Storage refused the upload (access denied).';
      case 'EntityTooLarge':
        return 'Storage refused the upload: the file is too large.';
      case 'NoSuchUpload':
        return 'The upload was cancelled or has expired; start it again.';
      case '':
        return 'Storage answered HTTP ' + status + '.';
      default:
        return 'Storage refused the upload: ' + (msg || code) + '.';
    }
  }

  // ---------- upload ----------

  // putBlob PUTs blob to url, reporting bytes sent. It rejects with
  // {retry: true} for network errors and stalls (worth retrying) and
  // {retry: false} when storage refused the request.
  function putBlob(url, blob, headers, onProgress, registry) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      registry.add(xhr);
      let stall;
      const arm = () => {
        clearTimeout(stall);
        stall = setTimeout(() => xhr.abort(), STALL_TIMEOUT);
      };
      const done = (fn, v) => { clearTimeout(stall); registry.delete(xhr); fn(v); };
      xhr.open('PUT', url);
      for (const [k, v] of Object.entries(headers || {})) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (e) => { arm(); onProgress(e.loaded); };
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress(blob.size);
          done(resolve);
        } else {
          const retry = xhr.status >= 500 || xhr.status === 408 || xhr.status === 429;
          done(reject, { retry, message: s3Reason(xhr.status, xhr.responseText) });
        }
      };
      xhr.onerror = () => done(reject, { retry: true, message: 'Network error while sending the file.' });
      xhr.onabort = () => done(reject, { retry: !registry.cancelled, message: registry.cancelled ? 'Cancelled.' : 'The upload stalled.' });
      arm();
      xhr.send(blob);
    });
  }

  class Upload {
    constructor(file) {
      this.file = file;
      this.sent = new Map(); // part number (0 for a single PUT) -> bytes sent
      this.registry = new Set();
      this.registry.cancelled = false;
      this.started = Date.now();
      this.render();
    }

    render() {
      this.bar = el('progress', { max: this.file.size || 1, value: 0, 'aria-label': 'Upload progress of ' + this.file.name });
      this.text = el('p', { class: 'muted small' }, 'Preparing…');
      this.error = el('p', { class: 'error', role: 'alert', hidden: true });
      this.retryBtn = el('button', { class: 'button', type: 'button', hidden: true, onclick: () => this.resume() }, 'Retry');
      this.cancelBtn = el('button', { class: 'button secondary', type: 'button', onclick: () => this.cancel() }, 'Cancel');
      this.node = el('div', { class: 'upload', 'data-testid': 'upload' },
        el('div', { class: 'name' }, this.file.name),
        this.bar, this.text, this.error,
        el('div', { class: 'upload-actions' }, this.retryBtn, this.cancelBtn));
      $('uploads').prepend(this.node);
    }

    progress() {
      let n = 0;
      for (const v of this.sent.values()) n += v;
      n = Math.min(n, this.file.size);
      this.bar.value = n;
      const secs = (Date.now() - this.started) / 1000;
      this.text.textContent = human(n) + ' of ' + human(this.file.size) + ' sent' +
        (secs > 1 ? ' · ' + human(n / secs) + '/s' : '');
    }

    fail(msg, canRetry) {
      if (!this.plan) {
        this.text.textContent = 'Not uploaded.';
        this.bar.hidden = true;
      }
      this.error.textContent = msg;
      this.error.hidden = false;
      this.retryBtn.hidden = !canRetry;
      this.node.classList.add('failed');
    }

    async start() {
      const type = this.file.type || TYPES[(this.file.name.split('.').pop() || '').toLowerCase()] || '';
      try {
        this.plan = await api('POST', '/api/uploads', { filename: this.file.name, size: this.file.size, contentType: type });
      } catch (e) {
        // Refused for want of the token: Retry once it is entered.
        this.fail(e.message, e.status === 401);
        this.cancelBtn.hidden = true;
        return;
      }
      this.cancelBtn.hidden = false;
      library.refreshSoon();
      await this.send();
    }

    async send() {
      this.halted = false;
      this.error.hidden = true;
      this.retryBtn.hidden = true;
      try {
        if (this.plan.put) {
          await this.withRetries(() => putBlob(this.plan.put.url, this.file, this.plan.put.headers,
            (n) => { this.sent.set(0, n); this.progress(); }, this.registry), () => this.sent.set(0, 0));
        } else {
          await this.sendParts();
          this.text.textContent = 'Finishing…';
          await this.complete();
        }
      } catch (e) {
        if (this.registry.cancelled) return;
        this.fail(e.message + (e.retry ? ' Retry to continue where it stopped.' : ''), !!e.retry);
        return;
      }
      this.text.textContent = human(this.file.size) + ' uploaded. Processing starts shortly — see the library.';
      this.cancelBtn.hidden = true;
      this.node.classList.add('done');
      library.refreshSoon();
    }

    // withRetries retries f on retryable failures with exponential backoff.
    async withRetries(f, reset) {
      for (let attempt = 0; ; attempt++) {
        try {
          return await f();
        } catch (e) {
          if (this.registry.cancelled || this.halted || !e.retry || attempt >= PART_RETRIES) throw e;
          if (reset) reset();
          this.retries = (this.retries || 0) + 1;
          this.node.dataset.retries = this.retries;
          this.text.textContent = e.message + ' Retrying…';
          await sleep(Math.min(1000 * 2 ** attempt, 15000));
        }
      }
    }

    // sendParts uploads the parts not yet done, a few at a time. Finished
    // parts are remembered, so after a failure only the rest are sent.
    async sendParts() {
      const mp = this.plan.multipart;
      this.doneParts = this.doneParts || new Set();
      const todo = mp.parts.filter((p) => !this.doneParts.has(p.partNumber));
      let firstError = null;
      const worker = async () => {
        while (todo.length && !firstError && !this.registry.cancelled) {
          const p = todo.shift();
          const start = (p.partNumber - 1) * mp.partSize;
          const blob = this.file.slice(start, start + p.size);
          try {
            await this.withRetries(() => putBlob(p.url, blob, {}, (n) => { this.sent.set(p.partNumber, n); this.progress(); }, this.registry),
              () => this.sent.set(p.partNumber, 0));
            this.doneParts.add(p.partNumber);
          } catch (e) {
            this.sent.set(p.partNumber, 0);
            if (!firstError) {
              firstError = e;
              // Stop the parts still in flight; they are sent again on retry.
              this.halted = true;
              for (const x of this.registry) x.abort();
            }
          }
        }
      };
      await Promise.all(Array.from({ length: PART_CONCURRENCY }, worker));
      if (firstError) throw firstError;
    }

    // uploadAuth is the upload's own secret: completing or cancelling it
    // does not depend on the token staying the same meanwhile.
    uploadAuth() {
      return this.plan && this.plan.secret ? { Authorization: 'Bearer ' + this.plan.secret } : undefined;
    }

    async complete() {
      try {
        await api('POST', this.plan.multipart.completeUrl, undefined, this.uploadAuth());
      } catch (e) {
        const missing = e.body && e.body.missingParts;
        if (e.status === 409 && missing && missing.length) {
          for (const n of missing) this.doneParts.delete(n);
          throw { retry: true, message: missing.length + ' part(s) did not arrive.' };
        }
        throw { retry: e.status === 0 || e.status >= 500, message: e.message };
      }
    }

    resume() {
      this.node.classList.remove('failed');
      this.error.hidden = true;
      this.retryBtn.hidden = true;
      if (!this.plan) this.start();
      else this.send();
    }

    async cancel() {
      this.registry.cancelled = true;
      for (const x of this.registry) x.abort();
      this.cancelBtn.hidden = true;
      this.retryBtn.hidden = true;
      this.text.textContent = 'Cancelled.';
      if (this.plan) {
        // Drops the API's record (and the multipart upload's parts).
        try { await api('DELETE', '/api/uploads/' + encodeURIComponent(this.plan.id), undefined, this.uploadAuth()); } catch (_) { /* best effort */ }
      }
      library.refreshSoon();
    }
  }

  function setupDropzone() {
    const dz = $('dropzone');
    const input = $('file');
    const take = (files) => { for (const f of files) new Upload(f).start(); };
    input.addEventListener('change', () => { take(input.files); input.value = ''; });
    ['dragenter', 'dragover'].forEach((t) => dz.addEventListener(t, (e) => {
      e.preventDefault();
      dz.classList.add('over');
    }));
    ['dragleave', 'drop'].forEach((t) => dz.addEventListener(t, () => dz.classList.remove('over')));
    dz.addEventListener('drop', (e) => {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) take(e.dataTransfer.files);
    });
    // Dropping a file elsewhere must not navigate away from the page.
    window.addEventListener('dragover', (e) => e.preventDefault());
    window.addEventListener('drop', (e) => e.preventDefault());
  }

  // ---------- library ----------

  const library = {
    videos: [],
    next: null,
    pages: 1,
    timer: null,
    firstSeen: new Map(),

    async refresh() {
      clearTimeout(this.timer);
      let busy = false;
      try {
        const list = [];
        let cursor = '';
        let next = null;
        for (let i = 0; i < this.pages; i++) {
          const page = await api('GET', '/api/videos?limit=24' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
          list.push(...page.videos);
          next = page.next || null;
          if (!next) break;
          cursor = next;
        }
        this.videos = list;
        this.next = next;
        showBanner('');
        this.render();
        busy = list.some((v) => (v.state !== 'ready' && v.state !== 'failed') || (v.replacement && v.replacement.state === 'processing'));
      } catch (e) {
        if (e.status === 401) {
          // Polled again once a token is entered.
          this.videos = [];
          this.next = null;
          this.render('Enter the API token to see the library.');
          return;
        }
        showBanner('Cannot load the library: ' + e.message + ' Trying again…');
        busy = true;
      }
      this.timer = setTimeout(() => this.refresh(), busy ? POLL_BUSY : POLL_IDLE);
    },

    refreshSoon() {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.refresh(), 300);
    },

    render(empty) {
      const ul = $('library');
      $('library-empty').textContent = empty || 'No videos yet.';
      $('library-empty').hidden = this.videos.length > 0;
      $('more').hidden = !this.next;
      const cards = this.videos.map((v) => this.card(v));
      ul.replaceChildren(...cards);
    },

    card(v) {
      const name = v.filename || v.id;
      if (!this.firstSeen.has(v.id)) this.firstSeen.set(v.id, Date.now());
      const poster = el('div', { class: 'poster' });
      if (v.posterUrl) poster.append(el('img', { src: v.posterUrl, alt: '', loading: 'lazy' }));
      else poster.append(el('span', {}, v.state === 'ready' ? '▶' : '…'));
      const body = el('div', { class: 'body' },
        el('div', { class: 'title' }, name),
        el('div', {}, el('span', { class: 'badge ' + v.state, 'data-testid': 'state' }, v.state),
          v.duration ? ' ' + formatDuration(v.duration) : null));
      if (v.state === 'processing') {
        const pct = Math.round((v.progress || 0) * 100);
        body.append(el('progress', { max: 100, value: pct, 'aria-label': 'Processing ' + name }),
          el('span', { class: 'muted small' }, 'Processing… ' + pct + '%'));
      } else if (v.state === 'queued') {
        const waited = Date.now() - this.firstSeen.get(v.id);
        body.append(el('span', { class: 'muted small' }, waited > QUEUED_WARN
          ? 'Still waiting for processing to start — is the transcoder running?'
          : 'Uploaded; waiting for processing.'));
      } else if (v.state === 'uploading') {
        body.append(el('span', { class: 'muted small' }, 'Uploading…'));
      } else if (v.state === 'failed') {
        body.append(el('span', { class: 'error', 'data-testid': 'error' }, v.error || 'Processing failed.'));
      } else if (v.state === 'ready' && (v.playbackUrl || auth.get())) {
        // With signed playback the library has no URL: ask for a grant.
        body.append(el('button', { class: 'button', type: 'button', 'data-testid': 'play',
          onclick: () => {
            player.playGranted(v.playbackUrl, '/api/videos/' + encodeURIComponent(v.id) + '/playback', name, false);
            if (window.hlsflowStoryboard) window.hlsflowStoryboard.load(v.storyboardUrl || '');
          } }, 'Play'));
      }
      // A newer upload under the same key: the version above keeps playing
      // until it is ready, and after it failed.
      const r = v.replacement;
      if (r && r.state === 'processing') {
        const pct = Math.round((r.progress || 0) * 100);
        body.append(el('span', { class: 'muted small', 'data-testid': 'replacement' },
          'A new version is processing (' + pct + '%); this one plays until it is ready.'));
      } else if (r && r.state === 'failed') {
        body.append(el('span', { class: 'error', 'data-testid': 'replacement' },
          'The new version failed: ' + (r.error || 'processing failed') + ' This version still plays.'));
      }
      return el('li', { class: 'card', 'data-id': v.id, 'data-state': v.state }, poster, body);
    },
  };

  function formatDuration(s) {
    s = Math.round(s);
    const m = Math.floor(s / 60);
    return m + ':' + String(s % 60).padStart(2, '0');
  }

  // ---------- player ----------

  // GRANT_SECONDS is how long a playback grant the page asks for lasts.
  const GRANT_SECONDS = 4 * 3600;

  const player = {
    hls: null,
    video: null,

    init() {
      this.video = $('player');
      $('rendition').addEventListener('change', (e) => {
        if (this.hls) this.hls.currentLevel = Number(e.target.value);
        this.showBitrate();
      });
      this.video.addEventListener('error', () => {
        if (!this.hls && this.video.error) this.error('The browser cannot play this stream (' + (this.video.error.message || 'code ' + this.video.error.code) + ').');
      });
      this.video.addEventListener('loadedmetadata', () => this.showBitrate());
    },

    // native says whether to leave HLS to the browser: Safari (which plays
    // HLS itself) or a browser without Media Source Extensions.
    native() {
      const can = this.video.canPlayType('application/vnd.apple.mpegurl') !== '';
      const hlsjs = window.Hls && window.Hls.isSupported();
      const apple = /Apple/.test(navigator.vendor || '');
      return can && (apple || !hlsjs);
    },

    // playGranted plays url, or when there is none (signed playback) the
    // URL of a playback grant the API mints at grantPath for the token.
    async playGranted(url, grantPath, title, live) {
      if (!url) {
        try {
          url = (await api('POST', grantPath, { expiresIn: GRANT_SECONDS })).url;
        } catch (e) {
          this.error('Cannot get a playback grant: ' + e.message);
          return;
        }
      }
      this.play(url, title, live);
    },

    play(url, title, live) {
      this.stop();
      $('player-error').hidden = true;
      $('now-playing').textContent = title;
      $('live-badge').hidden = !live;
      this.video.dataset.src = url;
      const sel = $('rendition');
      sel.replaceChildren(el('option', { value: -1 }, 'Auto'));
      sel.disabled = true;
      if (this.native()) {
        this.video.src = url;
      } else if (window.Hls && window.Hls.isSupported()) {
        // The transmuxing worker comes from this origin: hls.js would
        // otherwise build it from a blob: URL, which the page's
        // Content-Security-Policy (worker-src 'self') forbids.
        // Live plays in low-latency mode: with LL-HLS parts hls.js stays
        // near the live edge; without them it plays as before.
        // maxLiveSyncPlaybackRate lets it play a little faster to catch up
        // after a slow start or a stall.
        const hls = new window.Hls({ lowLatencyMode: !!live, maxLiveSyncPlaybackRate: live ? 1.5 : 1, workerPath: '/static/vendor/hls.worker.js' });
        this.hls = hls;
        if (window.hlsflowTracks) window.hlsflowTracks.attach(hls);
        if (live) this.showLatency();
        hls.on(window.Hls.Events.MANIFEST_PARSED, (_, data) => {
          // AV1, then HEVC, before H.264 where this browser decodes them
          // (hls.js alone ranks HEVC first). hls.js picks its first level
          // right after this event, reading its config then.
          const MS = window.MediaSource || window.ManagedMediaSource;
          const codec = window.hlsflowCodecs && MS ? window.hlsflowCodecs.preferredVideo(data.levels, (t) => MS.isTypeSupported(t)) : '';
          if (codec) hls.config.videoPreference = Object.assign({}, hls.config.videoPreference, { videoCodec: codec });
          for (const [i, l] of data.levels.entries()) {
            sel.append(el('option', { value: i }, (l.height ? l.height + 'p · ' : '') + mbps(l.bitrate)));
          }
          sel.disabled = data.levels.length < 2;
          this.showBitrate();
        });
        hls.on(window.Hls.Events.LEVEL_SWITCHED, () => this.showBitrate());
        hls.on(window.Hls.Events.FRAG_LOADED, () => this.showBitrate());
        let recovered = false;
        hls.on(window.Hls.Events.ERROR, (_, d) => {
          if (!d.fatal) return;
          if (d.type === window.Hls.ErrorTypes.MEDIA_ERROR && !recovered) {
            recovered = true;
            hls.recoverMediaError();
            return;
          }
          this.error('Playback failed: ' + d.details + (d.response && d.response.code ? ' (HTTP ' + d.response.code + ')' : '') + '.');
          this.stop();
        });
        hls.loadSource(url);
        hls.attachMedia(this.video);
      } else {
        this.error('This browser cannot play HLS.');
        return;
      }
      this.video.play().catch(() => { /* autoplay may need a click; the controls are there */ });
      this.video.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    },

    showBitrate() {
      const out = $('bitrate');
      if (this.hls && this.hls.levels && this.hls.currentLevel >= 0) {
        const l = this.hls.levels[this.hls.currentLevel];
        const auto = this.hls.autoLevelEnabled ? ' (auto)' : '';
        // "H.264 · 1280×720 · 2.8 Mbps (auto)" (codecs.js names the codec).
        const what = window.hlsflowCodecs ? window.hlsflowCodecs.describe(l) : '';
        out.textContent = (what ? what + ' · ' : '') + mbps(l.bitrate) + auto;
        out.title = [l.videoCodec, l.audioCodec].filter(Boolean).join(', ');
        out.dataset.bitrate = l.bitrate;
      } else if (this.video.videoHeight) {
        out.textContent = this.video.videoHeight + 'p';
      } else {
        out.textContent = '';
      }
    },

    // showLatency shows, each second while a live stream plays, how far
    // behind the publisher the picture is: now less the program date time
    // of the frame on screen (the time the ingest received it).
    showLatency() {
      const out = $('latency');
      this.latencyTimer = setInterval(() => {
        const at = this.hls && this.hls.playingDate;
        out.hidden = !at;
        if (at) {
          const s = (Date.now() - at.getTime()) / 1000;
          out.textContent = s.toFixed(1) + ' s behind live';
          out.dataset.seconds = s.toFixed(3);
        }
      }, 1000);
    },

    error(msg) {
      const p = $('player-error');
      p.textContent = msg;
      p.hidden = false;
    },

    stop() {
      if (this.hls) { this.hls.destroy(); this.hls = null; }
      if (window.hlsflowTracks) window.hlsflowTracks.detach();
      if (this.latencyTimer) { clearInterval(this.latencyTimer); this.latencyTimer = null; }
      $('latency').hidden = true;
      this.video.removeAttribute('src');
      this.video.load();
      $('bitrate').textContent = '';
    },
  };

  // ---------- live ----------

  const live = {
    timer: null,
    async refresh() {
      clearTimeout(this.timer);
      try {
        const data = await api('GET', '/api/streams');
        this.render(data.streams || []);
      } catch (e) {
        $('streams').replaceChildren();
        $('streams-empty').hidden = false;
        if (e.status === 401) {
          $('streams-empty').textContent = 'Enter the API token to see live streams.';
          return; // polled again once a token is entered
        }
        $('streams-empty').textContent = 'Cannot load live streams: ' + e.message;
      }
      this.timer = setTimeout(() => this.refresh(), 5000);
    },
    render(streams) {
      $('streams-empty').hidden = streams.length > 0;
      $('streams-empty').textContent = 'No live streams.';
      $('streams').replaceChildren(...streams.map((s) => el('li', { 'data-name': s.name, 'data-state': s.state },
        s.state === 'live' ? el('span', { class: 'badge live' }, 'LIVE') : el('span', { class: 'badge' }, s.state),
        el('span', { class: 'name' }, s.name),
        (s.playbackUrl || auth.get()) && s.state !== 'idle'
          ? el('button', { class: 'button', type: 'button', 'data-testid': 'watch',
            onclick: () => {
              player.playGranted(s.playbackUrl, '/api/streams/' + encodeURIComponent(s.name) + '/playback', s.name, s.state === 'live');
              if (window.hlsflowStoryboard) window.hlsflowStoryboard.load('');
            } }, 'Watch')
          : null)));
    },
    setup() {
      $('stream-form').addEventListener('submit', async (e) => {
        e.preventDefault();
        const err = $('stream-error');
        err.hidden = true;
        try {
          const s = await api('POST', '/api/streams', { name: $('stream-name').value.trim() });
          $('publish-url').textContent = s.publishUrl || s.key;
          $('publish-example').textContent = 'ffmpeg -re -i input.mp4 -c:v libx264 -c:a aac -f flv "' + (s.publishUrl || s.key) + '"';
          $('stream-created').hidden = false;
          // The browser publisher (golive.js) uses this stream.
          if (s.whipUrl) { $('golive-url').value = s.whipUrl; $('golive-key').value = s.key; }
          this.refresh();
        } catch (ex) {
          err.textContent = ex.message;
          err.hidden = false;
        }
      });
    },
  };

  // ---------- start ----------

  document.addEventListener('DOMContentLoaded', () => {
    auth.setup();
    setupDropzone();
    player.init();
    live.setup();
    $('more').addEventListener('click', () => { library.pages++; library.refresh(); });
    library.refresh();
    live.refresh();
  });
})();
