package invokeapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"github.com/hlsflow/hlsflow/internal/localcloud/invokeapi"
	"github.com/hlsflow/hlsflow/internal/localcloud/lambdas"
)

type req struct {
	N int `json:"n"`
}

func double(_ context.Context, r req) (map[string]int, error) {
	if r.N < 0 {
		return nil, errors.New("negative")
	}
	return map[string]int{"doubled": 2 * r.N}, nil
}

func client(url, key, secret string) *awslambda.Client {
	return awslambda.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
		BaseEndpoint: aws.String(url),
	}, func(o *awslambda.Options) { o.RetryMaxAttempts = 1 })
}

func TestInvokeWithSDK(t *testing.T) {
	called := make(chan struct{}, 10)
	rt := lambdas.New(lambdas.Config{Functions: map[string]lambdas.Function{
		"double": {Handler: lambda.NewHandler(double)},
		"async": {Handler: lambda.NewHandler(func(context.Context, req) error {
			called <- struct{}{}
			return nil
		})},
	}})
	defer rt.Close(context.Background())
	srv := httptest.NewServer(&invokeapi.Handler{Runtime: rt, AccessKey: "test", SecretKey: "test", Region: "us-east-1"})
	defer srv.Close()
	ctx := context.Background()
	c := client(srv.URL, "test", "test")

	cases := []struct {
		name, function, payload string
		typ                     types.InvocationType
		wantStatus              int32
		wantPayload, wantFnErr  string
		wantCode                string
	}{
		{name: "request response", function: "double", payload: `{"n":21}`, wantStatus: 200, wantPayload: `{"doubled":42}`},
		{name: "by arn", function: "arn:aws:lambda:us-east-1:000000000000:function:double", payload: `{"n":1}`, wantStatus: 200, wantPayload: `{"doubled":2}`},
		{name: "function error", function: "double", payload: `{"n":-1}`, wantStatus: 200, wantFnErr: "Unhandled", wantPayload: `{"errorMessage":"negative","errorType":"errorString"}`},
		{name: "event", function: "async", payload: `{}`, typ: types.InvocationTypeEvent, wantStatus: 202},
		{name: "dry run", function: "double", payload: `{}`, typ: types.InvocationTypeDryRun, wantStatus: 204},
		{name: "unknown function", function: "missing", payload: `{}`, wantCode: "ResourceNotFoundException"},
		{name: "not json", function: "double", payload: `{`, wantCode: "InvalidRequestContentException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := &awslambda.InvokeInput{FunctionName: aws.String(tc.function), Payload: []byte(tc.payload)}
			if tc.typ != "" {
				in.InvocationType = tc.typ
			}
			out, err := c.Invoke(ctx, in)
			if tc.wantCode != "" {
				var ae smithy.APIError
				if !errors.As(err, &ae) || ae.ErrorCode() != tc.wantCode {
					t.Fatalf("got %v, want error code %s", err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d", out.StatusCode, tc.wantStatus)
			}
			if aws.ToString(out.FunctionError) != tc.wantFnErr {
				t.Errorf("function error %q, want %q", aws.ToString(out.FunctionError), tc.wantFnErr)
			}
			if tc.wantPayload != "" && !jsonEqual(t, out.Payload, []byte(tc.wantPayload)) {
				t.Errorf("payload %s, want %s", out.Payload, tc.wantPayload)
			}
		})
	}
	select {
	case <-called:
	case <-time.After(10 * time.Second):
		t.Error("the Event invocation never ran")
	}
}

func TestInvokeRejectsBadCredentials(t *testing.T) {
	ran := make(chan struct{}, 1)
	rt := lambdas.New(lambdas.Config{Functions: map[string]lambdas.Function{
		"f": {Handler: lambda.NewHandler(func() error { ran <- struct{}{}; return nil })},
	}})
	defer rt.Close(context.Background())
	srv := httptest.NewServer(&invokeapi.Handler{Runtime: rt, AccessKey: "test", SecretKey: "test", Region: "us-east-1"})
	defer srv.Close()
	cases := []struct{ name, key, secret, code string }{
		{"wrong secret", "test", "wrong", "InvalidSignatureException"},
		{"unknown key", "other", "test", "UnrecognizedClientException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client(srv.URL, tc.key, tc.secret).Invoke(context.Background(), &awslambda.InvokeInput{FunctionName: aws.String("f")})
			var re interface{ HTTPStatusCode() int }
			var ae smithy.APIError
			if !errors.As(err, &re) || re.HTTPStatusCode() != 403 || !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
				t.Fatalf("got %v, want 403 %s", err, tc.code)
			}
		})
	}
	select {
	case <-ran:
		t.Error("function ran for a request with bad credentials")
	default:
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}
