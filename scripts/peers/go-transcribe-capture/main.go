// Captures what the AWS SDK for Go v2's Transcribe streaming client (Debian 12's
// golang-github-aws-aws-sdk-go-v2-dev: service/transcribestreaming) sends: the signed
// StartStreamTranscription request and its whole event-stream body (the SDK's own envelopes,
// chained on the request's signature). The client runs unchanged but for its HTTP client, which
// answers at once with an empty HTTP/2 200 and records the request and body instead of sending
// them. One JSON object per case on stdout:
//
//	{"method": "POST", "target": "/stream-transcription", "headers": [["Host", "..."], ...],
//	 "body_hex": "...", "audio_hex": ["..."], "now": 1764825600}
//
// Usage (offline, GOPATH mode, as scripts/gen-eventstream-sdk-vectors.py runs it):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run main.go <access key id> <secret> <chunk sizes...>
//
// With TRANSCRIBE_ENDPOINT=https://127.0.0.1:PORT (and TRANSCRIBE_CA_FILE, the PEM certificate to
// trust) the client talks to that endpoint instead, over HTTP/2 as it does to AWS, and prints
//
//	{"sent": 3, "events": [{"type": "AudioEvent", "payload_hex": "..."}], "error": ""}
//
// after sending the chunks, closing its input and reading the answer's events to their end
// (`sigv4 serve`'s tests point it at the gateway).
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/transcribestreaming"
	"github.com/aws/aws-sdk-go-v2/service/transcribestreaming/types"
)

type capturingClient struct {
	request *http.Request
	body    chan []byte
}

func (c *capturingClient) Do(r *http.Request) (*http.Response, error) {
	c.request = r
	responseBody, responseWriter := io.Pipe()
	go func() {
		b, _ := io.ReadAll(r.Body)
		c.body <- b
		responseWriter.Close()
	}()
	return &http.Response{
		StatusCode: 200, Status: "200 OK", Proto: "HTTP/2.0", ProtoMajor: 2, ProtoMinor: 0,
		Header:  http.Header{"Content-Type": {"application/vnd.amazon.eventstream"}},
		Body:    responseBody,
		Request: r,
	}, nil
}

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: main <access key id> <secret> <chunk sizes...>")
		os.Exit(2)
	}
	capture := &capturingClient{body: make(chan []byte, 1)}
	options := transcribestreaming.Options{
		Region: "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: os.Args[1], SecretAccessKey: os.Args[2]}, nil
		}),
		HTTPClient: capture,
		Retryer:    aws.NopRetryer{},
	}
	endpoint := os.Getenv("TRANSCRIBE_ENDPOINT")
	if endpoint != "" {
		pool := x509.NewCertPool()
		if ca := os.Getenv("TRANSCRIBE_CA_FILE"); ca != "" {
			pem, err := os.ReadFile(ca)
			if err != nil || !pool.AppendCertsFromPEM(pem) {
				fmt.Fprintln(os.Stderr, "cannot read", ca)
				os.Exit(2)
			}
		}
		options.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.TLSClientConfig = &tls.Config{RootCAs: pool}
			t.ForceAttemptHTTP2 = true
		})
		options.EndpointResolver = transcribestreaming.EndpointResolverFromURL(endpoint)
	}
	client := transcribestreaming.New(options)
	ctx := context.Background()
	now := time.Now().Unix()
	out, err := client.StartStreamTranscription(ctx, &transcribestreaming.StartStreamTranscriptionInput{
		LanguageCode: types.LanguageCodeEnUs, MediaEncoding: types.MediaEncodingPcm, MediaSampleRateHertz: aws.Int32(16000),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "StartStreamTranscription:", err)
		os.Exit(1)
	}
	stream := out.GetStream()
	var audio []string
	for i, arg := range os.Args[3:] {
		size, err := strconv.Atoi(arg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad chunk size", arg)
			os.Exit(2)
		}
		chunk := make([]byte, size)
		for j := range chunk {
			chunk[j] = byte(i*31 + j*7)
		}
		if err := stream.Send(ctx, &types.AudioStreamMemberAudioEvent{Value: types.AudioEvent{AudioChunk: chunk}}); err != nil {
			fmt.Fprintln(os.Stderr, "Send:", err)
			os.Exit(1)
		}
		audio = append(audio, hex.EncodeToString(chunk))
	}
	if endpoint != "" {
		// The input ends (its signed empty envelope) while the answer is still read.
		if err := stream.Writer.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "Writer.Close:", err)
			os.Exit(1)
		}
		// The answer's events to their end: a service answers each event while the input streams.
		events := []map[string]string{}
		for event := range stream.Events() {
			switch e := event.(type) {
			case *types.UnknownUnionMember:
				events = append(events, map[string]string{"type": e.Tag, "payload_hex": hex.EncodeToString(e.Value)})
			default:
				events = append(events, map[string]string{"type": fmt.Sprintf("%T", e)})
			}
		}
		errText := ""
		if err := stream.Err(); err != nil {
			errText = err.Error()
		}
		stream.Close()
		json.NewEncoder(os.Stdout).Encode(map[string]interface{}{"sent": len(audio), "events": events, "error": errText})
		return
	}
	if err := stream.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "Close:", err)
		os.Exit(1)
	}
	body := <-capture.body
	r := capture.request
	headers := [][2]string{{"Host", r.URL.Host}}
	names := make([]string, 0, len(r.Header))
	for name := range r.Header {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, value := range r.Header[name] {
			headers = append(headers, [2]string{name, value})
		}
	}
	target := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	json.NewEncoder(os.Stdout).Encode(map[string]interface{}{
		"method": r.Method, "target": target, "headers": headers, "body_hex": hex.EncodeToString(body),
		"audio_hex": audio, "now": now,
	})
}
