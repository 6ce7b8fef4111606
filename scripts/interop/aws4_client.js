#!/usr/bin/env node
// Node's aws4 (Debian's node-aws4, /usr/share/nodejs/aws4) as a client of swift-sigv4's verifiers:
// one JSON request per input line, signed by aws4 and sent with node's http module, one JSON
// answer per output line. One process serves a whole run (node's start-up paid once).
//
// In:  {"port": 8080, "method": "PUT", "path": "/bucket/key?x=1", "headers": {"Name": "value"},
//       "body_b64": "...", "service": "s3", "region": "us-east-1", "access_key_id": "...",
//       "secret_access_key": "...", "session_token": null, "sign_query": false, "timeout_ms": 15000}
// Out: {"status": 200, "body_b64": "...", "path": "<the target aws4 sent>", "headers": {...}}
//      or {"error": "..."} when aws4 or node could not send it.
//
// aws4 rewrites the target it signs (it parses and re-serializes the query, and encodes the path
// its own way): "path" in the answer is what went on the wire.
'use strict'
const aws4 = require(process.env.AWS4_MODULE || '/usr/share/nodejs/aws4')
const http = require('http')
const readline = require('readline')

function handle(spec) {
  return new Promise((resolve) => {
    const body = Buffer.from(spec.body_b64 || '', 'base64')
    const headers = Object.assign({}, spec.headers || {})
    const opts = {
      host: '127.0.0.1:' + spec.port,
      path: spec.path,
      method: spec.method,
      service: spec.service,
      region: spec.region,
      headers: headers,
      signQuery: !!spec.sign_query,
    }
    if (body.length > 0 || spec.method === 'PUT' || spec.method === 'POST') opts.body = body
    let signed
    try {
      signed = aws4.sign(opts, {
        accessKeyId: spec.access_key_id,
        secretAccessKey: spec.secret_access_key,
        sessionToken: spec.session_token || undefined,
      })
    } catch (e) {
      resolve({ error: 'aws4: ' + e.message })
      return
    }
    // aws4 sets Content-Length only with a non-empty body; node then sends a PUT without a body
    // in chunked encoding. An explicit length keeps the framing plain.
    if (opts.body !== undefined && signed.headers['Content-Length'] === undefined) {
      signed.headers['Content-Length'] = body.length
    }
    const req = http.request({
      host: '127.0.0.1', port: spec.port, method: signed.method, path: signed.path, headers: signed.headers,
      timeout: spec.timeout_ms || 15000,
    }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({
        status: res.statusCode, body_b64: Buffer.concat(chunks).toString('base64'), path: signed.path,
        headers: res.headers, signed_headers: signed.headers,
      }))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', (e) => resolve({ error: 'http: ' + e.message, path: signed.path }))
    if (opts.body !== undefined) req.write(body)
    req.end()
  })
}

async function main() {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
  for await (const line of rl) {
    if (!line.trim()) continue
    let answer
    try {
      answer = await handle(JSON.parse(line))
    } catch (e) {
      answer = { error: 'driver: ' + e.message }
    }
    process.stdout.write(JSON.stringify(answer) + '\n')
  }
}

main()
