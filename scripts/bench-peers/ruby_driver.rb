#!/usr/bin/env ruby
# frozen_string_literal: true

# Ruby's aws-sigv4 (Debian's ruby-aws-sigv4 1.5.1) signing the benchmark request (see common.py):
# the same request, credentials, scope and time, looped in-process (interpreter start-up excluded),
# timed in process CPU time, the cost of building the request's arguments alone measured the same
# way and subtracted. Prints {"ruby-aws-sigv4": {row: ns}} as JSON.
#
# aws-sigv4 derives the signing key on every signature (no cache): warm and cold are the same work.
# It takes the time from the request's X-Amz-Date, which is therefore set (it is signed either way).
require 'aws-sigv4'
require 'json'

QUICK = ARGV.include?('--quick')
BUSY = ARGV.include?('--busy')
URL = 'https://example.amazonaws.com/photos/2026/photo.jpg?size=large'
EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
EXPECTED = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' \
           'SignedHeaders=accept;host;my-header1;x-amz-date, ' \
           'Signature=d5d233318e011f4966130e135e3ec4507af8b5aa8eec1c7379a447b3482b40b5'
TIME = Time.utc(2015, 8, 30, 12, 36, 0)

SIGNER = Aws::Sigv4::Signer.new(
  service: 'service', region: 'us-east-1', access_key_id: 'AKIDEXAMPLE',
  secret_access_key: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', apply_checksum_header: false
)

def request
  { http_method: 'GET', url: URL, body: '',
    headers: { 'My-Header1' => 'value1', 'Accept' => 'application/json', 'X-Amz-Date' => '20150830T123600Z' } }
end

def presign_options
  { http_method: 'GET', url: URL, expires_in: 3600, time: TIME, body_digest: EMPTY_SHA256,
    headers: { 'My-Header1' => 'value1', 'Accept' => 'application/json' } }
end

def cpu_ns
  Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID, :nanosecond)
end

def best_ns_per_op(&op)
  target, batches = QUICK ? [0.03, 3] : [0.1, 5]
  target, batches = [0.02, 60] if BUSY
  op.call
  n = 8
  loop do
    t0 = cpu_ns
    n.times(&op)
    dt = cpu_ns - t0
    if dt >= target * 1e9 / 4
      n = [1, (target * 1e9 / (dt.to_f / n)).to_i].max
      break
    end
    n *= 4
  end
  (1..batches).map do
    t0 = cpu_ns
    n.times(&op)
    (cpu_ns - t0).to_f / n
  end.min
end

got = SIGNER.sign_request(request).headers['authorization']
abort("aws-sigv4 signed another request:\n#{got}") unless got == EXPECTED

sign = best_ns_per_op { SIGNER.sign_request(request) } - best_ns_per_op { request }
presign = best_ns_per_op { SIGNER.presign_url(presign_options) } - best_ns_per_op { presign_options }
out = { 'sign_header_warm' => [sign, 1.0].max, 'sign_header_cold' => [sign, 1.0].max,
        'presign_warm' => [presign, 1.0].max }
puts JSON.generate('ruby-aws-sigv4' => out)
