// The AWS SDK for Go v2's SigV4 signer (aws/signer/v4 1.17, Debian's
// golang-github-aws-aws-sdk-go-v2-dev) as a peer of scripts/differential/hypothesis_diff.py: one
// JSON request per input line, signed the way the SDK's own middleware drives the signer (S3: the
// path escaped once and X-Amz-Content-Sha256 set; presigning: X-Amz-Expires set first, x-amz-*
// headers hoisted into the query), one JSON answer per output line:
//
//	{"signature": "<hex>", "canonical_request": "...", "wire": {"method": "GET", "target": "/p?q",
//	 "headers": [["Host", "h"], ...]}}   or   {"error": "..."}
//
// The signer rewrites the query it signs (decoded, sorted, encoded again) and sends that: "wire" is
// the request as the SDK would send it. Built offline in GOPATH mode by hypothesis_diff.py.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/logging"
)

type request struct {
	Mode            string      `json:"mode"`
	Method          string      `json:"method"`
	Authority       string      `json:"authority"`
	Target          string      `json:"target"`
	Headers         [][2]string `json:"headers"`
	PayloadHash     string      `json:"payload_hash"`
	Region          string      `json:"region"`
	Service         string      `json:"service"`
	S3              bool        `json:"s3"`
	Timestamp       string      `json:"timestamp"`
	AccessKeyID     string      `json:"access_key_id"`
	SecretAccessKey string      `json:"secret_access_key"`
	SessionToken    *string     `json:"session_token"`
	Expires         int         `json:"expires"`
}

type wire struct {
	Method  string      `json:"method"`
	Target  string      `json:"target"`
	Headers [][2]string `json:"headers"`
}

type answer struct {
	Signature        string `json:"signature,omitempty"`
	CanonicalRequest string `json:"canonical_request,omitempty"`
	Wire             *wire  `json:"wire,omitempty"`
	Error            string `json:"error,omitempty"`
}

// capture keeps the canonical string the signer logs (LogSigning).
type capture struct{ canonical string }

func (c *capture) Logf(_ logging.Classification, format string, v ...interface{}) {
	text := fmt.Sprintf(format, v...)
	const open = "---[ CANONICAL STRING  ]-----------------------------\n"
	const close = "\n---[ STRING TO SIGN ]"
	if i := strings.Index(text, open); i >= 0 {
		rest := text[i+len(open):]
		if j := strings.Index(rest, close); j >= 0 {
			c.canonical = rest[:j]
		}
	}
}

func headerList(h http.Header, host string) [][2]string {
	out := [][2]string{{"Host", host}}
	names := make([]string, 0, len(h))
	for n := range h {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, v := range h[n] {
			out = append(out, [2]string{n, v})
		}
	}
	return out
}

func sign(r request) answer {
	at, err := time.Parse("20060102T150405Z", r.Timestamp)
	if err != nil {
		return answer{Error: err.Error()}
	}
	req, err := http.NewRequest(r.Method, "https://"+r.Authority+r.Target, nil)
	if err != nil {
		return answer{Error: "net/http: " + err.Error()}
	}
	for _, h := range r.Headers {
		req.Header.Add(h[0], h[1])
	}
	creds := aws.Credentials{AccessKeyID: r.AccessKeyID, SecretAccessKey: r.SecretAccessKey}
	if r.SessionToken != nil {
		creds.SessionToken = *r.SessionToken
	}
	log := &capture{}
	signer := v4.NewSigner(func(o *v4.SignerOptions) {
		o.DisableURIPathEscaping = r.S3
		o.Logger = log
		o.LogSigning = true
	})
	ctx := context.Background()
	if r.Mode == "query" {
		q := req.URL.Query()
		q.Set("X-Amz-Expires", strconv.Itoa(r.Expires))
		req.URL.RawQuery = q.Encode()
		uri, signed, err := signer.PresignHTTP(ctx, creds, req, r.PayloadHash, r.Service, r.Region, at)
		if err != nil {
			return answer{Error: err.Error()}
		}
		target := uri[strings.Index(uri[len("https://"):], "/")+len("https://"):]
		i := strings.LastIndex(target, "X-Amz-Signature=")
		headers := http.Header{}
		for n, vs := range signed {
			if !strings.EqualFold(n, "Host") {
				headers[n] = vs
			}
		}
		return answer{Signature: target[i+len("X-Amz-Signature="):], CanonicalRequest: log.canonical,
			Wire: &wire{Method: r.Method, Target: target, Headers: headerList(headers, r.Authority)}}
	}
	if r.S3 {
		req.Header.Set("X-Amz-Content-Sha256", r.PayloadHash)
	}
	if err := signer.SignHTTP(ctx, creds, req, r.PayloadHash, r.Service, r.Region, at); err != nil {
		return answer{Error: err.Error()}
	}
	authorization := req.Header.Get("Authorization")
	i := strings.LastIndex(authorization, "Signature=")
	return answer{Signature: authorization[i+len("Signature="):], CanonicalRequest: log.canonical,
		Wire: &wire{Method: r.Method, Target: req.URL.RequestURI(), Headers: headerList(req.Header, r.Authority)}}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		var r request
		var a answer
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			a = answer{Error: "driver: " + err.Error()}
		} else {
			a = sign(r)
		}
		b, _ := json.Marshal(a)
		out.Write(b)
		out.WriteByte('\n')
		out.Flush()
	}
}
