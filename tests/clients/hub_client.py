#!/usr/bin/env python3
"""A minimal auth-hub client, written from docs/protocol.md alone (Python 3.11, standard library).

It is the test of that document: if this client works against the real hub, the document is
precise enough to write a client in another language.

Usage:
    hub_client.py get PATH     read one secret and print its value to stdout
    hub_client.py status       print the hub's status (keyless session) as JSON
    hub_client.py selftest     check the MessagePack codec against vectors from the document

Environment:
    AUTH_HUB_SOCKET   the socket path; else AUTH_HUB_HOME=DIR gives DIR/auth-hub.sock;
                      else $XDG_RUNTIME_DIR/auth-hub/auth-hub.sock
    AUTH_HUB_TOKEN    the API key (TAUTH_...) for `get`
    HUB_WAIT_MS       how long `get` waits for the owner's approval, in ms (default 0)

Exit codes: 0 success; 3 denied or timeout; 4 not_found; 1 any other failure.
"""

from __future__ import annotations

import json
import os
import re
import socket
import struct
import sys

PROTOCOL_VERSION = 1
CLIENT_NAME = "hub_client.py"
CLIENT_VERSION = "0.1.0"
DEFAULT_MAX_FRAME = 1 << 20
MAX_DEPTH = 64

EXIT_FAILURE = 1
EXIT_DENIED = 3
EXIT_NOT_FOUND = 4


# --------------------------------------------------------------------------------------------
# MessagePack: the subset the protocol uses (nil, bool, int, str, bin, array, map).


class MsgpackError(ValueError):
    """The bytes are not MessagePack this codec understands."""


def packb(value) -> bytes:
    out = bytearray()
    _pack(value, out)
    return bytes(out)


def _pack(value, out: bytearray) -> None:
    if value is None:
        out.append(0xC0)
    elif value is True:
        out.append(0xC3)
    elif value is False:
        out.append(0xC2)
    elif isinstance(value, int):
        _pack_int(value, out)
    elif isinstance(value, str):
        data = value.encode("utf-8")
        n = len(data)
        if n < 32:
            out.append(0xA0 | n)
        elif n < 0x100:
            out += bytes([0xD9, n])
        elif n < 0x10000:
            out += b"\xda" + struct.pack(">H", n)
        else:
            out += b"\xdb" + struct.pack(">I", n)
        out += data
    elif isinstance(value, (bytes, bytearray)):
        n = len(value)
        if n < 0x100:
            out += bytes([0xC4, n])
        elif n < 0x10000:
            out += b"\xc5" + struct.pack(">H", n)
        else:
            out += b"\xc6" + struct.pack(">I", n)
        out += value
    elif isinstance(value, (list, tuple)):
        n = len(value)
        if n < 16:
            out.append(0x90 | n)
        elif n < 0x10000:
            out += b"\xdc" + struct.pack(">H", n)
        else:
            out += b"\xdd" + struct.pack(">I", n)
        for item in value:
            _pack(item, out)
    elif isinstance(value, dict):
        n = len(value)
        if n < 16:
            out.append(0x80 | n)
        elif n < 0x10000:
            out += b"\xde" + struct.pack(">H", n)
        else:
            out += b"\xdf" + struct.pack(">I", n)
        for key, item in value.items():
            _pack(key, out)
            _pack(item, out)
    else:
        raise TypeError(f"cannot encode {type(value).__name__}")


def _pack_int(n: int, out: bytearray) -> None:
    """The shortest form, as the document asks."""
    if 0 <= n < 0x80:
        out.append(n)
    elif 0 <= n < 0x100:
        out += bytes([0xCC, n])
    elif 0 <= n < 0x10000:
        out += b"\xcd" + struct.pack(">H", n)
    elif 0 <= n < 0x100000000:
        out += b"\xce" + struct.pack(">I", n)
    elif 0 <= n < 0x10000000000000000:
        out += b"\xcf" + struct.pack(">Q", n)
    elif -32 <= n < 0:
        out.append(n & 0xFF)
    elif -0x80 <= n < 0:
        out += b"\xd0" + struct.pack(">b", n)
    elif -0x8000 <= n < 0:
        out += b"\xd1" + struct.pack(">h", n)
    elif -0x80000000 <= n < 0:
        out += b"\xd2" + struct.pack(">i", n)
    elif -0x8000000000000000 <= n < 0:
        out += b"\xd3" + struct.pack(">q", n)
    else:
        raise OverflowError(f"integer {n} does not fit in 64 bits")


