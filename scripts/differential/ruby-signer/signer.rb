#!/usr/bin/env ruby
# frozen_string_literal: true

# Ruby's aws-sigv4 (Aws::Sigv4::Signer 1.5.1, Debian 12's ruby-aws-sigv4, the signer of the AWS SDK
# for Ruby) as a peer of scripts/differential/hypothesis_diff.py: one JSON request per input line,
# signed the way the SDK configures the signer (S3: the path not escaped again and
# x-amz-content-sha256 applied; other services: the path escaped again), one JSON answer per line:
#
#   {"signature": "<hex>", "canonical_request": "...", "wire": {"method": "GET", "target": "/p?q",
#    "headers": [["host", "h"], ...]}}   or   {"error": "..."}
#
# Headers go in as a Ruby Hash, as the SDK's callers give them: a repeated name keeps its last value
# (the wire carries what was signed).
require 'aws-sigv4'
require 'base64'
require 'json'
require 'time'

def sign(r)
  s3 = r['s3']
  signer = Aws::Sigv4::Signer.new(
    service: r['service'], region: r['region'], access_key_id: r['access_key_id'],
    secret_access_key: r['secret_access_key'], session_token: r['session_token'],
    uri_escape_path: !s3, apply_checksum_header: s3
  )
  url = "https://#{r['authority']}#{r['target']}"
  headers = {}
  r['headers'].each { |name, value| headers[name] = value }
  if r['mode'] == 'query'
    time = Time.strptime(r['timestamp'], '%Y%m%dT%H%M%S%z')
    signed = signer.presign_url(http_method: r['method'], url: url, headers: headers, expires_in: r['expires'],
                                time: time, body_digest: r['payload_hash'])
    target = signed.request_uri
    wire_headers = [['host', host_of(r)]] + headers.to_a
    return { 'signature' => target.split('X-Amz-Signature=').last, 'wire' => {
      'method' => r['method'], 'target' => target, 'headers' => wire_headers } }.merge(canonical(signer, r, url, headers, signed))
  end
  headers['X-Amz-Date'] = r['timestamp']
  headers['X-Amz-Content-Sha256'] = r['payload_hash'] if s3
  signature = signer.sign_request(http_method: r['method'], url: url, headers: headers,
                                  body: Base64.decode64(r['body_b64'] || ''))
  sent = headers.reject { |k, _| signature.headers.key?(k.downcase) }.to_a + signature.headers.to_a
  {
    'signature' => signature.headers['authorization'].split('Signature=').last,
    'canonical_request' => signature.canonical_request,
    'wire' => { 'method' => r['method'], 'target' => r['target'], 'headers' => sent }
  }
end

def host_of(r)
  r['authority']
end

# The canonical request of a presigned URL is not returned by presign_url; it is rebuilt with the
# signer's own (private) method from the URL it returned, less the signature.
def canonical(signer, r, _url, headers, signed)
  uri = URI.parse(signed.to_s.sub(/&X-Amz-Signature=[0-9a-f]+\z/, ''))
  lowered = headers.to_h { |k, v| [k.downcase, v] }
  lowered['host'] ||= r['authority']
  { 'canonical_request' => signer.send(:canonical_request, r['method'], uri, lowered, r['payload_hash']) }
rescue StandardError => e
  { 'canonical_request' => "(not rebuilt: #{e.message})" }
end

$stdout.sync = true
$stdin.each_line do |line|
  next if line.strip.empty?
  answer = begin
    sign(JSON.parse(line))
  rescue StandardError => e
    { 'error' => "#{e.class}: #{e.message}" }
  end
  puts JSON.generate(answer)
end
