// Package invokeapi serves Lambda's Invoke API
// (POST /2015-03-31/functions/{name}/invocations) for in-process
// functions, so code calls them with the AWS SDK's Lambda client as on AWS.
package invokeapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/localcloud/lambdas"
	"github.com/hlsflow/hlsflow/internal/localcloud/sigv4"
)

// MaxPayload is Lambda's limit for a synchronous request payload.
const MaxPayload = 6 << 20

// Runtime runs the functions (lambdas.Runtime does).
type Runtime interface {
	Has(name string) bool
	ARN(name string) string
	Invoke(ctx context.Context, name string, payload []byte) ([]byte, error)
	InvokeAsync(name string, payload []byte) error
}

var _ Runtime = (*lambdas.Runtime)(nil)

// Handler is the Invoke API. Requests must be signed (SigV4, service
// "lambda") with the local cloud's credentials.
type Handler struct {
	Runtime              Runtime
	AccessKey, SecretKey string
	Region               string
	// Now is the clock for signature freshness (default time.Now).
	Now func() time.Time
}

const prefix = "/2015-03-31/functions/"

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	name, ok2 := strings.CutSuffix(rest, "/invocations")
	if !ok || !ok2 || name == "" || strings.Contains(name, "/") {
		writeError(w, http.StatusNotFound, "UnknownOperationException", "unknown operation "+r.Method+" "+r.URL.Path)
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "UnknownOperationException", "method not allowed")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequestContentException", "could not read request body")
		return
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	if _, err := sigv4.Verify(r, body, h.AccessKey, h.SecretKey, h.Region, now()); err != nil {
		writeAuthError(w, err)
		return
	}
	if len(body) > MaxPayload {
		writeError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException", "request must be smaller than 6291456 bytes for the InvokeFunction operation")
		return
	}
	if len(body) > 0 && !json.Valid(body) {
		writeError(w, http.StatusBadRequest, "InvalidRequestContentException", "could not parse request body into json")
		return
	}
	fn := functionName(name)
	if !h.Runtime.Has(fn) {
		writeError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+h.Runtime.ARN(fn))
		return
	}
	if len(body) == 0 {
		body = []byte("{}")
	}

	switch typ := r.Header.Get("X-Amz-Invocation-Type"); typ {
	case "", "RequestResponse":
		out, err := h.Runtime.Invoke(r.Context(), fn, body)
		w.Header().Set("X-Amz-Executed-Version", "$LATEST")
		w.Header().Set("Content-Type", "application/json")
		var fe *lambdas.FunctionError
		switch {
		case errors.As(err, &fe):
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			b, _ := json.Marshal(fe)
			w.WriteHeader(http.StatusOK)
			w.Write(b)
		case err != nil:
			writeError(w, http.StatusInternalServerError, "ServiceException", "invoke failed")
		default:
			w.WriteHeader(http.StatusOK)
			w.Write(out)
		}
	case "Event":
		switch err := h.Runtime.InvokeAsync(fn, body); {
		case errors.Is(err, lambdas.ErrQueueFull):
			writeError(w, http.StatusTooManyRequests, "TooManyRequestsException", "rate exceeded")
		case err != nil:
			writeError(w, http.StatusServiceUnavailable, "ServiceException", "function is shutting down")
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, http.StatusBadRequest, "InvalidParameterValueException", "invalid invocation type "+typ)
	}
}

// functionName accepts what Lambda accepts: a name, a full or partial
// ARN, with an optional qualifier (ignored here: one version exists).
func functionName(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		s = u
	}
	if i := strings.Index(s, ":function:"); i >= 0 {
		s = s[i+len(":function:"):]
	} else if f := strings.Split(s, ":"); len(f) == 3 && f[1] == "function" {
		s = f[2] // ACCOUNT:function:NAME
	}
	name, _, _ := strings.Cut(s, ":")
	return name
}

func writeAuthError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, sigv4.ErrMissing):
		writeError(w, http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token")
	case errors.Is(err, sigv4.ErrUnknownKey):
		writeError(w, http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid.")
	default:
		writeError(w, http.StatusForbidden, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided: "+err.Error())
	}
}

// writeError answers as Lambda's REST-JSON protocol does: the error code in
// X-Amzn-ErrorType and the body, which the SDK turns into typed errors.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"Type": "User", "message": msg, "__type": code})
	w.Write(b)
}
