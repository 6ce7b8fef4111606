#!/usr/bin/env ruby
# frozen_string_literal: true

# Ruby's AWS SDK for S3 (Debian's ruby-aws-sdk-s3 1.117 on ruby-aws-sdk-core 3.168) against
# `sigv4 serve`, driven by scripts/interop/clients.py. One operation per run:
#
#   ruby_s3_client.rb put KEY FILE [CHECKSUM_ALGORITHM]      put_object of FILE's bytes
#   ruby_s3_client.rb get KEY OUT                            get_object, the body written to OUT
#   ruby_s3_client.rb upload-file KEY FILE THRESHOLD [ALGO]  Object#upload_file (multipart at THRESHOLD)
#   ruby_s3_client.rb list PREFIX                            list_objects_v2, every page
#   ruby_s3_client.rb presign-get KEY OUT                    Presigner GET URL fetched with Net::HTTP
#
# Env: S3_ENDPOINT (the gateway), S3_BUCKET, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, and
# S3_CA_BUNDLE for an https endpoint. Prints one JSON object: the requests as signed (method, path and
# headers, recorded after the SDK's sign step) and the result; when the service refused the call, the
# error's class and code (exit status 3).
require 'aws-sdk-s3'
require 'json'
require 'net/http'

SENT = []
LOCK = Mutex.new

def client
  options = {
    endpoint: ENV.fetch('S3_ENDPOINT'),
    region: ENV.fetch('AWS_REGION'),
    credentials: Aws::Credentials.new(ENV.fetch('AWS_ACCESS_KEY_ID'), ENV.fetch('AWS_SECRET_ACCESS_KEY')),
    force_path_style: true,
    retry_limit: 0,
  }
  options[:ssl_ca_bundle] = ENV['S3_CA_BUNDLE'] if ENV['S3_CA_BUNDLE']
  c = Aws::S3::Client.new(options)
  # After the sign handler (step :sign, priority 50): what goes on the wire, body aside.
  c.handlers.add(Class.new(Seahorse::Client::Handler) do
    def call(context)
      req = context.http_request
      headers = req.headers.to_h.transform_keys(&:downcase)
      LOCK.synchronize do
        SENT << { method: req.http_method, path: req.endpoint.request_uri, headers: headers,
                  operation: context.operation_name.to_s }
      end
      @handler.call(context)
    end
  end, step: :sign, priority: 0)
  c
end

def write(path, data)
  File.binwrite(path, data)
end

out = {}
status = 0
begin
  op, key, *rest = ARGV
  bucket = ENV.fetch('S3_BUCKET')
  s3 = client
  case op
  when 'put'
    params = { bucket: bucket, key: key, body: File.binread(rest[0]) }
    params[:checksum_algorithm] = rest[1] if rest[1]
    resp = s3.put_object(params)
    out[:etag] = resp.etag
    out[:checksum] = resp.checksum_crc32 || resp.checksum_sha256 || resp.checksum_crc32c || resp.checksum_sha1
  when 'get'
    resp = s3.get_object(bucket: bucket, key: key)
    write(rest[0], resp.body.read)
    out[:content_length] = resp.content_length
  when 'upload-file'
    options = { multipart_threshold: Integer(rest[1]), thread_count: 1 }
    options[:checksum_algorithm] = rest[2] if rest[2]
    ok = Aws::S3::Resource.new(client: s3).bucket(bucket).object(key).upload_file(rest[0], options)
    raise 'upload_file returned false' unless ok
  when 'list'
    keys = []
    pages = 0
    s3.list_objects_v2(bucket: bucket, prefix: key, max_keys: Integer(rest[0] || 1000)).each_page do |page|
      pages += 1
      keys.concat(page.contents.map(&:key))
    end
    out[:keys] = keys
    out[:pages] = pages
  when 'presign-get'
    url = Aws::S3::Presigner.new(client: s3).presigned_url(:get_object, bucket: bucket, key: key, expires_in: 300)
    out[:url] = url
    uri = URI(url)
    http = Net::HTTP.new(uri.host, uri.port)
    if uri.scheme == 'https'
      http.use_ssl = true
      http.ca_file = ENV['S3_CA_BUNDLE']
    end
    resp = http.request(Net::HTTP::Get.new(uri.request_uri))
    out[:status] = resp.code.to_i
    raise "presigned GET: HTTP #{resp.code}: #{resp.body[0, 400]}" unless resp.code == '200'
    write(rest[0], resp.body)
  else
    raise "unknown operation #{op.inspect}"
  end
rescue Aws::S3::Errors::ServiceError => e
  out[:error_class] = e.class.name
  out[:error_code] = e.code
  out[:status] = e.context.http_response.status_code
  status = 3
rescue StandardError => e
  out[:error] = "#{e.class}: #{e.message}"
  status = 1
end
out[:requests] = SENT
out[:versions] = { 'aws-sdk-s3' => Aws::S3::GEM_VERSION, 'aws-sdk-core' => Aws::CORE_GEM_VERSION }
puts JSON.generate(out)
exit status
