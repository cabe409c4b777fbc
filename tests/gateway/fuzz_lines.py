"""Fuzz cases of the first bytes: request lines, control characters and percent-encoding in
the target, methods, versions, HTTP/0.9, and other protocols' prefaces."""

from __future__ import annotations

import random

from .fuzz_cases import ISSUE, Cases, req


def request_lines(c: Cases) -> None:
    for byte in [*range(32), 0x7F, 0x80, 0xFF]:
        target = b"/v1/ev" + bytes([byte]) + b"nts?case={cid}"
        c.add("ctl_path", f"path 0x{byte:02x}", req(target=target), forwards=byte >= 0x80)
    for byte in (0x00, 0x01, 0x09, 0x0B, 0x7F):
        c.add(
            "ctl_path", f"query 0x{byte:02x}", req(target=ISSUE + b"?case={cid}&a=" + bytes([byte]))
        )
    for n in (1000, 2000, 4000, 7000, 8100, 8192, 9000, 16000, 33000, 70000):
        c.add(
            "long_uri",
            f"uri {n}",
            req(target=b"/v1/" + b"a" * n + b"?case={cid}"),
            forwards=n < 8150,
        )
    c.add("long_uri", "query 9000", req(target=ISSUE + b"?case={cid}&q=" + b"q" * 9000))
    for v in (
        b"HTTP/1.2",
        b"HTTP/1.9",
        b"HTTP/1.10",
        b"HTTP/1.1000",
        b"HTTP/2.0",
        b"HTTP/3.0",
        b"HTTP/9.9",
        b"HTTP/01.1",
        b"HTTP/1",
        b"HTTP/",
        b"http/1.1",
        b"HTTP/1.1x",
        b"HTTPS/1.1",
        b"HTTP/1.1 ",
        b"HTTP/0.9",
        b"HTTP/1.0",
    ):
        # RFC 9110 2.5: a higher 1.x minor version is served as 1.1.
        ok = v in (b"HTTP/1.0", b"HTTP/1.1 ", b"HTTP/1.2", b"HTTP/1.9", b"HTTP/1.10")
        c.add("version", f"version {v.decode()!r}", req(version=v), forwards=ok)
    c.add("http09", "simple GET", b"GET /v1/x?case={cid}\r\n")
    c.add("http09", "simple POST", b"POST /v1/x?case={cid}\r\n")
    c.add("http09", "simple GET healthz", b"GET /gateway/healthz\r\n")
    c.add("version", "HTTP/1.0 no host", req(version=b"HTTP/1.0", host=False), forwards=True)
    c.add("version", "HTTP/1.1 no host", req(host=False))


def percent_encodings(c: Cases) -> None:
    for enc in (
        b"%zz",
        b"%00",
        b"%0",
        b"%",
        b"%g1",
        b"%%41",
        b"%2e%2e/%2e%2e/etc/passwd",
        b"%2F%2F",
        b"%u0041",
        b"%ff",
        b"%C0%AE%C0%AE/",
        b"..%2f..%2f",
        b"../../../x",
        b"%0d%0aX-Injected:%201",
        b"%0a",
        b"%20",
        b"%7f",
        b"%00.json",
        b"%2500",
    ):
        target = b"/v1/events/" + enc + b"/issue?case={cid}"
        c.add("encoding", f"path {enc.decode()}", req(target=target), forwards=True)
    for enc in (b"%zz", b"%00", b"%"):
        c.add(
            "encoding",
            f"query {enc.decode()}",
            req(target=ISSUE + b"?case={cid}&q=" + enc),
            forwards=True,
        )


def methods(c: Cases) -> None:
    for m in (
        b"get",
        b"post",
        b"Get",
        b"gET",
        b"FOO",
        b"PROPFIND",
        b"MKCOL",
        b"DELETE",
        b"PUT",
        b"PATCH",
        b"LINK",
        b"TRACK",
        b"QUERY",
        b"GET1",
        b"G-T",
        b"G_T",
        b"A" * 100,
        b"M" * 5000,
        b"OPTIONS",
        b"TRACE",
        b"CONNECT",
        b"",
    ):
        c.add("method", f"method {m[:12].decode()!r}", req(method=m))
    c.add("method", "CONNECT authority", req(b"CONNECT", b"example.com:443"))
    c.add("method", "OPTIONS *", req(b"OPTIONS", b"*"))
    c.add("method", "HEAD", req(b"HEAD"), forwards=True)
    c.add("method", "GET", req(), forwards=True)
    c.add("method", "tab separator", b"GET\t/?case={cid} HTTP/1.1\r\nHost: gw\r\n\r\n")
    c.add(
        "method", "double space", b"GET  /?case={cid}  HTTP/1.1\r\nHost: gw\r\n\r\n", forwards=True
    )
    c.add("method", "absolute form", req(target=b"http://gw/v1/x?case={cid}"), forwards=True)
    c.add(
        "method",
        "absolute form, other host",
        req(target=b"http://evil.example/x?case={cid}"),
        forwards=True,
    )
    c.add("method", "POST without a body", req(b"POST"), forwards=True)


def prefaces(c: Cases) -> None:
    hello = bytes.fromhex(
        "160301012c010001280303" + "11" * 32 + "20" + "22" * 32 + "003e130213031301c02cc030"
        "009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d"
        "009c003d003c0035002f00ff0100009d"
    )
    c.add("preface", "TLS ClientHello", hello)
    c.add("preface", "TLS ClientHello, half-closed", hello, half_close=True)
    c.add("preface", "TLS record header only", b"\x16\x03\x01")
    c.add("preface", "HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    c.add(
        "preface",
        "HTTP/2 preface + SETTINGS",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000"),
    )
    c.add("preface", "HTTP/2 prior knowledge GET", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + req())
    c.add("preface", "SSH banner", b"SSH-2.0-OpenSSH_9.2\r\n")
    c.add("preface", "PROXY v1 line", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n" + req())
    c.add("preface", "SOCKS4", b"\x04\x01\x00\x50\x7f\x00\x00\x01user\x00")
    rnd = random.Random(1234)
    for i in range(6):
        c.add("preface", f"random bytes {i}", bytes(rnd.randrange(256) for _ in range(64 + 50 * i)))
    c.add("preface", "CRLF only", b"\r\n\r\n\r\n", half_close=True)
    c.add("preface", "connect and close", b"", half_close=True)
