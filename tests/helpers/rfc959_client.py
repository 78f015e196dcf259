# An FTP data-representation client written from RFC 959 (§3.1 data types and structures,
# §3.4 transmission modes) and draft-preston-ftpext-deflate (MODE Z), for the integration
# tests. It shares no code with the server's encoders: what both agree on is the RFC text, and
# where the RFC leaves a choice (the stored form of EBCDIC and ASA text, the RDW of binary
# records) the README's "Protocol notes".
#
# The tests prepend this file to their script after the prelude of tests/helpers/clients.ts
# (which defines HOST, connect() and result()).
#
# A file's *transfer form* is what stream mode would carry before any mode framing:
#   STRU F: bytes;
#   STRU R: Records(records, last_eor) -- a list of records (bytes each) and whether the last
#           one ends with an EOR (a text file whose last line has no line end: it does not).
import random
import re
import socket
import struct
import zlib

EOR, EOF, SUSPECT, MARKER = 128, 64, 32, 16


class Records:
    def __init__(self, records, last_eor=True):
        self.records = list(records)
        self.last_eor = last_eor if self.records else True

    def __eq__(self, other):
        return (isinstance(other, Records) and self.records == other.records
                and self.last_eor == other.last_eor)

    def __repr__(self):
        head = [r[:20] for r in self.records[:3]]
        return "Records(%d records %r..., last_eor=%s)" % (len(self.records), head, self.last_eor)


def size_of(form):
    return len(form) if isinstance(form, (bytes, bytearray)) else sum(map(len, form.records))


# ---------------------------------------------------------------------------------------------
# Data connections.

def open_data(ftp):
    resp = ftp.sendcmd("EPSV")
    port = int(resp.split("|||")[1].split("|")[0])
    sock = socket.create_connection((HOST, port), timeout=20)
    return sock


