package taskip

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/hlsflow/hlsflow/internal/ecsmeta"
)

// fakeMetadata is the ECS task metadata endpoint (v4) of a Fargate task
// whose interface is 10.0.1.23 with MAC 0a:de:f6:10:51:e5.
func fakeMetadata(t *testing.T, answer string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v4/abc/task" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(answer))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v4/abc"
}

const fargateTask = `{"TaskARN":"arn:aws:ecs:us-east-1:111122223333:task/hlsflow/0123","Containers":[
 {"Name":"ingest","Networks":[{"NetworkMode":"awsvpc","IPv4Addresses":["10.0.1.23"],"MACAddress":"0a:de:f6:10:51:e5"}]}]}`

// fakeEC2 answers DescribeNetworkInterfaces as EC2's query API does, with
// the interface answer gives for the request's filters; it counts calls
// and keeps the last request's form.
type fakeEC2 struct {
	calls  atomic.Int32
	form   atomic.Pointer[url.Values]
	auth   atomic.Pointer[string]
	answer func(w http.ResponseWriter, form url.Values)
}

func (f *fakeEC2) start(t *testing.T) EC2 {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		form, auth := r.PostForm, r.Header.Get("Authorization")
		f.form.Store(&form)
		f.auth.Store(&auth)
		f.answer(w, form)
	}))
	t.Cleanup(srv.Close)
	return ec2.New(ec2.Options{
		BaseEndpoint: aws.String(srv.URL), Region: "us-east-1",
		Credentials:      aws.NewCredentialsCache(staticCreds{}),
		RetryMaxAttempts: 1,
	})
}

type staticCreds struct{}

func (staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", Source: "test"}, nil
}

// eni is one interface of a DescribeNetworkInterfaces answer.
func eni(mac, private, public string) string {
	assoc := ""
	if public != "" {
		assoc = "<association><publicIp>" + public + "</publicIp><ipOwnerId>amazon</ipOwnerId></association>"
	}
	return `<item><networkInterfaceId>eni-0123456789abcdef0</networkInterfaceId><macAddress>` + mac +
		`</macAddress><privateIpAddress>` + private + `</privateIpAddress>` + assoc +
		`<privateIpAddressesSet><item><privateIpAddress>` + private + `</privateIpAddress><primary>true</primary></item></privateIpAddressesSet></item>`
}

