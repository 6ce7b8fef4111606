#!/usr/bin/env python3
"""AWS's CRT MQTT client over a SigV4-signed WebSocket, as the AWS IoT Device SDK v2 connects
(`mqtt_connection_builder.websockets_with_default_aws_signing`: awscrt's MQTT 3.1.1 client, its
handshake presigned by aws-c-auth for the `iotdevicegateway` service), pointed at `sigv4 serve
--websockets` over plain ws:// (the SDK's builder is sugar over these same awscrt calls; awscrt is
already pinned in scripts/requirements-test.txt).

  iot-mqtt-client.py HOST PORT ACCESS_KEY_ID SECRET MESSAGE...

Connects, subscribes to `sigv4/test` at QoS 1, publishes each MESSAGE there at QoS 1, waits for them
to come back through the broker, disconnects, and prints one JSON report: {"connected": bool,
"received": [...], "error": "..."}.
"""
import json
import sys
import threading

from awscrt import auth, io, mqtt

host, port, key, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
messages = sys.argv[5:]
report = {"connected": False, "received": [], "error": ""}
credentials = auth.AwsCredentialsProvider.new_static(key, secret)


def sign_handshake(transform_args):
    # What the IoT SDK does: presign the handshake's query for iotdevicegateway (no session token here).
    config = auth.AwsSigningConfig(
        algorithm=auth.AwsSigningAlgorithm.V4, signature_type=auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS,
        credentials_provider=credentials, region="us-east-1", service="iotdevicegateway", omit_session_token=True)
    future = auth.aws_sign_request(transform_args.http_request, config)
    future.add_done_callback(lambda f: transform_args.set_done(f.exception()))


got_all = threading.Event()


def on_message(topic, payload, **kwargs):
    report["received"].append(payload.decode())
    if len(report["received"]) == len(messages):
        got_all.set()


try:
    bootstrap = io.ClientBootstrap(io.EventLoopGroup(1), io.DefaultHostResolver(io.EventLoopGroup(1)))
    connection = mqtt.Connection(
        client=mqtt.Client(bootstrap), host_name=host, port=port, client_id="sigv4-test", clean_session=True,
        keep_alive_secs=30, use_websockets=True, websocket_handshake_transform=sign_handshake)
    connection.connect().result(10)
    report["connected"] = True
    subscribe, _ = connection.subscribe("sigv4/test", mqtt.QoS.AT_LEAST_ONCE, callback=on_message)
    subscribe.result(10)
    for message in messages:
        publish, _ = connection.publish("sigv4/test", message.encode(), mqtt.QoS.AT_LEAST_ONCE)
        publish.result(10)
    if messages and not got_all.wait(10):
        report["error"] = "timed out waiting for the messages to come back"
    connection.disconnect().result(10)
except Exception as error:  # noqa: BLE001 - the report says what went wrong
    report["error"] = f"{type(error).__name__}: {error}"
print(json.dumps(report), flush=True)
