"""Fuzz cases of the headers and the body: duplicate, oversized, folded and malformed
headers; conflicting Content-Length and Transfer-Encoding; smuggling; chunked bodies;
body limits and slow clients; the gateway's own paths."""

from __future__ import annotations

from .fuzz_cases import BODY, CHUNKED, CT, ISSUE, TE, Cases, post, req


def duplicates(c: Cases) -> None:
    for name, value, second in (
        ("Host twice, same", b"gw", True),
        ("Host twice, other", b"evil", True),
        ("Host with space", b"a b", False),
        ("Host with slash", b"../x", False),
        ("Host empty", b"", False),
        ("Host control char", b"a\x01b", False),
    ):
        c.add("duplicate", name, req(host=second, headers=[(b"Host", value)]))
    c.add(
        "duplicate",
        "Host 300 chars",
        req(host=False, headers=[(b"Host", b"h" * 300)]),
        forwards=True,
    )
    for name, values in (
        ("CL twice, same", [b"16", b"16"]),
        ("CL twice, other", [b"16", b"5"]),
        ("CL list", [b"16, 16"]),
        ("CL plus", [b"+16"]),
        ("CL minus", [b"-1"]),
        ("CL hex", [b"0x10"]),
        ("CL inner space", [b"1 6"]),
        ("CL empty", [b""]),
        ("CL huge", [b"99999999999999999999999"]),
        ("CL letters", [b"abc"]),
        ("CL leading zeros", [b"000016"]),
    ):
        headers = [CT] + [(b"Content-Length", v) for v in values]
        c.add("duplicate", name, post(headers, BODY), forwards=name == "CL leading zeros")


def length_and_encoding(c: Cases) -> None:
    te = b"Transfer-Encoding"
    for name, headers, body, forwards in (
        ("CL + TE", [(b"Content-Length", b"16"), (te, b"chunked")], CHUNKED, False),
        ("TE + CL", [(te, b"chunked"), (b"Content-Length", b"16")], CHUNKED, False),
        ("TE twice", [(te, b"chunked"), (te, b"chunked")], CHUNKED, False),
        ("TE chunked, chunked", [(te, b"chunked, chunked")], CHUNKED, False),
        ("TE gzip, chunked", [(te, b"gzip, chunked")], CHUNKED, False),
        ("TE identity", [(te, b"identity")], BODY, False),
        ("TE gzip", [(te, b"gzip")], BODY, False),
        ("TE x-custom", [(te, b"x-custom")], BODY, False),
        ("TE chunked;q=1", [(te, b"chunked;q=1")], CHUNKED, False),
        ("TE xchunked", [(te, b"xchunked")], CHUNKED, False),
        ("TE vertical tab", [(te, b"\x0bchunked")], CHUNKED, False),
        ("TE empty", [(te, b"")], BODY, False),
        ("TE space before colon", [(te + b" ", b"chunked")], CHUNKED, False),
        ("TE Chunked", [(te, b"Chunked")], CHUNKED, True),
        ("TE trailing space", [(te, b"chunked ")], CHUNKED, True),
        ("TE tab", [(te, b"\tchunked")], CHUNKED, True),
        ("Transfer_Encoding", [(b"Transfer_Encoding", b"chunked")], CHUNKED, True),
    ):
        c.add("cl_te", name, post([CT, *headers], body), forwards=forwards)
    c.add("cl_te", "TE on HTTP/1.0", req(b"POST", version=b"HTTP/1.0", headers=TE, body=CHUNKED))
    smuggled = c.smuggled
    c.add(
        "smuggle",
        "CL.TE",
        post([CT, (b"Content-Length", b"5"), (te, b"chunked")], b"0\r\n\r\n" + smuggled),
    )
    c.add(
        "smuggle",
        "TE.CL",
        post([CT, (te, b"chunked"), (b"Content-Length", b"60")], b"0\r\n\r\n" + smuggled),
    )
    c.add(
        "smuggle",
        "TE.TE",
        post(
            [CT, (b"Content-Length", b"5"), (te, b"x"), (te, b"chunked")], b"0\r\n\r\n" + smuggled
        ),
    )
    c.add(
        "smuggle",
        "TE folded",
        post([CT, (b"Content-Length", b"5"), (te, b"\r\n chunked")], b"0\r\n\r\n" + smuggled),
    )
    c.add(
        "smuggle",
        "inside a body of its length (one request)",
        post([CT, (b"Content-Length", str(len(smuggled)).encode())], smuggled),
        forwards=True,
    )
    short = post([CT, (b"Content-Length", b"2")], b"{}" + b"garbage\r\n\r\n")
    c.add("smuggle", "CL shorter than the body", short, forwards=True)
    c.add("smuggle", "two pipelined", req() + req(), forwards=True)


def big_headers(c: Cases) -> None:
    for n in (1000, 4000, 8000, 8300, 16000, 70000):
        c.add(
            "big_header",
            f"one header of {n}",
            req(headers=[(b"X-Big", b"b" * n)]),
            forwards=n <= 8000,
        )
    c.add(
        "big_header",
        "40 headers of 1k",
        req(headers=[(b"X-F%d" % i, b"f" * 1000) for i in range(40)]),
    )
    c.add(
        "big_header",
        "300 headers of 100",
        req(headers=[(b"X-M%d" % i, b"m" * 100) for i in range(300)]),
        forwards=True,
    )
    c.add("big_header", "cookie of 9k", req(headers=[(b"Cookie", b"c=" + b"c" * 9000)]))
    c.add("big_header", "name of 9k", req(headers=[(b"X" * 9000, b"v")]))
    c.add(
        "big_header",
        "7k line + 7k header",
        req(target=b"/" + b"a" * 7000 + b"?case={cid}", headers=[(b"X-A", b"a" * 7000)]),
        forwards=True,
    )


