#!/usr/bin/env python3
"""WebSocket peers for `sigv4 serve --websockets` (GatewayWebSocketTests), built on the `websockets`
library (PyPI, scripts/requirements-test.txt) and botocore's own signers.

  websocket-peer.py client HTTP_URL ACCESS_KEY_ID SECRET SERVICE MODE EXPECT MESSAGE...
      Signs `GET HTTP_URL` for SERVICE in us-east-1 with botocore (MODE `presign`: SigV4QueryAuth, as
      AWS IoT's and Transcribe's WebSocket clients sign; `header`: SigV4Auth, Authorization and
      X-Amz-Date sent with the handshake, as API Gateway WebSocket clients sign; `replay`: header
      signing, then the same signed handshake twice), connects over ws://, sends each MESSAGE (text,
      or bytes when it starts with `hex:`), reads EXPECT messages, closes, and prints one JSON report:
      {"status": [handshake statuses], "received": [...], "error": "...", "close_code": n,
      "subprotocol": the one the server accepted}; it offers `mqtt` and `mqttv3.1`, as MQTT clients do.
      A `tamper` MODE presigns and changes the signature's first digit; `expired` presigns for one
      second and waits until that has passed; `unsigned` sends no signature; `hold` presigns, reads
      EXPECT messages, prints `held` on its own line, then waits up to 30 s for the server to close.
      Each refused handshake adds {"status", "body", "headers": {lowercased name: value}} to the
      report's "refused"; a MODE ending in `+plain` then sends the same signed request once more
      without `Upgrade` (a plain GET) and reports its answer as "plain": {"status", "body", "headers"}.
      An `https://` HTTP_URL connects over wss://, trusting the CA file named by WEBSOCKET_PEER_CA,
      presenting the client certificate WEBSOCKET_PEER_CERT (key WEBSOCKET_PEER_KEY) when set.
  websocket-peer.py upstream RECORD_FILE
      A WebSocket server on 127.0.0.1 (prints `upstream listening on PORT`) that records each
      handshake's path and headers as a JSON line in RECORD_FILE and answers each text message with
      `upstream:` + it and each binary one with its bytes reversed; the message `close-please` makes it
      close with code 4000. It speaks the `mqtt` subprotocol. With WEBSOCKET_UPSTREAM_CERT and
      WEBSOCKET_UPSTREAM_KEY set it serves wss:// with that certificate; with WEBSOCKET_UPSTREAM_CLIENT_CA
      also set it requires a client certificate that CA issued, and records its common name as "client".
"""
import asyncio
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

import botocore.auth
import botocore.awsrequest
import botocore.credentials


def signed(url, key, secret, service, mode):
    creds = botocore.credentials.Credentials(key, secret)
    request = botocore.awsrequest.AWSRequest(method="GET", url=url)
    if mode == "unsigned":
        return url, {}
    if mode in ("presign", "tamper", "hold", "expired"):
        botocore.auth.SigV4QueryAuth(
            creds, service, "us-east-1", expires=1 if mode == "expired" else 60).add_auth(request)
        signed_url = request.url
        if mode == "expired":
            # Past the signing second and the one the URL is valid for.
            time.sleep(2.2)
        if mode == "tamper":
            at = signed_url.index("X-Amz-Signature=") + len("X-Amz-Signature=")
            digit = signed_url[at]
            signed_url = signed_url[:at] + ("0" if digit != "0" else "1") + signed_url[at + 1:]
        return signed_url, {}
    botocore.auth.SigV4Auth(creds, service, "us-east-1").add_auth(request)
    headers = {name: value for name, value in request.headers.items() if name.lower() != "host"}
    return url, headers


