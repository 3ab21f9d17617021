package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/smithy-go"
)

// apiError is an error the client is meant to read: an HTTP status and a
// message for a person, naming the field at fault when there is one.
type apiError struct {
	Status  int    `json:"-"`
	Message string `json:"error"`
	Field   string `json:"field,omitempty"`
	Missing []int  `json:"missingParts,omitempty"`
	Allow   string `json:"-"`
	Auth    bool   `json:"-"` // credentials missing or wrong: say which scheme to use
}

func (e *apiError) Error() string { return e.Message }

func badField(field, format string, args ...any) error {
	return &apiError{Status: http.StatusBadRequest, Field: field, Message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &apiError{Status: http.StatusNotFound, Message: fmt.Sprintf(format, args...)}
}

func methodNotAllowed(allow string) error {
	return &apiError{Status: http.StatusMethodNotAllowed, Allow: allow, Message: "method not allowed here; use " + allow}
}

// isNoSuchUpload reports whether err is S3's NoSuchUpload, which the SDK
// does not model as a type for every operation.
func isNoSuchUpload(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "NoSuchUpload"
}

// request is one call: its context and event.
type request struct {
	ctx context.Context
	ev  *events.APIGatewayV2HTTPRequest
}

func (r *request) header(name string) string {
	name = strings.ToLower(name)
	for k, v := range r.ev.Headers {
		if strings.ToLower(k) == name {
			return v
		}
	}
	return ""
}

// maxJSON bounds request documents; the API's are a few hundred bytes.
const maxJSON = 64 << 10

// decode reads the JSON body into v, refusing unknown fields, and turns
// decoding failures into 400s that name the field.
func (r *request) decode(v any) error {
	body := r.ev.Body
	if r.ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return &apiError{Status: http.StatusBadRequest, Message: "request body is not valid base64"}
		}
		body = string(b)
	}
	if len(body) > maxJSON {
		return &apiError{Status: http.StatusRequestEntityTooLarge, Message: "request body too large"}
	}
	if strings.TrimSpace(body) == "" {
		return &apiError{Status: http.StatusBadRequest, Message: "request body is empty; send a JSON object"}
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &apiError{Status: http.StatusBadRequest, Message: "request body has data after the JSON object"}
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &apiError{Status: http.StatusBadRequest, Message: fmt.Sprintf("request body is not valid JSON (at byte %d)", syn.Offset)}
	case errors.As(err, &typ):
		if typ.Field == "" {
			return &apiError{Status: http.StatusBadRequest, Message: "request body must be a JSON object"}
		}
		return badField(typ.Field, "%s must be a %s, not a JSON %s", typ.Field, kindName(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &apiError{Status: http.StatusBadRequest, Message: "request body is not valid JSON (it ends too early)"}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badField(f, "unknown field %q", f)
	}
	return &apiError{Status: http.StatusBadRequest, Message: "request body is not valid JSON"}
}

func kindName(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "number"
	case k == "slice":
		return "list"
	case k == "struct", k == "map":
		return "object"
	}
	return k
}

// reply encodes v as a JSON response.
func reply(status int, v any) (events.APIGatewayV2HTTPResponse, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("encode response: %w", err)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers: map[string]string{
			"Content-Type": "application/json",
			// Status changes by the second; caches must not keep it.
			"Cache-Control": "no-store",
		},
		Body: string(b),
	}, nil
}

// errorResponse turns err into its JSON response. Errors that are not
// apiErrors are internal: logged, and shown only as a generic message.
func errorResponse(ctx context.Context, err error) events.APIGatewayV2HTTPResponse {
	var ae *apiError
	if !errors.As(err, &ae) {
		if ctx.Err() != nil {
			ae = &apiError{Status: http.StatusServiceUnavailable, Message: "the request was cancelled or timed out; try again"}
		} else {
			log.Printf("api: %v", err)
			ae = &apiError{Status: http.StatusInternalServerError, Message: "internal error; try again, and check the server log if it persists"}
		}
	}
	resp, encErr := reply(ae.Status, ae)
	if encErr != nil {
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusInternalServerError}
	}
	if ae.Allow != "" {
		resp.Headers["Allow"] = ae.Allow
	}
	if ae.Auth {
		resp.Headers["WWW-Authenticate"] = `Bearer realm="hlsflow"`
	}
	return resp
}
