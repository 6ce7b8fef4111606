#!/usr/bin/env python3
"""A minimal MQTT 3.1.1 broker over WebSockets, the upstream of `sigv4 serve --websockets` in
GatewayWebSocketTests (Debian's mosquitto 2.0.11 is built without WebSocket listeners).

  mqtt-upstream.py RECORD_FILE

Listens on 127.0.0.1 (prints `upstream listening on PORT`), speaks the `mqtt` subprotocol, records
each handshake's path and headers as a JSON line in RECORD_FILE, and answers CONNECT with CONNACK,
SUBSCRIBE with SUBACK (the QoS asked, at most 1), PUBLISH (QoS 0 or 1, PUBACK for 1) by delivering it
at QoS 0 to every connection subscribed to that exact topic, PINGREQ with PINGRESP, and closes on
DISCONNECT. MQTT packets may span WebSocket messages or share one: they are read from a stream.
"""
import asyncio
import json
import sys

from websockets.asyncio.server import serve

subscribers = {}  # topic -> set of connections


def encode_length(n):
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def packet(kind, body):
    return bytes([kind]) + encode_length(len(body)) + body


def read_packet(buffer):
    """(first byte, body, rest) of the first whole packet in `buffer`, or None."""
    if len(buffer) < 2:
        return None
    length, multiplier, i = 0, 1, 1
    while True:
        if i >= len(buffer):
            return None
        byte = buffer[i]
        length += (byte & 0x7F) * multiplier
        multiplier *= 128
        i += 1
        if not byte & 0x80:
            break
    if len(buffer) < i + length:
        return None
    return buffer[0], bytes(buffer[i:i + length]), bytes(buffer[i + length:])


def utf8_field(body, at):
    n = int.from_bytes(body[at:at + 2], "big")
    return body[at + 2:at + 2 + n].decode(), at + 2 + n


async def handler(ws):
    with open(sys.argv[1], "a") as f:
        f.write(json.dumps({"path": ws.request.path, "headers": [[k, v] for k, v in ws.request.headers.raw_items()]}) + "\n")
    buffer = b""
    topics = set()
    try:
        async for message in ws:
            buffer += message if isinstance(message, bytes) else message.encode()
            while (read := read_packet(buffer)) is not None:
                first, body, buffer = read
                kind = first >> 4
                if kind == 1:  # CONNECT
                    await ws.send(packet(0x20, b"\x00\x00"))
                elif kind == 8:  # SUBSCRIBE
                    packet_id, at, granted = body[:2], 2, b""
                    while at < len(body):
                        topic, at = utf8_field(body, at)
                        granted += bytes([min(body[at], 1)])
                        at += 1
                        subscribers.setdefault(topic, set()).add(ws)
                        topics.add(topic)
                    await ws.send(packet(0x90, packet_id + granted))
                elif kind == 3:  # PUBLISH
                    qos = (first >> 1) & 3
                    topic, at = utf8_field(body, 0)
                    if qos:
                        await ws.send(packet(0x40, body[at:at + 2]))
                        at += 2
                    delivery = packet(0x30, len(topic.encode()).to_bytes(2, "big") + topic.encode() + body[at:])
                    for subscriber in list(subscribers.get(topic, ())):
                        await subscriber.send(delivery)
                elif kind == 12:  # PINGREQ
                    await ws.send(packet(0xD0, b""))
                elif kind == 14:  # DISCONNECT
                    await ws.close()
                    return
    finally:
        for topic in topics:
            subscribers.get(topic, set()).discard(ws)


async def main():
    async with serve(handler, "127.0.0.1", 0, subprotocols=["mqtt"]) as server:
        print(f"upstream listening on {server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.Future()


asyncio.run(main())