async def client(url, key, secret, service, mode, expect, messages):
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus, ConnectionClosed

    plain = mode.endswith("+plain")
    mode = mode.removesuffix("+plain")
    http_url, headers = signed(url, key, secret, service, mode)
    secure = http_url.startswith("https://")
    context = ssl.create_default_context(cafile=os.environ.get("WEBSOCKET_PEER_CA")) if secure else None
    if context and os.environ.get("WEBSOCKET_PEER_CERT"):
        context.load_cert_chain(os.environ["WEBSOCKET_PEER_CERT"], os.environ.get("WEBSOCKET_PEER_KEY"))
    ws_url = ("wss://" if secure else "ws://") + http_url.split("://", 1)[1]
    report = {"status": [], "received": [], "error": "", "close_code": None, "refused": []}
    for attempt in range(2 if mode == "replay" else 1):
        try:
            async with connect(ws_url, additional_headers=headers, open_timeout=10,
                               subprotocols=["mqtt", "mqttv3.1"], **({"ssl": context} if secure else {})) as ws:
                report["status"].append(101)
                report["subprotocol"] = ws.subprotocol
                if attempt == 1:
                    continue
                for message in messages:
                    await ws.send(bytes.fromhex(message[4:]) if message.startswith("hex:") else message)
                try:
                    for _ in range(expect):
                        answer = await asyncio.wait_for(ws.recv(), 10)
                        report["received"].append("hex:" + answer.hex() if isinstance(answer, bytes) else answer)
                    if mode == "hold":
                        print("held", flush=True)
                        await asyncio.wait_for(ws.recv(), 30)
                    elif expect == 0 or messages[-1:] == ["close-please"]:
                        await asyncio.wait_for(ws.recv(), 10)
                except ConnectionClosed as closed:
                    report["close_code"] = closed.rcvd.code if closed.rcvd else None
                    report["close_reason"] = closed.rcvd.reason if closed.rcvd else None
        except InvalidStatus as refused:
            response = refused.response
            report["status"].append(response.status_code)
            report["refused"].append({
                "status": response.status_code, "body": (response.body or b"").decode("utf-8", "replace"),
                "headers": {name.lower(): value for name, value in response.headers.raw_items()}})
        except Exception as error:  # noqa: BLE001 - the report says what went wrong
            report["error"] = f"{type(error).__name__}: {error}"
    if plain:
        request = urllib.request.Request(http_url, headers=headers, method="GET")
        # Straight to the gateway, whatever proxy the environment names.
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
        try:
            with opener.open(request, timeout=10) as answer:
                status, body, fields = answer.status, answer.read(), answer.headers.items()
        except urllib.error.HTTPError as error:
            status, body, fields = error.code, error.read(), error.headers.items()
        report["plain"] = {"status": status, "body": body.decode("utf-8", "replace"),
                           "headers": {name.lower(): value for name, value in fields}}
    print(json.dumps(report))


async def upstream(record):
    from websockets.asyncio.server import serve

    context = None
    if os.environ.get("WEBSOCKET_UPSTREAM_CERT"):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.environ["WEBSOCKET_UPSTREAM_CERT"], os.environ["WEBSOCKET_UPSTREAM_KEY"])
        if os.environ.get("WEBSOCKET_UPSTREAM_CLIENT_CA"):
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(os.environ["WEBSOCKET_UPSTREAM_CLIENT_CA"])

    async def handler(ws):
        entry = {"path": ws.request.path, "headers": [[k, v] for k, v in ws.request.headers.raw_items()]}
        peer = ws.transport.get_extra_info("peercert") if context else None
        if peer:
            entry["client"] = dict(item[0] for item in peer["subject"]).get("commonName")
        with open(record, "a") as f:
            f.write(json.dumps(entry) + "\n")
        async for message in ws:
            if message == "close-please":
                await ws.close(4000, "asked to")
                return
            await ws.send("upstream:" + message if isinstance(message, str) else bytes(reversed(message)))

    async with serve(handler, "127.0.0.1", 0, subprotocols=["mqtt"], **({"ssl": context} if context else {})) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"upstream listening on {port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    if sys.argv[1] == "client":
        url, key, secret, service, mode, expect = sys.argv[2:8]
        asyncio.run(client(url, key, secret, service, mode, int(expect), sys.argv[8:]))
    else:
        asyncio.run(upstream(sys.argv[2]))