def malformed_headers(c: Cases) -> None:
    for name, headers, forwards in (
        ("folded X-A", [(b"X-A", b"a\r\n b")], False),
        ("folded Host", [(b"X-A", b"1"), (b"Host", b"gw\r\n evil")], False),
        ("folded Content-Length", [(b"Content-Length", b"\r\n 0")], False),
        ("folded with a tab", [(b"X-A", b"a\r\n\tb")], False),
        ("space before colon", [(b"X-A ", b"a")], True),
        ("space in name", [(b"X A", b"a")], True),
        ("no colon", [(b"NoColonHere", None)], True),
        ("empty name", [(b"", b"v")], True),
        ("NUL in value", [(b"X-A", b"a\x00b")], False),
        ("CR in value", [(b"X-A", b"a\rb")], False),
        ("control char in value", [(b"X-A", b"a\x01b")], True),
        ("DEL in value", [(b"X-A", b"a\x7fb")], True),
        ("control char in name", [(b"X\x01A", b"v")], True),
        ("parenthesis in name", [(b"X(A)", b"v")], True),
        ("underscore in name", [(b"X_Real_IP", b"1.2.3.4")], True),
        ("UTF-8 value", [(b"X-A", "ünïcödé".encode())], True),
        ("high byte in name", [(b"X-\xff", b"v")], True),
        ("first header indented", [(b" X-A", b"v")], False),
        ("X-Forwarded-For from an untrusted hop", [(b"X-Forwarded-For", b"1.2.3.4")], True),
        ("bad X-Request-ID", [(b"X-Request-ID", b"a b<script>")], True),
        ("long X-Request-ID", [(b"X-Request-ID", b"r" * 200)], True),
    ):
        c.add("header", name, req(headers=headers), forwards=forwards)
    c.add("header", "bare LF line ends", req(eol=b"\n"), forwards=True)
    c.add("header", "bare CR line ends", req(eol=b"\r"))
    c.add(
        "header", "mixed CRLF and LF", b"GET /?case={cid} HTTP/1.1\nHost: gw\r\n\n", forwards=True
    )
    c.add(
        "header", "headers never end", b"GET /?case={cid} HTTP/1.1\r\nHost: gw\r\n", half_close=True
    )


def chunked(c: Cases) -> None:
    c.add("chunked", "valid", post(TE, CHUNKED), forwards=True)
    c.add(
        "chunked",
        "valid with extension",
        post(TE, b"10;a=b\r\n" + BODY + b"\r\n0\r\n\r\n"),
        forwards=True,
    )
    c.add(
        "chunked", "valid with trailer", post(TE, CHUNKED[:-2] + b"X-T: 1\r\n\r\n"), forwards=True
    )
    for name, body, half_close in (
        ("truncated in a chunk", b"10\r\n" + BODY[:5], True),
        ("truncated before the last chunk", b"10\r\n" + BODY + b"\r\n", True),
        ("truncated after a size", b"10\r\n", True),
        ("size zz", b"zz\r\n" + BODY + b"\r\n0\r\n\r\n", False),
        ("size -1", b"-1\r\n" + BODY + b"\r\n0\r\n\r\n", False),
        ("size huge", b"ffffffffffffffffffff\r\n" + BODY + b"\r\n0\r\n\r\n", False),
        ("size 0x10", b"0x10\r\n" + BODY + b"\r\n0\r\n\r\n", False),
        ("size after a space", b" 10\r\n" + BODY + b"\r\n0\r\n\r\n", False),
        ("no CRLF after the data", b"10\r\n" + BODY + b"0\r\n\r\n", False),
        ("more data than its size", b"5\r\n" + BODY + b"\r\n0\r\n\r\n", False),
        ("over the body limit", b"1000\r\n" + b"x" * 4096 + b"\r\n0\r\n\r\n", False),
        ("many tiny chunks over the limit", b"1\r\nx\r\n" * 3000 + b"0\r\n\r\n", False),
    ):
        c.add("chunked", name, post(TE, body), half_close=half_close)
    c.add("chunked", "LF-only chunk lines", post(TE, b"10\n" + BODY + b"\n0\n\n"), forwards=True)


def bodies_and_paths(c: Cases) -> None:
    length = (b"Content-Length", b"100")
    c.add("body", "over the limit", post([CT, (b"Content-Length", b"5000")], b"x" * 5000))
    c.add("body", "over the limit, not sent", post([CT, (b"Content-Length", b"999999")], b""))
    c.add("body", "short, half-closed", post([CT, length], b"{}"), half_close=True)
    c.add("slow", "short body, then silence", post([CT, length], b"{}"), deadline_s=4.0)
    c.add("slow", "in a chunk, then silence", post(TE, b"10\r\n" + BODY[:5]), deadline_s=4.0)
    c.add("slow", "request line, then silence", b"GET /?case={cid} HTTP/1.1\r\n", deadline_s=4.0)
    c.add("slow", "nothing at all", b"", deadline_s=4.0)
    c.add(
        "slow",
        "headers in pieces",
        [b"GET /v1/x?ca", b"se={cid} HTTP/1.1\r\nHo", b"st: gw\r\n\r\n"],
        pause_s=0.2,
        forwards=True,
    )
    for target in (
        b"/gateway/healthz",
        b"/internal/edge/soldout",
        b"/%69nternal/edge/soldout",
        b"/v1/../internal/edge/soldout",
        b"/_gw/400",
        b"/_gw/503",
    ):
        c.add("path", target.decode(), req(target=target + b"?case={cid}"))
    c.add("path", "issue of an unknown event", post([CT], BODY), forwards=True)
    c.add("path", "GET of the issue path", req(target=ISSUE + b"?case={cid}"), forwards=True)
