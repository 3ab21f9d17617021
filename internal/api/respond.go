package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
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

// request is one call.
type request struct {
	*http.Request
}

// maxJSON bounds request documents; the API's are a few hundred bytes.
const maxJSON = 64 << 10

// decode reads the JSON body into v, refusing unknown fields, and turns
// decoding failures into 400s that name the field.
func (r *request) decode(v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJSON+1))
	if err != nil {
		return &apiError{Status: http.StatusBadRequest, Message: "request body could not be read"}
	}
	if len(body) > maxJSON {
		return &apiError{Status: http.StatusRequestEntityTooLarge, Message: "request body too large"}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return &apiError{Status: http.StatusBadRequest, Message: "request body is empty; send a JSON object"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
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

// response is an answer: a status and a JSON body.
type response struct {
	status int
	body   []byte
	header map[string]string
}

// reply encodes v as a JSON response.
func reply(status int, v any) (*response, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode response: %w", err)
	}
	return &response{status: status, body: b}, nil
}

func (resp *response) write(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	// Status changes by the second; caches must not keep it.
	h.Set("Cache-Control", "no-store")
	for k, v := range resp.header {
		h.Set(k, v)
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

// errorResponse turns err into its JSON response. Errors that are not
// apiErrors are internal: logged, and shown only as a generic message.
func errorResponse(ctx context.Context, err error) *response {
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
		return &response{status: http.StatusInternalServerError}
	}
	resp.header = map[string]string{}
	if ae.Allow != "" {
		resp.header["Allow"] = ae.Allow
	}
	if ae.Auth {
		resp.header["WWW-Authenticate"] = `Bearer realm="hlsflow"`
	}
	return resp
}
