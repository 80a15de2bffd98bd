#!/usr/bin/env python3
"""udp_client.py host:port WORDS... [--timeout SECONDS]

Joins WORDS with spaces, sends them as one frame, prints what it sent and the decoded reply:
  sent: PUT:ping
  reply: PUT 4 bytes
Like the original it waits for the reply forever, unless --timeout is given (then it exits 1
when none arrives, for tests). Reconstructed from SEED-PROTOCOL.md; see README.md.
"""

import socket
import sys

import lhhttt


def main(argv):
    args = argv[1:]
    timeout = None
    if "--timeout" in args:
        at = args.index("--timeout")
        try:
            timeout = float(args[at + 1])
        except (IndexError, ValueError):
            sys.stderr.write("--timeout needs a number of seconds\n")
            return 2
        del args[at:at + 2]
    if len(args) < 2:
        sys.stderr.write("usage: udp_client.py host:port WORDS... [--timeout SECONDS]\n")
        return 2
    address = lhhttt.parse_address(args[0])
    payload = " ".join(args[1:])
    sock = socket.socket(socket.AF_INET6 if ":" in address[0] else socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    try:
        sock.sendto(lhhttt.encode(payload), address)
        print("sent: %s" % payload, flush=True)
        datagram, _ = sock.recvfrom(lhhttt.MAX_DATAGRAM)
    except socket.timeout:
        sys.stderr.write("no reply from %s:%d within %g s\n" % (address[0], address[1], timeout))
        return 1
    finally:
        sock.close()
    print("reply: %s" % lhhttt.decode(datagram), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