def unpackb(data: bytes):
    """Decodes exactly one value; trailing bytes are an error (as the document says)."""
    reader = _Reader(data)
    value = reader.value(0)
    if reader.pos != len(data):
        raise MsgpackError(f"{len(data) - reader.pos} trailing bytes after the message")
    return value


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise MsgpackError("truncated MessagePack value")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def unpack(self, fmt: str):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def value(self, depth: int):
        if depth > MAX_DEPTH:
            raise MsgpackError("nested too deeply")
        b = self.take(1)[0]
        if b <= 0x7F:
            return b
        if b >= 0xE0:
            return b - 0x100
        if 0x80 <= b <= 0x8F:
            return self.map(b & 0x0F, depth)
        if 0x90 <= b <= 0x9F:
            return self.array(b & 0x0F, depth)
        if 0xA0 <= b <= 0xBF:
            return self.str(b & 0x1F)
        simple = {0xC0: None, 0xC2: False, 0xC3: True}
        if b in simple:
            return simple[b]
        ints = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q",
                0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q",
                0xCA: ">f", 0xCB: ">d"}
        if b in ints:
            return self.unpack(ints[b])
        if b in (0xC4, 0xC5, 0xC6):
            return bytes(self.take(self.unpack({0xC4: ">B", 0xC5: ">H", 0xC6: ">I"}[b])))
        if b in (0xD9, 0xDA, 0xDB):
            return self.str(self.unpack({0xD9: ">B", 0xDA: ">H", 0xDB: ">I"}[b]))
        if b in (0xDC, 0xDD):
            return self.array(self.unpack(">H" if b == 0xDC else ">I"), depth)
        if b in (0xDE, 0xDF):
            return self.map(self.unpack(">H" if b == 0xDE else ">I"), depth)
        raise MsgpackError(f"unsupported MessagePack marker 0x{b:02x}")

    def str(self, n: int) -> str:
        try:
            return self.take(n).decode("utf-8")
        except UnicodeDecodeError as e:
            raise MsgpackError(f"invalid UTF-8 in a string: {e}") from None

    def array(self, n: int, depth: int) -> list:
        return [self.value(depth + 1) for _ in range(n)]

    def map(self, n: int, depth: int) -> dict:
        result = {}
        for _ in range(n):
            key = self.value(depth + 1)
            if not isinstance(key, str):
                raise MsgpackError("map key is not a string")
            if key in result:
                raise MsgpackError(f"duplicate key {key!r}")
            result[key] = self.value(depth + 1)
        return result


# --------------------------------------------------------------------------------------------
# Framing and the connection.


class HubError(Exception):
    """An ErrorReply from the hub."""

    def __init__(self, reply: dict):
        self.code = str(reply.get("code", "unknown"))
        self.message = str(reply.get("message", ""))
        self.reply = reply
        super().__init__(f"{self.code}: {self.message}")


class ProtocolError(Exception):
    """The connection broke or the hub sent something this client cannot use."""


def socket_path() -> str:
    if os.environ.get("AUTH_HUB_SOCKET"):
        return os.environ["AUTH_HUB_SOCKET"]
    if os.environ.get("AUTH_HUB_HOME"):
        return os.path.join(os.environ["AUTH_HUB_HOME"], "auth-hub.sock")
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "auth-hub", "auth-hub.sock")
    raise ProtocolError("no socket: set AUTH_HUB_SOCKET, AUTH_HUB_HOME or XDG_RUNTIME_DIR")


def one_entry(value, what: str):
    """An enum variant: a map with exactly one entry."""
    if not isinstance(value, dict) or len(value) != 1:
        raise ProtocolError(f"{what}: expected a one-entry map, got {value!r:.80}")
    return next(iter(value.items()))


