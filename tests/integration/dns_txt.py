#!/usr/bin/env python3
"""A small DNS server for tests: answers TXT questions from a zone file
(JSON: {"name": ["txt string", ...]}) over UDP on 127.0.0.1:53 in the
test's own network namespace; NXDOMAIN for other names. A name whose
strings are ["!loop"] gets an answer whose owner name is a compression
pointer to itself (a malformed message a resolver must refuse).
Usage: dns_txt.py ZONEFILE READYFILE"""
import json
import socket
import struct
import sys


def qname(msg, off):
    labels = []
    while msg[off]:
        n = msg[off]
        labels.append(msg[off + 1:off + 1 + n].decode().lower())
        off += 1 + n
    return ".".join(labels), off + 1


def answer(msg, zone):
    qid, flags, qd = struct.unpack(">HHH", msg[:6])
    name, end = qname(msg, 12)
    qtype = struct.unpack(">H", msg[end:end + 2])[0]
    question = msg[12:end + 4]
    txts = zone.get(name)
    head = lambda rcode, an: struct.pack(">HHHHHH", qid, 0x8400 | rcode, 1, an, 0, 0)
    if txts is None:
        return head(3, 0) + question
    if qtype != 16:
        return head(0, 0) + question
    if txts == ["!loop"]:
        loop = 12 + len(question)
        rr = struct.pack(">HHHIH", 0xC000 | loop, 16, 1, 60, 2) + b"\x01x"
        return head(0, 1) + question + rr
    rdata = b"".join(bytes([len(t)]) + t.encode() for t in txts)
    rr = struct.pack(">HHHIH", 0xC00C, 16, 1, 60, len(rdata)) + rdata
    return head(0, 1) + question + rr


def main():
    zone = {k.lower(): v for k, v in json.load(open(sys.argv[1])).items()}
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 53))
    open(sys.argv[2], "w").close()
    while True:
        msg, peer = s.recvfrom(4096)
        try:
            s.sendto(answer(msg, zone), peer)
        except (IndexError, struct.error, UnicodeDecodeError):
            pass


main()
