// "Go live from this browser": publishes the camera and microphone, or a
// screen, to a stream over WHIP (RFC 9725): one POST of an SDP offer with
// the stream key as bearer token, the answer back, media over WebRTC; a
// DELETE of the session when the operator stops. The ingest turns it into
// the same live ladder and recording as RTMP.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const WHIP_TIMEOUT = 15000;
  const GATHER_TIMEOUT = 3000;

  const golive = {
    pc: null,
    media: null,
    session: null, // the WHIP session resource
    key: '',

    status(state, text) {
      const s = $('golive-status');
      s.dataset.state = state;
      s.textContent = text;
    },

    busy(on) {
      $('golive-start').hidden = on;
      $('golive-stop').hidden = !on;
      for (const id of ['golive-url', 'golive-key', 'golive-source']) $(id).disabled = on;
    },

    async capture(source) {
      if (source === 'screen') {
        return navigator.mediaDevices.getDisplayMedia({ video: true, audio: true });
      }
      return navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 }, audio: true });
    },

    // gathered waits until the offer holds every candidate (WHIP without
    // trickle), or a short while: host candidates come at once.
    gathered(pc) {
      if (pc.iceGatheringState === 'complete') return Promise.resolve();
      return new Promise((resolve) => {
        const t = setTimeout(resolve, GATHER_TIMEOUT);
        pc.addEventListener('icegatheringstatechange', () => {
          if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
        });
      });
    },

    async start() {
      const url = $('golive-url').value.trim();
      this.key = $('golive-key').value.trim();
      this.busy(true);
      this.status('starting', 'Asking for the ' + ($('golive-source').value === 'screen' ? 'screen' : 'camera and microphone') + '…');
      try {
        this.media = await this.capture($('golive-source').value);
        const preview = $('golive-preview');
        preview.srcObject = this.media;
        preview.hidden = false;
        preview.play().catch(() => {});
        const pc = new RTCPeerConnection();
        this.pc = pc;
        for (const track of this.media.getTracks()) {
          const tr = pc.addTransceiver(track, { direction: 'sendonly', streams: [this.media] });
          // The ingest takes H.264 (MPEG-TS has no VP8): offer it first.
          if (track.kind === 'video' && tr.setCodecPreferences && window.RTCRtpSender && RTCRtpSender.getCapabilities) {
            const codecs = RTCRtpSender.getCapabilities('video').codecs;
            const h264 = codecs.filter((c) => c.mimeType.toLowerCase() === 'video/h264');
            if (h264.length) tr.setCodecPreferences(h264.concat(codecs.filter((c) => c.mimeType.toLowerCase() !== 'video/h264')));
          }
        }
        pc.addEventListener('connectionstatechange', () => {
          if (pc !== this.pc) return;
          if (pc.connectionState === 'connected') this.status('live', 'Live: publishing to ' + url);
          if (pc.connectionState === 'failed') this.stop('failed', 'The connection to the ingest failed.');
        });
        await pc.setLocalDescription(await pc.createOffer());
        await this.gathered(pc);
        this.status('connecting', 'Connecting…');
        const ctrl = new AbortController();
        const t = setTimeout(() => ctrl.abort(), WHIP_TIMEOUT);
        let res;
        try {
          res = await fetch(url, {
            method: 'POST', signal: ctrl.signal, cache: 'no-store',
            headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer ' + this.key },
            body: pc.localDescription.sdp,
          });
        } finally {
          clearTimeout(t);
        }
        const body = await res.text();
        if (res.status !== 201) {
          const why = { 401: 'the stream key is not this stream\'s', 409: 'the stream already has a publisher' }[res.status];
          throw new Error('The ingest refused: ' + (why || res.status + ' ' + body.trim()));
        }
        const loc = res.headers.get('Location');
        this.session = loc ? new URL(loc, url).href : null;
        await pc.setRemoteDescription({ type: 'answer', sdp: body });
      } catch (e) {
        this.stop('failed', e.name === 'AbortError' ? 'The ingest did not answer.' : e.message);
      }
    },

    async stop(state, text) {
      const pc = this.pc;
      const session = this.session;
      this.pc = null;
      this.session = null;
      if (pc) pc.close();
      if (this.media) for (const t of this.media.getTracks()) t.stop();
      this.media = null;
      $('golive-preview').srcObject = null;
      $('golive-preview').hidden = true;
      this.busy(false);
      this.status(state || 'stopped', text || 'Stopped.');
      if (session) {
        // Ends the stream at once rather than when the ingest notices
        // the silence.
        try {
          await fetch(session, { method: 'DELETE', headers: { Authorization: 'Bearer ' + this.key } });
        } catch (e) { /* the ingest ends the session on its own */ }
      }
    },

    setup() {
      if (!window.RTCPeerConnection || !navigator.mediaDevices) {
        $('golive-start').disabled = true;
        this.status('unsupported', 'This browser cannot publish (no WebRTC or media devices here; they need HTTPS or localhost).');
        return;
      }
      $('golive-form').addEventListener('submit', (e) => { e.preventDefault(); this.start(); });
      $('golive-stop').addEventListener('click', () => this.stop());
      window.addEventListener('pagehide', () => { if (this.pc) this.stop(); });
    },
  };

  document.addEventListener('DOMContentLoaded', () => golive.setup());
})();
