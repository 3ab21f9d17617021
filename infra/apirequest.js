// CloudFront Function (viewer request) on /api/*. CloudFront signs every
// request to the API's function URL (origin access control) and so
// replaces the viewer's Authorization header with its own signature. This
// keeps the viewer's credential for the API under another name, which a
// viewer cannot set itself, and refuses early, with a clear message, a
// body CloudFront could not sign. It also passes on the Host the viewer
// used (the function URL sees its own), for the playback grants the API
// signs for that host.
var FORWARDED = 'x-hlsflow-authorization';
var VIEWER_HOST = 'x-hlsflow-viewer-host';
var HASH = 'x-amz-content-sha256';

function handler(event) {
  var request = event.request;
  var headers = request.headers;
  delete headers[FORWARDED];
  delete headers[VIEWER_HOST];
  if (headers.host) {
    headers[VIEWER_HOST] = { value: headers.host.value };
  }
  if (headers.authorization) {
    headers[FORWARDED] = { value: headers.authorization.value };
  }
  var m = request.method;
  if ((m === 'POST' || m === 'PUT' || m === 'PATCH') && !/^[0-9a-f]{64}$/.test((headers[HASH] || {}).value || '')) {
    return {
      statusCode: 400,
      statusDescription: 'Bad Request',
      headers: {
        'content-type': { value: 'application/json' },
        'cache-control': { value: 'no-store' }
      },
      body: {
        encoding: 'text',
        data: '{"error":"' + m + ' requests to /api need the header x-amz-content-sha256: the hex SHA-256 of the request body (of an empty body too)"}'
      }
    };
  }
  return request;
}
