#!/usr/bin/env python3
"""A stand-in for Transcribe streaming behind `sigv4 serve`: an HTTP/1.1 server on 127.0.0.1 that
answers a POST at once (200, chunked, `application/vnd.amazon.eventstream`) and then, for each
event-stream message it reads from the request body (chunked, as the gateway forwards the verified
messages), sends back a well-formed `TranscriptEvent` message whose one result's transcript is the
hex of the AudioEvent's audio, and `ResultId` its number (from 1). Both CRC-32s of each message are
checked; a message that is not an AudioEvent, or is malformed, is answered with an `exception`
message (`BadRequestException`), which the SDK clients raise.

AWS's Python Transcribe client (amazon-transcribe) parses every `event` message's payload as JSON
and models only `TranscriptEvent`, so an upstream that echoes the AudioEvents back (the Go SDK's
test, `GatewayEventStreamConversationTests.duplexUpstream`) fails it at the first one.

    python3 scripts/peers/transcribe-upstream.py     # prints "upstream listening on PORT"
"""

import http.server
import json
import struct
import zlib


def header(name, value):
    """A string header (type 7)."""
    name, value = name.encode(), value.encode()
    return bytes([len(name)]) + name + b"\x07" + struct.pack(">H", len(value)) + value


def message(headers, payload):
    encoded = b"".join(header(n, v) for n, v in headers)
    prelude = struct.pack(">II", 16 + len(encoded) + len(payload), len(encoded))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + encoded + payload
    return body + struct.pack(">I", zlib.crc32(body))


def headers_of(encoded):
    """The string headers of a message (other types are skipped over)."""
    found, i = {}, 0
    sizes = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}
    while i < len(encoded):
        name = encoded[i + 1 : i + 1 + encoded[i]].decode()
        i += 1 + encoded[i]
        kind = encoded[i]
        i += 1
        if kind in (6, 7):
            size = struct.unpack(">H", encoded[i : i + 2])[0]
            if kind == 7:
                found[name] = encoded[i + 2 : i + 2 + size].decode()
            i += 2 + size
        else:
            i += sizes[kind]
    return found


def transcript(number, audio):
    result = {
        "ResultId": str(number),
        "StartTime": 0.0,
        "EndTime": 0.0,
        "IsPartial": False,
        "Alternatives": [{"Transcript": audio.hex(), "Items": []}],
    }
    return message(
        [(":message-type", "event"), (":event-type", "TranscriptEvent"), (":content-type", "application/json")],
        json.dumps({"Transcript": {"Results": [result]}}).encode(),
    )


def refusal(text):
    return message(
        [(":message-type", "exception"), (":exception-type", "BadRequestException"), (":content-type", "application/json")],
        json.dumps({"Message": text}).encode(),
    )


def answers(buffer, count):
    """The answers to the whole messages at the start of `buffer`, what is left of it, and the count."""
    out = b""
    while len(buffer) >= 12:
        total, headers_length, prelude_crc = struct.unpack(">III", buffer[:12])
        if zlib.crc32(buffer[:8]) != prelude_crc or total < 16 or total > 16 * 1024 * 1024 + 1024:
            return out + refusal("bad prelude"), None, count
        if len(buffer) < total:
            break
        whole, buffer = buffer[:total], buffer[total:]
        if zlib.crc32(whole[:-4]) != struct.unpack(">I", whole[-4:])[0]:
            return out + refusal("bad message checksum"), None, count
        headers = headers_of(whole[12 : 12 + headers_length])
        if headers.get(":event-type") != "AudioEvent":
            return out + refusal(f"not an AudioEvent: {headers}"), None, count
        count += 1
        out += transcript(count, whole[12 + headers_length : -4])
    return out, buffer, count


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
            self.wfile.flush()

    def do_POST(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.amazon.eventstream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        buffer, count = b"", 0
        while buffer is not None:
            size = int(self.rfile.readline().split(b";")[0], 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            buffer += self.rfile.read(size)
            self.rfile.readline()
            out, buffer, count = answers(buffer, count)
            self.chunk(out)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *a):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"upstream listening on {server.server_address[1]}", flush=True)
server.serve_forever()
