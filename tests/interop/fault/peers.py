#!/usr/bin/env python3
"""tests/interop/fault/peers.py — hostile and broken peers for tests/interop/fault.sh.

Each subcommand plays many clients against one server and prints one result
line, "key=value ..." (the last line of its output), for the shell to check.
Subcommands that hold their connections while the shell looks at the server
print "held ..." and then wait until the file named by --release exists.

  stall     N connections each send half a ClientHello and stall; waits until
            the server has closed every one (EOF or RST) or --wait passes.
  bighello  N connections each send a handshake header declaring --declared
            bytes of ClientHello, then as much body as the server takes; reads
            the server's answer: which alert each got, how many bytes it took.
  noread    N TLS connections each send --bytes of data to an echo server and
            never read; held until released, then reset.
  reset     N TLS connections, each stopped by a reset (SO_LINGER 0) in a given
            place: mid-record (half a record sent) or mid-file (--read bytes
            of an HTTP response read); --mode get reads the whole response
            and closes normally (a client that is served).
  kuproxy   a TCP proxy for one openssl s_client: after the trigger file
            appears, the client's next record (a KeyUpdate) is cut (half) or
            passed whole and the server's answer awaited (answered); then the
            server's side is reset.
"""
import argparse
import errno
import os
import selectors
import socket
import ssl
import struct
import time

ALERTS = {10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow",
          40: "handshake_failure", 47: "illegal_parameter", 50: "decode_error",
          80: "internal_error", 0: "close_notify"}


def result(**kv):
    print(" ".join(f"{k}={v}" for k, v in kv.items()), flush=True)