class Reader:
    """Buffered exact reads from a data socket (the blocks of one transfer end mid-buffer)."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = bytearray()

    def read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buffer)))
            if not chunk:
                raise EOFError("data connection closed: %d of %d bytes" % (len(self.buffer), n))
            self.buffer += chunk
        out = bytes(self.buffer[:n])
        del self.buffer[:n]
        return out

    def read_all(self):
        out = bytearray(self.buffer)
        self.buffer = bytearray()
        while True:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                return bytes(out)
            out += chunk


# ---------------------------------------------------------------------------------------------
# Stream mode (RFC 959 §3.4.1): STRU R uses 0xFF escapes; STRU F is the bytes.

def stream_encode(form):
    if not isinstance(form, Records):
        return bytes(form)
    out = bytearray()
    for i, record in enumerate(form.records):
        out += record.replace(b"\xff", b"\xff\xff")
        if i < len(form.records) - 1 or form.last_eor:
            out += b"\xff\x01"
    return bytes(out + b"\xff\x02")


def stream_decode(data, record):
    if not record:
        return data
    records, current, i, ended, last_eor = [], bytearray(), 0, False, True
    while i < len(data):
        if ended:
            raise ValueError("data after EOF")
        j = data.find(b"\xff", i)
        if j == -1:
            raise ValueError("record stream ends without EOF")
        current += data[i:j]
        code = data[j + 1] if j + 1 < len(data) else None
        if code == 0xFF:
            current.append(0xFF)
        elif code in (1, 3):
            records.append(bytes(current))
            current = bytearray()
            ended = code == 3
        elif code == 2:
            if current:
                records.append(bytes(current))
                last_eor = False
            ended = True
        else:
            raise ValueError("bad escape %r" % code)
        i = j + 2
    if not ended:
        raise ValueError("record stream ends without EOF")
    return Records(records, last_eor)


# ---------------------------------------------------------------------------------------------
# Block mode (RFC 959 §3.4.2): a 3-byte header, descriptor then a 16-bit count.

def block(descriptor, body=b""):
    return struct.pack(">BH", descriptor, len(body)) + body


def block_encode(form, rng, max_block=65535):
    """Blocks of varying size; STRU R records end with EOR, the file with an EOF block."""
    out = bytearray()

    def pieces(data):
        at = 0
        while at < len(data):
            n = rng.randint(1, max_block)
            yield data[at:at + n]
            at += n

    if isinstance(form, Records):
        for i, record in enumerate(form.records):
            parts = list(pieces(record)) or [b""]
            last = i == len(form.records) - 1
            for k, part in enumerate(parts):
                end = k == len(parts) - 1
                descriptor = EOR if end and (not last or form.last_eor) else 0
                out += block(descriptor, part)
    else:
        for part in pieces(form):
            out += block(0, part)
    return bytes(out + block(EOF))


def block_decode(reader, record):
    """Reads blocks up to the EOF descriptor; returns (form, markers [(text, data offset)])."""
    records, current, data, markers = [], bytearray(), bytearray(), []
    while True:
        descriptor, count = struct.unpack(">BH", reader.read(3))
        body = reader.read(count)
        if descriptor & ~(EOR | EOF | SUSPECT | MARKER):
            raise ValueError("unknown descriptor bits 0x%02x" % descriptor)
        if descriptor & MARKER:
            markers.append((body.decode("ascii"), len(data) + len(current)))
        elif record:
            current += body
        else:
            data += body
        if descriptor & EOR:
            if not record:
                raise ValueError("EOR in a file-structure transfer")
            data += current  # offsets count data bytes
            records.append(bytes(current))
            current = bytearray()
        if descriptor & EOF:
            if not record:
                return bytes(data), markers
            last_eor = True
            if current:
                records.append(bytes(current))
                last_eor = False
            return Records(records, last_eor), markers


# ---------------------------------------------------------------------------------------------
# Compressed mode (RFC 959 §3.4.3): byte strings (0nnnnnnn), replicated bytes (10nnnnnn b),
# filler (11nnnnnn), and escape sequences (0x00, descriptor) for EOR, EOF and markers. The
# filler is a space for ASCII and EBCDIC (0x20, 0x40), zero for image and local.

RUN = re.compile(rb"(.)\1{3,}", re.S)


def compress_bytes(data, filler, out):
    at = 0

    def strings(to):
        nonlocal at
        while at < to:
            n = min(127, to - at)
            out.append(n)
            out.extend(data[at:at + n])
            at += n

    for match in RUN.finditer(data):
        strings(match.start())
        length, byte = match.end() - match.start(), data[match.start()]
        while length > 0:
            n = min(63, length)
            if byte == filler:
                out.append(0xC0 | n)
            else:
                out.append(0x80 | n)
                out.append(byte)
            length -= n
        at = match.end()
    strings(len(data))


def compressed_encode(form, filler):
    out = bytearray()
    if isinstance(form, Records):
        for i, record in enumerate(form.records):
            compress_bytes(record, filler, out)
            if i < len(form.records) - 1 or form.last_eor:
                out += bytes([0, EOR])
    else:
        compress_bytes(form, filler, out)
    return bytes(out + bytes([0, EOF]))


def compressed_decode(reader, record, filler):
    records, current, markers, total = [], bytearray(), [], 0
    while True:
        header = reader.read(1)[0]
        if header == 0:
            descriptor = reader.read(1)[0]
            if descriptor & MARKER:
                # The marker's bytes follow as one byte string.
                n = reader.read(1)[0]
                markers.append((reader.read(n & 127).decode("ascii"), total + len(current)))
            if descriptor & EOR:
                if not record:
                    raise ValueError("EOR in a file-structure transfer")
                total += len(current)
                records.append(bytes(current))
                current = bytearray()
            if descriptor & EOF:
                if not record:
                    return bytes(current), markers
                last_eor = True
                if current:
                    records.append(bytes(current))
                    last_eor = False
                return Records(records, last_eor), markers
        elif header < 0x80:
            current += reader.read(header)
        elif header < 0xC0:
            current += reader.read(1) * (header & 0x3F)
        else:
            current += bytes([filler]) * (header & 0x3F)


# ---------------------------------------------------------------------------------------------
# Representations (RFC 959 §3.1.1): the stored form (README "Protocol notes": UTF-8 or bytes
# with LF line ends; binary records behind a 4-byte RDW) ↔ the transfer form.

def ebcdic(text_bytes):
    """Stored UTF-8 → EBCDIC cp037; a stored LF is EBCDIC NL (0x15), U+0085 is 0x25."""
    swapped = text_bytes.decode("utf-8").translate({0x0A: 0x85, 0x85: 0x0A})
    return swapped.encode("cp037")


def from_ebcdic(data):
    return data.decode("cp037").translate({0x0A: 0x85, 0x85: 0x0A}).encode("utf-8")


def lines_of(stored):
    """A text file's lines without their LF, and whether the last one had one."""
    if stored == b"":
        return [], True
    lines = stored.split(b"\n")
    if lines[-1] == b"":
        return lines[:-1], True
    return lines, False


