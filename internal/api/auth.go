package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"net/http"
	"strings"

	"github.com/hlsflow/hlsflow/internal/apigw"
	"github.com/hlsflow/hlsflow/internal/catalog"
	"github.com/hlsflow/hlsflow/internal/store"
)

// Who may call what (README.md has the table):
//   - the operator, holding the API token (Authorization: Bearer), may do
//     everything;
//   - whoever holds an upload's own secret (returned once, when the upload
//     is created) may complete or cancel that upload, and nothing else;
//   - anyone may read the library only when Config.PublicLibrary is set,
//     and then sees ready videos without file names or storage locations.
//
// Credentials are checked before anything else about the request (its id,
// its body), so a stranger learns nothing, not even whether an id exists.

// errNeedToken is the answer to a request without valid credentials.
func errNeedToken(what string) error {
	return &apiError{Status: http.StatusUnauthorized, Auth: true,
		Message: what + " needs the API token: send Authorization: Bearer <token> (hlsflow up prints it and keeps it in .hlsflow/api.token)"}
}

// errNoToken answers writes on a server with no token configured: they
// are refused, never allowed.
var errNoToken = &apiError{Status: http.StatusUnauthorized, Auth: true,
	Message: "this server has no API token configured, so it accepts no changes"}

// errCredentialsUnavailable answers when the token cannot be read (say,
// Secrets Manager is unreachable): refused, and worth retrying.
var errCredentialsUnavailable = &apiError{Status: http.StatusServiceUnavailable,
	Message: "cannot check credentials right now; try again"}

// ForwardedAuthorization is where the viewer's Authorization header
// arrives behind CloudFront: the origin access control replaces
// Authorization with CloudFront's own signature, and a CloudFront Function
// (infra/apirequest.js) copies the viewer's value here first, deleting any
// the viewer sent under this name.
const ForwardedAuthorization = "X-Hlsflow-Authorization"

// bearer is the request's bearer credential, or "": from
// ForwardedAuthorization when present (behind CloudFront), else from
// Authorization (locally, or a direct call).
func (r *request) bearer() string {
	value := r.Header.Get(ForwardedAuthorization)
	if value == "" {
		value = r.Header.Get("Authorization")
	}
	scheme, cred, ok := strings.Cut(strings.TrimSpace(value), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(cred)
}

// token is the API token now: from TokenSource when set (so a rotated
// secret takes effect without a redeploy), else Token; "" when none is
// configured.
func (h *Handler) token(r *request) (string, error) {
	if h.cfg.TokenSource != nil {
		return h.cfg.TokenSource(r.Context())
	}
	return h.cfg.Token, nil
}

// operator reports whether r comes from the operator: it carries the API
// token, or API Gateway authorised it and Config.TrustAuthorizer says
// that is proof enough. A server without a token has no operator.
func (h *Handler) operator(r *request) (bool, error) {
	if h.cfg.TrustAuthorizer {
		// Only an event carries a verdict: a plain HTTP request has none.
		if ev, ok := apigw.EventFrom(r.Context()); ok {
			if a := ev.RequestContext.Authorizer; a != nil && (a.IAM != nil || a.JWT != nil || a.Lambda != nil) {
				return true, nil
			}
		}
	}
	got := r.bearer()
	if got == "" {
		return false, nil // no need to read the token for a stranger
	}
	want, err := h.token(r)
	if err != nil {
		log.Printf("api: read the API token: %v", err)
		return false, errCredentialsUnavailable
	}
	return want != "" && equal(got, want), nil
}

// requireOperator refuses r unless it comes from the operator; what names
// the action for the error message.
func (h *Handler) requireOperator(r *request, what string) error {
	ok, err := h.operator(r)
	switch {
	case err != nil:
		return err
	case ok:
		return nil
	case h.cfg.TokenSource == nil && h.cfg.Token == "" && !h.cfg.TrustAuthorizer:
		return errNoToken
	}
	return errNeedToken(what)
}

// mayRead refuses r unless the library is public or r is the operator's.
// It reports whether r sees the operator's view (file names, storage
// locations, uploads in progress). Credentials that are sent are checked
// even where none are needed: a wrong token is told so (401), not shown
// the public view as if it were right.
func (h *Handler) mayRead(r *request) (private bool, err error) {
	ok, err := h.operator(r)
	if err != nil {
		return false, err
	}
	if ok {
		return true, nil
	}
	if h.cfg.PublicLibrary && r.bearer() == "" {
		return false, nil
	}
	return false, errNeedToken("the library")
}

// uploadFor authorises a change to the upload id and returns its record:
// the operator may change any upload (an unknown id is then 404); anyone
// else needs that upload's own secret, and an unknown id, another upload's
// secret or no credentials at all get the same 401.
func (h *Handler) uploadFor(r *request, id, what string) (*uploadRecord, error) {
	op, opErr := h.operator(r)
	if op {
		return h.uploadRecordOr404(r, id)
	}
	refused := opErr // the token could not be read: say so, unless the secret works
	if refused == nil {
		refused = &apiError{Status: http.StatusUnauthorized, Auth: true,
			Message: what + " needs the API token or this upload's secret: send Authorization: Bearer <token or secret>"}
	}
	secret := r.bearer()
	if secret == "" || !catalog.ValidID(id) {
		return nil, refused
	}
	rec, err := h.getRecord(r, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, refused
	}
	if err != nil {
		return nil, err
	}
	if !rec.secretMatches(secret) {
		return nil, refused
	}
	return rec, nil
}

// newUploadSecret makes an upload's secret: 32 random bytes, URL-safe.
func newUploadSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random upload secret: %w", err)
	}
	return "hfu_" + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// secretHash is what the record keeps of an upload's secret: enough to
// check it, useless to present.
func secretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// secretMatches checks secret against the record in constant time. A
// record without a secret (made before secrets existed) matches nothing.
func (rec *uploadRecord) secretMatches(secret string) bool {
	if rec.SecretSHA256 == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(secretHash(secret)), []byte(rec.SecretSHA256)) == 1
}

// equal compares two credentials in constant time, lengths included.
func equal(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
