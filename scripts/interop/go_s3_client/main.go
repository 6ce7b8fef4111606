// The AWS SDK for Go v2's S3 client (Debian's golang-github-aws-aws-sdk-go-v2-dev 1.17.1, service/s3
// 1.29.1) against `sigv4 serve`, driven by scripts/interop/clients.py, which builds it offline in GOPATH
// mode (GO111MODULE=off, GOPATH=/usr/share/gocode). One operation per run:
//
//	go_s3_client put KEY FILE [CHECKSUM_ALGORITHM]   PutObject of FILE's bytes (ChecksumAlgorithm when given)
//	go_s3_client get KEY OUT                         GetObject, the body written to OUT
//	go_s3_client presign-get KEY OUT                 s3.NewPresignClient's GET URL fetched by net/http
//	go_s3_client upload KEY FILE PART_SIZE [ALGO]    feature/s3/manager's Uploader (multipart, one part at a time)
//
// Env: S3_ENDPOINT (the gateway), S3_BUCKET, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, and
// S3_CA_BUNDLE (PEM) for an https endpoint. Prints one JSON object: the requests as they went on the
// wire (method, URL, headers: recorded by the HTTP transport, after signing) and, when the service
// refused the call, its error code (exit status 3).
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

type sent struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
}

type recorder struct {
	mu   sync.Mutex
	reqs []sent
	next http.RoundTripper
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	h := map[string]string{}
	for k, v := range req.Header {
		h[strings.ToLower(k)] = strings.Join(v, ",")
	}
	if req.ContentLength >= 0 && req.Body != nil {
		h["content-length"] = fmt.Sprint(req.ContentLength)
	}
	for _, te := range req.TransferEncoding {
		h["transfer-encoding"] = te
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, sent{req.Method, req.URL.String(), h})
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func main() {
	out := map[string]interface{}{}
	rec := &recorder{next: transport()}
	status := 0
	if err := run(rec, out); err != nil {
		var api smithy.APIError
		if errors.As(err, &api) {
			out["error_code"] = api.ErrorCode()
			status = 3
		} else {
			out["error"] = err.Error()
			status = 1
		}
	}
	out["requests"] = rec.reqs
	json.NewEncoder(os.Stdout).Encode(out)
	os.Exit(status)
}

func transport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if path := os.Getenv("S3_CA_BUNDLE"); path != "" {
		pem, err := os.ReadFile(path)
		if err != nil {
			panic(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		t.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return t
}

func run(rec *recorder, out map[string]interface{}) error {
	args := os.Args[1:]
	if len(args) < 2 {
		return fmt.Errorf("usage: go_s3_client put|get|presign-get KEY ...")
	}
	ctx := context.Background()
	httpClient := &http.Client{Transport: rec, Timeout: 120 * time.Second}
	client := s3.New(s3.Options{
		Region:           os.Getenv("AWS_REGION"),
		Credentials:      credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""),
		EndpointResolver: s3.EndpointResolverFromURL(os.Getenv("S3_ENDPOINT")),
		UsePathStyle:     true,
		HTTPClient:       httpClient,
		RetryMaxAttempts: 1,
	})
	bucket := os.Getenv("S3_BUCKET")
	op, key := args[0], args[1]
	switch op {
	case "put":
		data, err := os.ReadFile(args[2])
		if err != nil {
			return err
		}
		in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)}
		if len(args) > 3 {
			in.ChecksumAlgorithm = types.ChecksumAlgorithm(args[3])
		}
		resp, err := client.PutObject(ctx, in)
		if err != nil {
			return err
		}
		out["etag"] = aws.ToString(resp.ETag)
		out["checksum_crc32"] = aws.ToString(resp.ChecksumCRC32)
		return nil
	case "get":
		resp, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return writeBody(resp.Body, args[2])
	case "upload":
		f, err := os.Open(args[2])
		if err != nil {
			return err
		}
		defer f.Close()
		var partSize int64
		fmt.Sscan(args[3], &partSize)
		// One part at a time: moto's request recording (read by the suite) interleaves concurrent bodies.
		uploader := manager.NewUploader(client, func(u *manager.Uploader) { u.PartSize = partSize; u.Concurrency = 1 })
		in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: f}
		if len(args) > 4 {
			in.ChecksumAlgorithm = types.ChecksumAlgorithm(args[4])
		}
		resp, err := uploader.Upload(ctx, in)
		if err != nil {
			return err
		}
		out["upload_id"] = resp.UploadID
		return nil
	case "presign-get":
		presigner := s3.NewPresignClient(client, s3.WithPresignExpires(5*time.Minute))
		p, err := presigner.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return err
		}
		out["url"] = p.URL
		req, err := http.NewRequest(p.Method, p.URL, nil)
		if err != nil {
			return err
		}
		for k, v := range p.SignedHeader {
			if strings.EqualFold(k, "Host") {
				continue
			}
			req.Header[k] = v
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		out["status"] = resp.StatusCode
		if resp.StatusCode != 200 {
			body, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("presigned GET: HTTP %d: %s", resp.StatusCode, body)
		}
		return writeBody(resp.Body, args[2])
	}
	return fmt.Errorf("unknown operation %q", op)
}

func writeBody(body io.Reader, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
