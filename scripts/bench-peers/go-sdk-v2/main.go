// The AWS SDK for Go v2's SigV4 signer (aws/signer/v4, Debian's golang-github-aws-aws-sdk-go-v2-dev)
// signing the benchmark request (see ../common.py): the same request, credentials, scope and time,
// looped in-process, timed in process CPU time (as the Swift runner and the Python drivers are),
// the cost of building a fresh request alone measured the same way and subtracted. Prints
// {"go-sdk-v2": {row: ns}} as JSON. Built and run by scripts/bench (GOPATH mode, offline).
//
// The v2 signer caches derived signing keys per access key id, date, region and service: the
// warm rows reuse one signer; the cold row makes a new signer (an empty cache) for each signature.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"syscall"
	"time"
	"unsafe"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	accessKeyID = "AKIDEXAMPLE"
	secret      = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	region      = "us-east-1"
	service     = "service"
	url         = "https://example.amazonaws.com/photos/2026/photo.jpg?size=large"
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	// `sigv4 sign` of the same request at the same time.
	expectedAuthorization = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, " +
		"SignedHeaders=accept;host;my-header1;x-amz-date, " +
		"Signature=d5d233318e011f4966130e135e3ec4507af8b5aa8eec1c7379a447b3482b40b5"
)

// processCPU is CLOCK_PROCESS_CPUTIME_ID in ns: every thread of the process, the collector's included.
func processCPU() int64 {
	var ts syscall.Timespec
	const clockProcessCPUTimeID = 2
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockProcessCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		panic(e)
	}
	return ts.Nano()
}

func bestNsPerOp(fn func(), quick, busy bool) float64 {
	target, batches := 0.1, 5
	if quick {
		target, batches = 0.03, 3
	}
	if busy {
		target, batches = 0.02, 60
	}
	fn()
	n := 8
	for {
		t0 := processCPU()
		for i := 0; i < n; i++ {
			fn()
		}
		dt := processCPU() - t0
		if float64(dt) >= target*1e9/4 {
			n = int(math.Max(1, target*1e9/(float64(dt)/float64(n))))
			break
		}
		n *= 4
	}
	best := math.Inf(1)
	for b := 0; b < batches; b++ {
		t0 := processCPU()
		for i := 0; i < n; i++ {
			fn()
		}
		best = math.Min(best, float64(processCPU()-t0)/float64(n))
	}
	return best
}

func main() {
	quick, busy := false, false
	for _, a := range os.Args[1:] {
		quick = quick || a == "--quick"
		busy = busy || a == "--busy"
	}
	creds := aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secret}
	date := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	ctx := context.Background()
	warm := v4.NewSigner()
	newRequest := func() *http.Request {
		r, err := http.NewRequest("GET", url, nil)
		if err != nil {
			panic(err)
		}
		r.Header.Set("My-Header1", "value1")
		r.Header.Set("Accept", "application/json")
		return r
	}
	check := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	// The same request as every other row: the signature is the one swift-sigv4, botocore and
	// awscrt compute for it (a driver that signed something else would time something else).
	probe := newRequest()
	check(warm.SignHTTP(ctx, creds, probe, emptySHA256, service, region, date))
	if got := probe.Header.Get("Authorization"); got != expectedAuthorization {
		fmt.Fprintf(os.Stderr, "the Go signer signed another request:\n%s\n", got)
		os.Exit(1)
	}
	rows := map[string][2]func(){
		"sign_header_warm": {func() { check(warm.SignHTTP(ctx, creds, newRequest(), emptySHA256, service, region, date)) }, func() { newRequest() }},
		"sign_header_cold": {func() {
			check(v4.NewSigner().SignHTTP(ctx, creds, newRequest(), emptySHA256, service, region, date))
		}, func() { newRequest() }},
		"presign_warm": {func() {
			r := newRequest()
			q := r.URL.Query()
			q.Set("X-Amz-Expires", "3600")
			r.URL.RawQuery = q.Encode()
			_, _, err := warm.PresignHTTP(ctx, creds, r, emptySHA256, service, region, date)
			check(err)
		}, func() {
			r := newRequest()
			q := r.URL.Query()
			q.Set("X-Amz-Expires", "3600")
			r.URL.RawQuery = q.Encode()
		}},
	}
	out := map[string]float64{}
	for _, name := range []string{"sign_header_warm", "sign_header_cold", "presign_warm"} {
		ops := rows[name]
		total := bestNsPerOp(ops[0], quick, busy)
		overhead := bestNsPerOp(ops[1], quick, busy)
		out[name] = math.Max(total-overhead, 1)
	}
	check(json.NewEncoder(os.Stdout).Encode(map[string]map[string]float64{"go-sdk-v2": out}))
}
