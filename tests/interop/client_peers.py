#!/usr/bin/env python3
"""tests/interop/client_peers.py — peers that misbehave on purpose, for client.sh.

  cut UPSTREAM_PORT BYTES close|reset   forward one connection to
      127.0.0.1:UPSTREAM_PORT, and once BYTES bytes came back from it, end the
      client's side: a plain close (FIN, no close_notify) or a reset (RST)
  silent                                accept connections, read, never answer
  http                                  a plain-HTTP port: answer whatever arrives
                                        with "400 Bad Request" and close
  hello11                               a TLS 1.1 server: answer a ClientHello
                                        with a ServerHello for TLS 1.1

Listens on an ephemeral port of 127.0.0.1 and prints "listening on
127.0.0.1:PORT" when ready. Runs until killed (cut: until its one connection ends).
"""
import select
import socket
import struct
import sys


def listener():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    print("listening on 127.0.0.1:%d" % s.getsockname()[1], flush=True)
    return s


def cut(upstream_port, limit, how):
    lsock = listener()
    client, _ = lsock.accept()
    up = socket.create_connection(("127.0.0.1", upstream_port))
    passed = 0
    while passed < limit:
        ready, _, _ = select.select([client, up], [], [])
        if client in ready:
            data = client.recv(65536)
            if not data:
                break
            up.sendall(data)
        if up in ready:
            data = up.recv(min(65536, limit - passed))
            if not data:
                break
            client.sendall(data)
            passed += len(data)
    if how == "reset":
        # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()
    up.close()


def silent():
    lsock = listener()
    held = []
    while True:
        ready, _, _ = select.select([lsock] + held, [], [])
        for s in ready:
            if s is lsock:
                held.append(lsock.accept()[0])
            elif not s.recv(65536):
                held.remove(s)
                s.close()


def http():
    lsock = listener()
    while True:
        conn, _ = lsock.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        conn.close()


def hello11():
    lsock = listener()
    conn, _ = lsock.accept()
    conn.recv(65536)
    # version 3.2, random (no downgrade sentinel), empty session id,
    # TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, null compression, no extensions
    body = b"\x03\x02" + b"\x11" * 32 + b"\x00" + b"\xc0\x13" + b"\x00"
    msg = b"\x02" + len(body).to_bytes(3, "big") + body
    conn.sendall(b"\x16\x03\x02" + len(msg).to_bytes(2, "big") + msg)
    conn.recv(65536)     # the client's alert, or its close
    conn.close()


def main():
    if sys.argv[1:2] == ["cut"] and len(sys.argv) == 5:
        cut(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1:] == ["silent"]:
        silent()
    elif sys.argv[1:] == ["http"]:
        http()
    elif sys.argv[1:] == ["hello11"]:
        hello11()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