def asa_records(stored):
    """Stored text → ASA records (RFC 959 §3.1.1.5.2), in the normal form the README gives:
    blank lines before a line become its "0" or "-"; more than two, " " records first; a form
    feed at a line's start is "1"; a line after one that ended in CR is "+" (overprint)."""
    out, blank, overprint = [], 0, False
    lines, last_lf = lines_of(stored)
    # Split CR-ended lines: "a\rb\n" is "a" then an overprint line "b".
    pieces = []
    for line in lines:
        parts = line.split(b"\r")
        for k, part in enumerate(parts):
            pieces.append((part, k < len(parts) - 1))
    for index, (line, ends_cr) in enumerate(pieces):
        if overprint:
            out.append(b"+" + line)
        elif line == b"" and not ends_cr and (index < len(pieces) - 1 or last_lf):
            blank += 1
            continue
        elif line.startswith(b"\f"):
            out.extend([b" "] * blank)
            out.append(b"1" + line[1:])
        else:
            if blank >= 2:
                out.extend([b" "] * (blank - 2))
            out.append({0: b" ", 1: b"0"}.get(blank, b"-") + line)
        blank = 0
        overprint = ends_cr
    out.extend([b" "] * blank)
    return out, last_lf


def transfer_form(stored, rep, stru):
    """The transfer form of a stored file for TYPE `rep` ("A N", "E C", "I", "L 8") and STRU."""
    record = stru == "R"
    code, _, fmt = rep.partition(" ")
    if code in ("I", "L"):
        if not record:
            return stored
        records, at = [], 0
        while at < len(stored):
            length, zero = struct.unpack(">HH", stored[at:at + 4])
            assert zero == 0 and length >= 4
            records.append(stored[at + 4:at + length])
            at += length
        return Records(records)
    if fmt == "C":
        lines, last_lf = asa_records(stored)
    else:
        lines, last_lf = lines_of(stored)
    if code == "E":
        # Each line converts on its own: ASA controls are characters like any other.
        lines = [ebcdic(line) for line in lines]
        end = b"\x15"
    else:
        end = b"\r\n"
    if record:
        return Records(lines, last_lf)
    return end.join(lines) + (end if lines and last_lf else b"")


def rdw(records):
    return b"".join(struct.pack(">HH", len(r) + 4, 0) + r for r in records)


def frame(form, mode, filler, rng):
    """A transfer form as the client sends it in MODE S, B, C or Z."""
    if mode == "S":
        return stream_encode(form)
    if mode == "Z":
        return zlib.compress(stream_encode(form), rng.randint(1, 9))
    if mode == "B":
        return block_encode(form, rng)
    return compressed_encode(form, filler)


def filler_of(rep):
    return {"A": 0x20, "E": 0x40}.get(rep[0], 0x00)