def rst_close(sock):
    """Close with a reset: SO_LINGER on with a zero timeout."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def connect_many(port, n, rcvbuf=0):
    """n connected non-blocking sockets (connects in batches below the backlog)."""
    socks, batch = [], 256
    for start in range(0, n, batch):
        pending = []
        for _ in range(min(batch, n - start)):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if rcvbuf:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            s.setblocking(False)
            rc = s.connect_ex(("127.0.0.1", port))
            if rc not in (0, errno.EINPROGRESS):
                raise OSError(rc, os.strerror(rc))
            pending.append(s)
        sel = selectors.DefaultSelector()
        for s in pending:
            sel.register(s, selectors.EVENT_WRITE)
        left, deadline = len(pending), time.monotonic() + 30
        while left and time.monotonic() < deadline:
            for key, _ in sel.select(1):
                s = key.fileobj
                sel.unregister(s)
                left -= 1
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    raise OSError(err, "connect: " + os.strerror(err))
        sel.close()
        if left:
            raise TimeoutError(f"{left} connects did not complete")
        socks += pending
    return socks


def wait_release(path, limit):
    deadline = time.monotonic() + limit
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)


def client_hello_head(declared):
    """A ClientHello header declaring `declared` body bytes, and the start of a
    plausible body (legacy_version, random)."""
    return bytes([1]) + declared.to_bytes(3, "big") + b"\x03\x03" + os.urandom(32)


def record(ctype, payload, version=b"\x03\x01"):
    return bytes([ctype]) + version + len(payload).to_bytes(2, "big") + payload


def peer_closed(s):
    """'eof', 'rst' or None (still open) for a non-blocking socket; data read
    is discarded."""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return "eof"
    except BlockingIOError:
        return None
    except ConnectionResetError:
        return "rst"


# ---- stall -------------------------------------------------------------------

def cmd_stall(a):
    socks = connect_many(a.port, a.count)
    # A 512-byte ClientHello in one record: its header and the first 100 bytes.
    msg = client_hello_head(508)
    half = record(22, msg + b"\0" * (512 - len(msg)))[:5 + 4 + 100]
    for s in socks:
        s.send(half)
    print(f"held {len(socks)}", flush=True)
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    eof = rst = 0
    deadline = time.monotonic() + a.wait
    while eof + rst < len(socks) and time.monotonic() < deadline:
        for key, _ in sel.select(1):
            how = peer_closed(key.fileobj)
            if how:
                sel.unregister(key.fileobj)
                key.fileobj.close()
                eof += how == "eof"
                rst += how == "rst"
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    result(count=len(socks), eof=eof, rst=rst, open=len(socks) - eof - rst)


# ---- bighello ----------------------------------------------------------------

def read_answer(s, st):
    """Whatever the server sent, up to its close."""
    try:
        while st["end"] is None:
            d = s.recv(65536)
            st["in"] += d
            if not d:
                st["end"] = "eof"
    except BlockingIOError:
        pass
    except ConnectionResetError:
        st["end"] = "rst"


def cmd_bighello(a):
    socks = connect_many(a.port, a.count)
    first = client_hello_head(a.declared)
    state = {}
    for s in socks:
        # The message header and body start in one record; more body follows in
        # records of 16 KiB until the declared length or until the server stops.
        head = record(22, first + b"\0" * (16384 - len(first)))
        state[s] = {"out": head, "sent": 0, "body": 16384 - 4, "in": b"", "end": None}
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    deadline = time.monotonic() + a.wait
    chunk = record(22, b"\0" * 16384, b"\x03\x03")
    while sel.get_map() and time.monotonic() < deadline:
        for key, ev in sel.select(1):
            s, st = key.fileobj, state[key.fileobj]
            if ev & selectors.EVENT_READ:
                read_answer(s, st)
            if st["end"] is None and not st["in"] and ev & selectors.EVENT_WRITE:
                if not st["out"] and st["body"] < a.declared:
                    st["out"] = chunk
                    st["body"] += 16384
                try:
                    if st["out"]:
                        n = s.send(st["out"])
                        st["out"] = st["out"][n:]
                        st["sent"] += n
                except BlockingIOError:
                    pass
                except (BrokenPipeError, ConnectionResetError):
                    read_answer(s, st)   # the alert may be waiting
                    st["end"] = st["end"] or "rst"
                if not st["out"] and st["body"] >= a.declared:
                    sel.modify(s, selectors.EVENT_READ)
            if st["in"] and st["end"] is None:
                sel.modify(s, selectors.EVENT_READ)   # answered: send no more
            if st["end"]:
                sel.unregister(s)
                s.close()
    counts, sent = {}, []
    for s, st in state.items():
        got = st["in"]
        if st["end"] is None:
            what = "open"
        elif len(got) >= 7 and got[0] == 21 and got[3:5] == b"\x00\x02" and got[5] == 2:
            what = ALERTS.get(got[6], str(got[6]))
        elif not got:
            what = "closed-silently"
        else:
            what = "other-bytes"
        counts[what] = counts.get(what, 0) + 1
        sent.append(st["sent"])
        if st["end"] is None:
            s.close()
    sent.sort()
    result(count=len(socks), **{k.replace("-", "_"): v for k, v in sorted(counts.items())},
           sent_median=sent[len(sent) // 2], sent_max=sent[-1])


# ---- TLS clients over memory BIOs ---------------------------------------------

class Tls:
    """A TLS client whose records the test handles itself: what it writes goes
    to .out as bytes, so it can send all of them, some, or half of one."""

    def __init__(self, ca, host):
        ctx = ssl.create_default_context(cafile=ca)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        self.inc, self.outb = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.outb, server_hostname=host)

    def handshake(self, sock):
        """Blocking handshake over sock."""
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                pending = self.outb.read()
                if pending:
                    sock.sendall(pending)
                d = sock.recv(65536)
                if not d:
                    raise EOFError("server closed during the handshake")
                self.inc.write(d)
        pending = self.outb.read()
        if pending:
            sock.sendall(pending)

    def seal(self, data):
        self.obj.write(data)
        return self.outb.read()

    def read_until(self, sock, n):
        """Blocking: n bytes of application data."""
        got = b""
        while len(got) < n:
            try:
                got += self.obj.read(n - len(got))
                continue
            except ssl.SSLWantReadError:
                pass
            d = sock.recv(65536)
            if not d:
                break
            self.inc.write(d)
        return got


def tls_connect(a, rcvbuf=0):
    s = socket.create_connection(("127.0.0.1", a.port), timeout=20)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    t = Tls(a.ca, a.host)
    t.handshake(s)
    return s, t


# ---- noread ------------------------------------------------------------------

def cmd_noread(a):
    conns = []
    for _ in range(a.count):
        # A small receive window, so the echo piles up at the server and not
        # in this side's kernel buffers.
        s, t = tls_connect(a, rcvbuf=16384)
        s.setblocking(False)
        conns.append([s, t.seal(os.urandom(a.bytes)), 0])
    total = a.bytes * a.count
    # Send until every connection has sent all, or nothing moved for 3 s.
    last_move = time.monotonic()
    while time.monotonic() - last_move < 3:
        moved = False
        for c in conns:
            if c[2] >= len(c[1]):
                continue
            try:
                n = c[0].send(c[1][c[2]:c[2] + 262144])
                c[2] += n
                moved = moved or n > 0
            except BlockingIOError:
                pass
        if moved:
            last_move = time.monotonic()
        elif all(c[2] >= len(c[1]) for c in conns):
            break
        else:
            time.sleep(0.02)
    sent = sum(min(c[2], a.bytes) for c in conns)
    print(f"held {len(conns)} sent={sent} of={total}", flush=True)
    wait_release(a.release, a.wait)
    for c in conns:
        rst_close(c[0])
    result(count=len(conns), sent=sent, of=total)


# ---- reset -------------------------------------------------------------------

def cmd_reset(a):
    done = 0
    for i in range(a.count):
        s, t = tls_connect(a)
        if a.mode == "record":
            # One whole record, echoed: the connection is open; then half of
            # the next record, and the reset.
            ping = b"ping %d\n" % i
            s.sendall(t.seal(ping))
            if t.read_until(s, len(ping)) != ping:
                raise RuntimeError("no echo")
            rec = t.seal(os.urandom(1000))
            s.sendall(rec[:len(rec) // 2])
        else:
            s.sendall(t.seal(b"GET /%s HTTP/1.1\r\nHost: localhost\r\n\r\n" % a.path.encode()))
            got = t.read_until(s, a.read)
            if not got.startswith(b"HTTP/1.1 200"):
                raise RuntimeError("no 200 response: %r" % got[:40])
            if a.mode == "get":
                # A whole response: the head, then Content-Length bytes.
                while b"\r\n\r\n" not in got:
                    more = t.read_until(s, 1)
                    if not more:
                        raise RuntimeError("the response head ends early")
                    got += more
                head, _, body = got.partition(b"\r\n\r\n")
                want = [int(h.split(b":")[1]) for h in head.split(b"\r\n")
                        if h.lower().startswith(b"content-length:")][0]
                body += t.read_until(s, want - len(body))
                if len(body) != want:
                    raise RuntimeError(f"{len(body)} of {want} body bytes")
                s.close()
                done += 1
                continue
        rst_close(s)
        done += 1
    result(count=done)


# ---- kuproxy -----------------------------------------------------------------

def records(buf):
    """Whole records at the front of buf, and the rest."""
    out = []
    while len(buf) >= 5 and len(buf) >= 5 + int.from_bytes(buf[3:5], "big"):
        n = 5 + int.from_bytes(buf[3:5], "big")
        out.append(buf[:n])
        buf = buf[n:]
    return out, buf


def cmd_kuproxy(a):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    print(f"proxy {ls.getsockname()[1]}", flush=True)
    ls.settimeout(a.wait)
    cli, _ = ls.accept()
    srv = socket.create_connection(("127.0.0.1", a.port))
    sel = selectors.DefaultSelector()
    sel.register(cli, selectors.EVENT_READ)
    sel.register(srv, selectors.EVENT_READ)
    c2s, armed, cut, deadline = b"", False, None, time.monotonic() + a.wait
    ku_len = 0
    while time.monotonic() < deadline and cut is None:
        for key, _ in sel.select(0.05):
            d = key.fileobj.recv(65536)
            if not d:
                cut = "peer-closed"
                break
            if key.fileobj is srv:
                if ku_len and a.mode == "answered":
                    cut = "answered"   # the server's KeyUpdate: reset, unread
                    break
                cli.sendall(d)
                continue
            # The trigger is looked at when the client's bytes arrive: the
            # shell makes it before typing the command that sends them.
            armed = armed or os.path.exists(a.trigger)
            if not armed:
                srv.sendall(d)
                continue
            # Armed: the client's next record is its KeyUpdate (5-byte header,
            # 5-byte message, inner type, 16-byte tag: 27 bytes).
            c2s += d
            recs, c2s = records(c2s)
            if not recs:
                continue
            ku = recs[0]
            ku_len = len(ku)
            if a.mode == "half":
                srv.sendall(ku[:len(ku) // 2])
                cut = "half"
            else:
                srv.sendall(b"".join(recs))
            break
    rst_close(srv)
    cli.close()
    result(cut=cut, keyupdate_len=ku_len)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("stall", "bighello", "noread", "reset", "kuproxy"):
        q = sub.add_parser(name)
        q.add_argument("--port", type=int, required=True)
        q.add_argument("--count", type=int, default=1)
        q.add_argument("--wait", type=float, default=60)
        q.add_argument("--ca", default="")
        q.add_argument("--host", default="localhost")
        q.add_argument("--release", default="")
        q.add_argument("--declared", type=int, default=0xFFFFFF)
        q.add_argument("--bytes", type=int, default=1 << 20)
        q.add_argument("--mode", default="record")
        q.add_argument("--path", default="big")
        q.add_argument("--read", type=int, default=4096)
        q.add_argument("--trigger", default="")
    a = p.parse_args()
    globals()["cmd_" + a.cmd](a)


if __name__ == "__main__":
    main()