class Connection:
    def __init__(self, path: str, timeout: float):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError as e:
            self.sock.close()
            raise ProtocolError(f"auth-hub is not reachable at {path}: {e}") from None
        self.max_frame = DEFAULT_MAX_FRAME
        self.next_id = 1

    def close(self) -> None:
        self.sock.close()

    def send(self, message) -> None:
        body = packb(message)
        if not 1 <= len(body) <= self.max_frame:
            raise ProtocolError(f"frame of {len(body)} bytes exceeds {self.max_frame}")
        self.sock.sendall(struct.pack(">I", len(body)) + body)

    def _read_exact(self, n: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < n:
            try:
                chunk = self.sock.recv(n - len(chunks))
            except socket.timeout:
                raise ProtocolError("timed out waiting for the hub") from None
            if not chunk:
                raise ProtocolError("connection closed by the hub")
            chunks += chunk
        return bytes(chunks)

    def receive(self):
        (n,) = struct.unpack(">I", self._read_exact(4))
        if not 1 <= n <= self.max_frame:
            raise ProtocolError(f"hub announced a frame of {n} bytes (max {self.max_frame})")
        try:
            return unpackb(self._read_exact(n))
        except MsgpackError as e:
            raise ProtocolError(f"malformed frame from the hub: {e}") from None

    def hello(self, master_token: str | None) -> dict:
        self.send({
            "protocol_version": PROTOCOL_VERSION,
            "client_name": CLIENT_NAME,
            "client_version": CLIENT_VERSION,
            "master_token": master_token,
        })
        kind, value = one_entry(self.receive(), "hello reply")
        if kind == "error":
            raise HubError(value)
        if kind != "welcome":
            raise ProtocolError(f"unexpected hello reply {kind!r}")
        max_frame = value.get("max_frame") or 0
        if max_frame:
            self.max_frame = max_frame
        return value

    def call(self, operation: str, fields: dict):
        """Sends one request and returns the `ok` response as (name, struct); skips events."""
        request_id = self.next_id
        self.next_id += 1
        self.send({"id": request_id, "request": {operation: fields}})
        while True:
            kind, value = one_entry(self.receive(), "server message")
            if kind == "event":
                continue
            if kind != "response":
                continue  # a kind a newer hub added; not for us
            if value.get("id") not in (request_id, 0):
                continue  # an answer to some other request
            outcome, payload = one_entry(value.get("result"), "result")
            if outcome == "error":
                raise HubError(payload)
            if outcome != "ok":
                raise ProtocolError(f"unexpected result {outcome!r}")
            return one_entry(payload, "response")


# --------------------------------------------------------------------------------------------
# Commands.

SEGMENT = re.compile(r"[A-Za-z0-9._@-]+")


def parent_scope(path: str) -> str:
    segments = path.split("/")
    if (
        not path
        or len(path.encode()) > 256
        or len(segments) > 8
        or any(not SEGMENT.fullmatch(s) or s in (".", "..") for s in segments)
    ):
        raise HubError({"code": "bad_request", "message": f"invalid secret path {path!r}"})
    return "/".join(segments[:-1] + ["*"])


def request_token(conn: Connection, scope: str, wait_ms: int) -> str:
    name, reply = conn.call("request_scope", {
        "scopes": [scope],
        "permissions": {"read": True, "write": False},
        "wait_ms": wait_ms,
        "reason": f"{CLIENT_NAME} get",
    })
    if name != "scopes" or not reply.get("outcomes"):
        raise ProtocolError(f"unexpected answer to request_scope: {name!r}")
    kind, value = one_entry(reply["outcomes"][0].get("result"), "scope outcome")
    if kind == "error":
        raise HubError(value)
    if kind != "granted":
        raise ProtocolError(f"unexpected scope outcome {kind!r}")
    return value["access_token"]


def command_get(path: str) -> int:
    token = os.environ.get("AUTH_HUB_TOKEN")
    if not token:
        raise ProtocolError("AUTH_HUB_TOKEN is not set")
    scope = parent_scope(path)
    wait_ms = int(os.environ.get("HUB_WAIT_MS", "0") or "0")
    conn = Connection(socket_path(), timeout=30 + wait_ms / 1000)
    try:
        conn.hello(token)
        access_token = request_token(conn, scope, wait_ms)
        for attempt in (1, 2):
            try:
                name, secret = conn.call("get_secret", {"access_token": access_token, "path": path})
                break
            except HubError as e:
                # Tokens die with a hub restart: ask for the scope again and retry once.
                if e.code != "invalid_access_token" or attempt == 2:
                    raise
                access_token = request_token(conn, scope, wait_ms)
        if name != "secret":
            raise ProtocolError(f"unexpected answer to get_secret: {name!r}")
        sys.stdout.write(secret["value"] + "\n")
        sys.stdout.flush()
        return 0
    finally:
        conn.close()


def command_status() -> int:
    conn = Connection(socket_path(), timeout=30)
    try:
        conn.hello(None)
        name, status = conn.call("status", {})
        if name != "status":
            raise ProtocolError(f"unexpected answer to status: {name!r}")
        print(json.dumps(status, indent=2))
        return 0
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------
# Self-test: vectors copied from docs/protocol.md.

DOC_HELLO_FRAME = """
00 00 00 80 84 b0 70 72 6f 74 6f 63 6f 6c 5f 76 65 72 73 69 6f 6e 01 ab 63 6c 69 65 6e 74 5f 6e
61 6d 65 ad 68 75 62 5f 63 6c 69 65 6e 74 2e 70 79 ae 63 6c 69 65 6e 74 5f 76 65 72 73 69 6f 6e
a5 30 2e 31 2e 30 ac 6d 61 73 74 65 72 5f 74 6f 6b 65 6e d9 2f 54 41 55 54 48 5f 63 69 2d 62 6f
74 2d 2d 7a 36 4c 35 79 52 4e 50 54 75 63 69 53 67 58 47 48 71 59 77 6e 39 4e 36 4e 65 6f 44 79
77 48 42 64
"""

DOC_REQUEST_SCOPE_FRAME = """
00 00 00 65 82 a2 69 64 01 a7 72 65 71 75 65 73 74 81 ad 72 65 71 75 65 73 74 5f 73 63 6f 70 65
84 a6 73 63 6f 70 65 73 91 ae 67 69 74 68 75 62 2f 61 6c 69 63 65 2f 2a ab 70 65 72 6d 69 73 73
69 6f 6e 73 82 a4 72 65 61 64 c3 a5 77 72 69 74 65 c2 a7 77 61 69 74 5f 6d 73 00 a6 72 65 61 73
6f 6e a6 64 65 70 6c 6f 79
"""

DOC_SCOPES_FRAME = """
00 00 00 a8 81 a8 72 65 73 70 6f 6e 73 65 82 a2 69 64 01 a6 72 65 73 75 6c 74 81 a2 6f 6b 81 a6
73 63 6f 70 65 73 81 a8 6f 75 74 63 6f 6d 65 73 91 82 a5 73 63 6f 70 65 ae 67 69 74 68 75 62 2f
61 6c 69 63 65 2f 2a a6 72 65 73 75 6c 74 81 a7 67 72 61 6e 74 65 64 83 ac 61 63 63 65 73 73 5f
74 6f 6b 65 6e b8 61 74 5f 33 76 51 42 37 42 36 4d 72 47 51 5a 61 78 43 75 46 67 34 6f 68 ab 70
65 72 6d 69 73 73 69 6f 6e 73 82 a4 72 65 61 64 c3 a5 77 72 69 74 65 c2 aa 65 78 70 69 72 65 73
5f 61 74 cf 00 00 01 8b d0 1c 56 80
"""

DOC_DENIED_FRAME = """
00 00 00 a2 81 a8 72 65 73 70 6f 6e 73 65 82 a2 69 64 01 a6 72 65 73 75 6c 74 81 a5 65 72 72 6f
72 84 a4 63 6f 64 65 a6 64 65 6e 69 65 64 a7 6d 65 73 73 61 67 65 d9 29 67 69 74 68 75 62 2f 61
6c 69 63 65 2f 2a 20 6e 65 65 64 73 20 74 68 65 20 6f 77 6e 65 72 27 73 20 61 70 70 72 6f 76 61
6c a5 73 63 6f 70 65 ae 67 69 74 68 75 62 2f 61 6c 69 63 65 2f 2a a7 63 6f 6d 6d 61 6e 64 d9 26
68 79 70 65 72 66 6f 72 67 65 20 61 75 74 68 20 67 72 61 6e 74 20 27 67 69 74 68 75 62 2f 61 6c
69 63 65 2f 2a 27
"""


def unhex(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


def frame(message) -> bytes:
    body = packb(message)
    return struct.pack(">I", len(body)) + body


def selftest() -> int:
    checks = 0

    def check(got, want, what):
        nonlocal checks
        if got != want:
            raise AssertionError(f"{what}: got {got!r}, want {want!r}")
        checks += 1

    # The conventions table and the small vectors.
    for value, hexed in [
        (0, "00"), (7, "07"), (200, "cc c8"), (300, "cd 01 2c"), (70000, "ce 00 01 11 70"),
        (2**64 - 1, "cf ff ff ff ff ff ff ff ff"), (True, "c3"), (False, "c2"), (None, "c0"),
        ({}, "80"), ({"status": {}}, "81 a6 73 74 61 74 75 73 80"),
        ({"read": True, "write": False}, "82 a4 72 65 61 64 c3 a5 77 72 69 74 65 c2"),
        ("not_found", "a9 6e 6f 74 5f 66 6f 75 6e 64"), ("a/b", "a3 61 2f 62"),
        ("granted", "a7 67 72 61 6e 74 65 64"),
        ({"id": 1, "request": {"status": {}}},
         "82 a2 69 64 01 a7 72 65 71 75 65 73 74 81 a6 73 74 61 74 75 73 80"),
        ({"path": "a", "version": 1, "updated_at": 1700000000000},
         "83 a4 70 61 74 68 a1 61 a7 76 65 72 73 69 6f 6e 01 aa 75 70 64 61 74 65 64 5f 61 74 "
         "cf 00 00 01 8b cf e5 68 00"),
        ({"code": "not_found", "message": ""},
         "82 a4 63 6f 64 65 a9 6e 6f 74 5f 66 6f 75 6e 64 a7 6d 65 73 73 61 67 65 a0"),
    ]:
        check(packb(value), unhex(hexed), f"encode {value!r}")
        check(unpackb(unhex(hexed)), value, f"decode {hexed}")
    check(packb("x" * 32)[:2], b"\xd9\x20", "str8 header")
    # Timestamps as uint64, and other widths a decoder must accept.
    check(unpackb(unhex("cf 00 00 01 8b cf e5 68 00")), 1700000000000, "timestamp")
    check(unpackb(unhex("d3 ff ff ff ff ff ff ff ff")), -1, "int64")
    check(unpackb(unhex("ff")), -1, "negative fixint")
    for n in (-33, -129, -40000, -(2**40), 2**32, 2**63):
        check(unpackb(packb(n)), n, f"round trip {n}")

    # The worked session: our hello and request_scope are byte-identical to the document's.
    token = "TAUTH_ci-bot--z6L5yRNPTuciSgXGHqYwn9N6NeoDywHBd"
    check(frame({"protocol_version": 1, "client_name": "hub_client.py",
                 "client_version": "0.1.0", "master_token": token}),
          unhex(DOC_HELLO_FRAME), "hello frame")
    check(frame({"id": 1, "request": {"request_scope": {
        "scopes": ["github/alice/*"], "permissions": {"read": True, "write": False},
        "wait_ms": 0, "reason": "deploy"}}}), unhex(DOC_REQUEST_SCOPE_FRAME), "request_scope")
    scopes = unpackb(unhex(DOC_SCOPES_FRAME)[4:])
    outcome = scopes["response"]["result"]["ok"]["scopes"]["outcomes"][0]
    check(outcome["result"]["granted"]["access_token"], "at_3vQB7B6MrGQZaxCuFg4oh", "token")
    check(outcome["result"]["granted"]["expires_at"], 1700003600000, "expires_at")
    denied = unpackb(unhex(DOC_DENIED_FRAME)[4:])["response"]["result"]["error"]
    check(denied["command"], "hyperforge auth grant 'github/alice/*'", "denied command")
    check("path" in denied, False, "omitted context field")

    # Hostile input is an error, never a crash.
    for bad in ("", "c1", "a5 61", "92 01", "81 01 02", "82 a1 61 01 a1 61 02", "01 02",
                "91" * 1000 + "c0"):
        try:
            unpackb(unhex(bad))
        except MsgpackError:
            checks += 1
        else:
            raise AssertionError(f"decoded bad input {bad[:20]}")
    check(parent_scope("github/alice/token"), "github/alice/*", "parent scope")
    check(parent_scope("token"), "*", "parent scope of one segment")
    print(f"selftest: {checks} checks passed")
    return 0


# --------------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "get":
        run = lambda: command_get(argv[2])  # noqa: E731
    elif len(argv) == 2 and argv[1] == "status":
        run = command_status
    elif len(argv) == 2 and argv[1] == "selftest":
        return selftest()
    else:
        print(__doc__.strip(), file=sys.stderr)
        return EXIT_FAILURE
    try:
        return run()
    except HubError as e:
        print(f"error: {e.code}: {e.message}", file=sys.stderr)
        command = e.reply.get("command")
        if command:
            print(f"hint: run `{command}`", file=sys.stderr)
        if e.code in ("denied", "timeout"):
            return EXIT_DENIED
        if e.code == "not_found":
            return EXIT_NOT_FOUND
        return EXIT_FAILURE
    except (ProtocolError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main(sys.argv))
