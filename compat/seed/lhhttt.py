"""LHHTTT framing as the seed prototype speaks it (see SEED-PROTOCOL.md).

A frame is L (one hex digit: how many hex digits follow), HH (the payload length in UTF-8
bytes, lowercase hex) and TTT (the payload). Decoding is as lenient as the original: either
case of hex digit and leading zeros in HH are accepted; anything else raises FrameError.
"""

import datetime
import sys

# The largest payload a UDP datagram over IPv4 can hold; the socket never reads more.
MAX_DATAGRAM = 65507


class FrameError(ValueError):
    """The datagram is not exactly one valid frame."""


def encode(payload):
    """Frame a str (encoded as UTF-8) or bytes payload."""
    data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
    digits = format(len(data), "x")
    return format(len(digits), "x").encode("ascii") + digits.encode("ascii") + data


def _hex(byte, what):
    char = chr(byte)
    if char not in "0123456789abcdefABCDEF":
        raise FrameError("%s 0x%02x is not a hex digit" % (what, byte))
    return int(char, 16)


def decode(datagram):
    """Return the payload of a datagram holding exactly one frame, as str."""
    if len(datagram) == 0:
        raise FrameError("empty datagram")
    digits = _hex(datagram[0], "header byte")
    if digits == 0:
        raise FrameError("header declares 0 length digits")
    if len(datagram) < 1 + digits:
        raise FrameError("datagram ends inside the header")
    length = 0
    for byte in datagram[1:1 + digits]:
        length = length * 16 + _hex(byte, "length digit")
    payload = datagram[1 + digits:]
    if len(payload) != length:
        raise FrameError("header declares %d payload bytes, datagram has %d" % (length, len(payload)))
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FrameError("payload is not valid UTF-8") from error


def parse_address(text):
    """'host:port' -> (host, port); exits with status 2 on a bad address."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        sys.stderr.write("address must look like host:port, got %r\n" % text)
        sys.exit(2)
    return (host or "127.0.0.1", int(port))


def make_log(name):
    """A logger writing '<UTC date> <time with microseconds> <name> <message>' lines to stderr."""

    def log(message):
        now = datetime.datetime.now(datetime.timezone.utc)
        sys.stderr.write("%s %s %s\n" % (now.strftime("%Y-%m-%d %H:%M:%S.%f"), name, message))
        sys.stderr.flush()

    return log