func answer(items ...string) func(http.ResponseWriter, url.Values) {
	return func(w http.ResponseWriter, _ url.Values) {
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<DescribeNetworkInterfacesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId>
<networkInterfaceSet>%s</networkInterfaceSet></DescribeNetworkInterfacesResponse>`, strings.Join(items, ""))
	}
}

func finder(t *testing.T, metaAnswer string, api EC2) *Finder {
	base := fakeMetadata(t, metaAnswer)
	return &Finder{
		Network: func(ctx context.Context) (ecsmeta.Network, error) {
			return ecsmeta.TaskNetwork(ctx, http.DefaultClient, base)
		},
		EC2:         api,
		CallTimeout: 300 * time.Millisecond, Retry: 10 * time.Millisecond,
	}
}

func TestFind(t *testing.T) {
	f := &fakeEC2{answer: answer(eni("0a:de:f6:10:51:e5", "10.0.1.23", "203.0.113.7"))}
	ip, err := finder(t, fargateTask, f.start(t)).Find(t.Context())
	if err != nil || ip.String() != "203.0.113.7" {
		t.Fatalf("= %v, %v; want 203.0.113.7", ip, err)
	}
	form := *f.form.Load()
	want := url.Values{"Action": {"DescribeNetworkInterfaces"}, "Version": {"2016-11-15"},
		"Filter.1.Name": {"mac-address"}, "Filter.1.Value.1": {"0a:de:f6:10:51:e5"},
		"Filter.2.Name": {"private-ip-address"}, "Filter.2.Value.1": {"10.0.1.23"}}
	for k, v := range want {
		if form.Get(k) != v[0] {
			t.Errorf("request %s = %q, want %q (form %v)", k, form.Get(k), v[0], form)
		}
	}
	if a := *f.auth.Load(); !strings.Contains(a, "/us-east-1/ec2/aws4_request") {
		t.Errorf("Authorization %q: not signed for ec2", a)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

// Whatever EC2 (or something in its place) answers, Find ends with an
// error in bounded time, and asks again only when that may help.
func TestFindBadAnswers(t *testing.T) {
	const mac, private = "0a:de:f6:10:51:e5", "10.0.1.23"
	for _, tc := range []struct {
		name   string
		answer func(http.ResponseWriter, url.Values)
		want   string
		calls  int32
		is     error
	}{
		{"no public IP", answer(eni(mac, private, "")), "no public IPv4", Attempts, ErrNoPublicIP},
		{"no interface", answer(), "knows no interface", Attempts, nil},
		{"two interfaces", answer(eni(mac, private, "203.0.113.7"), eni(mac, private, "203.0.113.8")), "2 interfaces", 1, nil},
		{"another MAC", answer(eni("02:00:00:00:00:01", private, "203.0.113.7")), "another interface", 1, nil},
		{"another private address", answer(eni(mac, "10.0.9.9", "203.0.113.7")), "another interface", 1, nil},
		{"private public IP", answer(eni(mac, private, "10.0.0.5")), "not a public IPv4", 1, nil},
		{"loopback public IP", answer(eni(mac, private, "127.0.0.1")), "not a public IPv4", 1, nil},
		{"IPv6 public IP", answer(eni(mac, private, "2001:db8::1")), "not a public IPv4", 1, nil},
		{"garbage public IP", answer(eni(mac, private, strings.Repeat("x", 500))), "not a public IPv4", 1, nil},
		{"unspecified public IP", answer(eni(mac, private, "0.0.0.0")), "not a public IPv4", 1, nil},
		{"denied", func(w http.ResponseWriter, _ url.Values) {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized</Message></Error></Errors><RequestID>r</RequestID></Response>`))
		}, "UnauthorizedOperation", Attempts, nil},
		{"not XML", func(w http.ResponseWriter, _ url.Values) { _, _ = w.Write([]byte("<html><body>hi")) }, "DescribeNetworkInterfaces", Attempts, nil},
		{"server error", func(w http.ResponseWriter, _ url.Values) { http.Error(w, "boom", http.StatusInternalServerError) }, "500", Attempts, nil},
		{"silent", func(w http.ResponseWriter, _ url.Values) { time.Sleep(time.Second) }, "deadline", Attempts, nil},
		{"endless answer", func(w http.ResponseWriter, _ url.Values) {
			_, _ = w.Write([]byte(`<DescribeNetworkInterfacesResponse><networkInterfaceSet>`))
			for i := 0; i < 1<<20; i++ {
				if _, err := w.Write([]byte(`<item><macAddress>` + strings.Repeat("a", 1000) + `</macAddress></item>`)); err != nil {
					return
				}
			}
		}, "DescribeNetworkInterfaces", Attempts, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeEC2{answer: tc.answer}
			begin := time.Now()
			ip, err := finder(t, fargateTask, f.start(t)).Find(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("= %v, %v; want an error with %q", ip, err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("= %v, want %v", err, tc.is)
			}
			if n := f.calls.Load(); n != tc.calls {
				t.Errorf("%d calls, want %d", n, tc.calls)
			}
			if d := time.Since(begin); d > 3*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// A metadata answer without what names the interface, or no metadata at
// all, ends Find before any EC2 call.
func TestFindBadMetadata(t *testing.T) {
	for _, tc := range []struct{ name, meta, want string }{
		{"no MAC", `{"Containers":[{"Networks":[{"IPv4Addresses":["10.0.1.23"]}]}]}`, "no MAC"},
		{"no address", `{"Containers":[{"Networks":[{"IPv4Addresses":[],"MACAddress":"0a:de:f6:10:51:e5"}]}]}`, "no IPv4"},
		{"not JSON", `<html>`, "/task"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeEC2{answer: answer(eni("0a:de:f6:10:51:e5", "10.0.1.23", "203.0.113.7"))}
			_, err := finder(t, tc.meta, f.start(t)).Find(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("= %v, want an error with %q", err, tc.want)
			}
			if n := f.calls.Load(); n != 0 {
				t.Errorf("%d EC2 calls, want none", n)
			}
		})
	}
	t.Run("not on ECS", func(t *testing.T) {
		fd := &Finder{Network: func(ctx context.Context) (ecsmeta.Network, error) {
			return ecsmeta.TaskNetwork(ctx, http.DefaultClient, "")
		}}
		if _, err := fd.Find(t.Context()); !errors.Is(err, ecsmeta.ErrNotOnECS) {
			t.Errorf("= %v, want ErrNotOnECS", err)
		}
	})
}

// The caller's deadline bounds Find, retries included.
func TestFindDeadline(t *testing.T) {
	f := &fakeEC2{answer: answer(eni("0a:de:f6:10:51:e5", "10.0.1.23", ""))}
	fd := finder(t, fargateTask, f.start(t))
	fd.Attempts, fd.Retry = 100, 100*time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	begin := time.Now()
	if _, err := fd.Find(ctx); !errors.Is(err, ErrNoPublicIP) {
		t.Errorf("= %v, want ErrNoPublicIP", err)
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("took %v past a 500 ms deadline", d)
	}
}
