package api

import "strings"

// viewerURL completes u when it is a path: on AWS the WHIP endpoint is on
// the same CloudFront distribution as the API ("/whip"), whose name the
// stack cannot hand the API without a dependency cycle (the distribution
// names the API's function URL). The viewer's host, which apirequest.js
// passes in ViewerHostHeader, is that name. "" when u is a path and the
// host is unknown or not a plain host; u itself otherwise.
func viewerURL(r *request, u string) string {
	if !strings.HasPrefix(u, "/") {
		return u
	}
	if host := r.Header.Get(ViewerHostHeader); validHost(host) {
		return "https://" + host + u
	}
	return ""
}
