// Package apigw runs a Lambda handler behind a local HTTP server the way an
// AWS HTTP API (payload format 2.0) or a Lambda function URL would: each
// request becomes an events.APIGatewayV2HTTPRequest, goes through the
// aws-lambda-go JSON serialisation (lambda.Handler.Invoke), and the
// events.APIGatewayV2HTTPResponse that comes back becomes the HTTP response.
// Serve is the other direction, for Lambda: it runs an http.Handler for
// each event.
package apigw

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// MaxPayload is the largest request body accepted by default: Lambda's
// synchronous invocation payload limit, so what works locally fits on AWS.
const MaxPayload = 6 << 20

// Adapter is an http.Handler that invokes a Lambda handler for each request.
type Adapter struct {
	h lambda.Handler
	// MaxBody bounds request bodies; larger ones get 413 as on AWS.
	MaxBody int64
	// Logf reports handler failures (which the client sees only as 500);
	// nil logs with the standard logger.
	Logf func(format string, args ...any)
}

// New returns an Adapter for h, typically lambda.NewHandler(fn).
func New(h lambda.Handler) *Adapter {
	return &Adapter{h: h, MaxBody: MaxPayload}
}

var _ http.Handler = (*Adapter)(nil)

// ServeHTTP converts r into an HTTP API v2 event, invokes the handler and
// writes its response.
func (a *Adapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
			return
		}
		writeMessage(w, http.StatusBadRequest, "Bad Request")
		return
	}
	ev := Event(r, body)
	payload, err := json.Marshal(ev)
	if err != nil {
		a.fail(w, "encode event: %v", err)
		return
	}
	ctx := lambdacontext.NewContext(r.Context(), &lambdacontext.LambdaContext{AwsRequestID: ev.RequestContext.RequestID})
	out, err := a.h.Invoke(ctx, payload)
	if err != nil {
		a.fail(w, "invoke %s %s: %v", r.Method, r.URL.Path, err)
		return
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		a.fail(w, "decode response of %s %s: %v", r.Method, r.URL.Path, err)
		return
	}
	if err := WriteResponse(w, &resp); err != nil {
		a.fail(w, "response of %s %s: %v", r.Method, r.URL.Path, err)
	}
}

// fail answers as API Gateway does when the function errs or returns
// something it cannot use: 500 with a generic message, details only in logs.
func (a *Adapter) fail(w http.ResponseWriter, format string, args ...any) {
	logf := a.Logf
	if logf == nil {
		logf = log.Printf
	}
	logf("apigw: "+format, args...)
	writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"message": msg})
	_, _ = w.Write(b)
}

// Event builds the payload-format-2.0 event AWS would send for r with body.
// Header names are lowercased and repeated values joined with commas;
// cookies move to Cookies; repeated query parameters are joined with commas;
// a body that is not text is base64-encoded.
func Event(r *http.Request, body []byte) events.APIGatewayV2HTTPRequest {
	now := time.Now()
	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       "$default",
		RawPath:        r.URL.EscapedPath(),
		RawQueryString: r.URL.RawQuery,
		Headers:        map[string]string{},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     "$default",
			AccountID:    "000000000000",
			Stage:        "$default",
			RequestID:    requestID(),
			APIID:        "local",
			DomainName:   r.Host,
			DomainPrefix: domainPrefix(r.Host),
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP(r.RemoteAddr),
				UserAgent: r.UserAgent(),
			},
		},
	}
	for name, vals := range r.Header {
		if strings.EqualFold(name, "Cookie") {
			for _, v := range vals {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						ev.Cookies = append(ev.Cookies, c)
					}
				}
			}
			continue
		}
		ev.Headers[strings.ToLower(name)] = strings.Join(vals, ",")
	}
	if r.Host != "" {
		ev.Headers["host"] = r.Host
	}
	if q := r.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters = make(map[string]string, len(q))
		for k, v := range q {
			ev.QueryStringParameters[k] = strings.Join(v, ",")
		}
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type")) && utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// WriteResponse writes resp to w: headers (single and multi-valued),
// cookies as Set-Cookie, the status, and the body, base64-decoded when the
// handler says so.
func WriteResponse(w http.ResponseWriter, resp *events.APIGatewayV2HTTPResponse) error {
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return fmt.Errorf("invalid status code %d", resp.StatusCode)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return errors.New("body is not valid base64")
		}
		body = b
	}
	h := w.Header()
	// Sorted so the output does not depend on map order.
	names := make([]string, 0, len(resp.MultiValueHeaders))
	for k := range resp.MultiValueHeaders {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range resp.MultiValueHeaders[k] {
			h.Add(k, v)
		}
	}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	if h.Get("Content-Type") == "" && len(body) > 0 {
		// HTTP APIs default to JSON when the function names no type.
		h.Set("Content-Type", "application/json")
	}
	w.WriteHeader(resp.StatusCode)
	_, err := w.Write(body)
	return err
}

// isText reports whether a body of this Content-Type travels as text in the
// event; the others are base64-encoded, as function URLs do.
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript", mt == "application/x-www-form-urlencoded",
		mt == "application/graphql", mt == "application/yaml":
		return true
	}
	return false
}

func sourceIP(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	return host
}

func domainPrefix(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if net.ParseIP(host) != nil {
		return host
	}
	p, _, _ := strings.Cut(host, ".")
	return p
}

func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	s := hex.EncodeToString(b)
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}
