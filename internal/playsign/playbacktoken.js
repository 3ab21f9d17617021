// CloudFront Function (viewer request, JavaScript runtime 2.0) on /p/*:
// checks a path token as internal/playsign does (token.go), then strips
// it, so the origin and the cache see /vod/{id}/… and every token shares
// one cached copy. Path tokens exist because relative URIs in a playlist
// keep the /p/{token}/ prefix: ffmpeg, hls.js and Safari carry the grant
// to every segment without cookies or rewritten playlists.
//
// A token is {expires}.{key id}.{mac}: the mac is the first 32 hex digits
// of HMAC-SHA256(key, "hlsflow-playback-v1\n{vod|live}/{name}\n{expires}"),
// and the key is the value stored under the key id in the function's
// key value store, so keys rotate without a deploy (docs/architecture.md).
import crypto from 'crypto';
import cf from 'cloudfront';

var kvs = cf.kvs();
var TOKEN = /^\/p\/([0-9]{1,12})\.([A-Za-z0-9_-]{1,32})\.([0-9a-f]{32})\/(vod|live)\/([A-Za-z0-9_~-][A-Za-z0-9._~-]{0,254})\/(.+)$/;
var SEGMENT = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,254}$/;
// A recording's id, {stream}-{YYYYMMDD}-{HHMMSS}: live playlists name
// their segments in it, so a stream's grant opens its recordings.
var RECORDING = /^(.+)-[0-9]{8}-[0-9]{6}$/;

function deny(reason) {
  return {
    statusCode: 403,
    statusDescription: 'Forbidden',
    headers: {
      'content-type': { value: 'application/json' },
      'cache-control': { value: 'no-store' }
    },
    body: { encoding: 'text', data: '{"error":"' + reason + '"}' }
  };
}

function sign(key, scope, exp) {
  return crypto.createHmac('sha256', key).update('hlsflow-playback-v1\n' + scope + '\n' + exp).digest('hex').substring(0, 32);
}

// equal compares in time independent of where the strings differ.
function equal(a, b) {
  if (a.length !== b.length) {
    return false;
  }
  var d = 0;
  for (var i = 0; i < a.length; i++) {
    d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  }
  return d === 0;
}

async function handler(event) {
  var request = event.request;
  var m = TOKEN.exec(request.uri);
  if (!m) {
    return deny('playback grant is not valid');
  }
  var exp = m[1], kid = m[2], mac = m[3], scope = m[4] + '/' + m[5], file = m[6];
  if (String(parseInt(exp, 10)) !== exp) {
    return deny('playback grant is not valid');
  }
  var parts = file.split('/');
  for (var i = 0; i < parts.length; i++) {
    if (!SEGMENT.test(parts[i])) {
      return deny('playback grant is not valid');
    }
  }
  var key;
  try {
    key = await kvs.get(kid);
  } catch (e) {
    return deny('playback grant is not valid'); // unknown (retired) key id
  }
  var ok = equal(sign(key, scope, exp), mac);
  var rec = m[4] === 'vod' ? RECORDING.exec(m[5]) : null;
  if (!ok && rec) {
    ok = equal(sign(key, 'live/' + rec[1], exp), mac);
  }
  if (!ok) {
    return deny('playback grant is not valid');
  }
  if (Date.now() / 1000 >= Number(exp)) {
    return deny('playback grant has expired');
  }
  request.uri = '/' + scope + '/' + file;
  return request;
}
