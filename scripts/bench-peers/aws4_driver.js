#!/usr/bin/env node
// Node's aws4 (Debian's node-aws4) signing the benchmark request (see common.py): the same
// request, credentials, scope and time, looped in-process (node's start-up excluded), timed in
// process CPU time (process.cpuUsage: user + system, as the other drivers time), the cost of
// building a fresh request object alone measured the same way and subtracted (aws4 signs in
// place). Prints {"node-aws4": {row: ns}} as JSON.
//
// aws4 caches derived signing keys (an LRU keyed by secret, date, region and service) and takes
// the time from the request's X-Amz-Date, which is therefore set (it is signed either way).
// The cache is not exposed, so there is no cold row.
'use strict'
const aws4 = require(process.env.AWS4_MODULE || '/usr/share/nodejs/aws4')

const quick = process.argv.includes('--quick')
const busy = process.argv.includes('--busy')
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' }
const expected = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' +
  'SignedHeaders=accept;host;my-header1;x-amz-date, ' +
  'Signature=d5d233318e011f4966130e135e3ec4507af8b5aa8eec1c7379a447b3482b40b5'

function make() {
  return {
    host: 'example.amazonaws.com', path: '/photos/2026/photo.jpg?size=large', method: 'GET',
    service: 'service', region: 'us-east-1',
    headers: { 'My-Header1': 'value1', Accept: 'application/json', 'X-Amz-Date': '20150830T123600Z' },
  }
}

function presignRequest() {
  const r = make()
  delete r.headers['X-Amz-Date']
  r.path = '/photos/2026/photo.jpg?size=large&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600'
  r.signQuery = true
  return r
}

function cpuNs() {
  const u = process.cpuUsage()
  return (u.user + u.system) * 1000
}

function bestNsPerOp(fn) {
  let target = 0.1, batches = 5
  if (quick) { target = 0.03; batches = 3 }
  if (busy) { target = 0.02; batches = 60 }
  fn()
  let n = 8
  for (;;) {
    const t0 = cpuNs()
    for (let i = 0; i < n; i++) fn()
    const dt = cpuNs() - t0
    if (dt >= target * 1e9 / 4) { n = Math.max(1, Math.floor(target * 1e9 / (dt / n))); break }
    n *= 4
  }
  let best = Infinity
  for (let b = 0; b < batches; b++) {
    const t0 = cpuNs()
    for (let i = 0; i < n; i++) fn()
    best = Math.min(best, (cpuNs() - t0) / n)
  }
  return best
}

const probe = aws4.sign(make(), credentials)
if (probe.headers.Authorization !== expected) {
  process.stderr.write('aws4 signed another request:\n' + probe.headers.Authorization + '\n')
  process.exit(1)
}
let sink = 0
const rows = {
  sign_header_warm: [() => { sink += aws4.sign(make(), credentials).headers.Authorization.length }, () => { sink += make().path.length }],
  presign_warm: [() => { sink += aws4.sign(presignRequest(), credentials).path.length }, () => { sink += presignRequest().path.length }],
}
const out = {}
for (const [name, [op, setup]] of Object.entries(rows)) {
  out[name] = Math.max(bestNsPerOp(op) - bestNsPerOp(setup), 1)
}
process.stdout.write(JSON.stringify({ 'node-aws4': out }) + (sink < 0 ? ' ' : '') + '\n')
