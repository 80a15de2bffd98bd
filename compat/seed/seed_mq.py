#!/usr/bin/env python3
"""seed_mq.py host:port -- a queue node behaving as the seed prototype's did on the wire.

One frame per datagram; PUT:<message>, GET, SIZE; unknown verbs and bad frames are logged
and get no reply at all. Port 0 binds a free port. Prints one ready line on stdout:
  seed-mq listening on <host>:<port>
Reconstructed from SEED-PROTOCOL.md for interoperability tests; see README.md.
"""

import collections
import signal
import socket
import sys
import time

import lhhttt


def answer(queue, payload, log):
    """The reply payload for a request payload, or None for no reply (as the original)."""
    verb, _, message = payload.partition(":")
    if verb == "PUT":
        queue.append((message, time.monotonic()))
        return "PUT %d bytes" % len(message.encode("utf-8"))
    if verb == "GET":
        if not queue:
            return ""
        message, enqueued = queue.popleft()
        log("Edge latency: %.9f s" % (time.monotonic() - enqueued))
        return message
    if verb == "SIZE":
        return str(len(queue))
    log("unknown command %r: no reply" % payload[:80])
    return None


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        sys.stderr.write("usage: seed_mq.py host:port\n")
        return 0 if len(argv) == 2 else 2
    host, port = lhhttt.parse_address(argv[1])
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, port))
    bound_host, bound_port = sock.getsockname()[:2]
    log = lhhttt.make_log("MQ.%s-%d" % (bound_host, bound_port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("seed-mq listening on %s:%d" % (bound_host, bound_port), flush=True)
    queue = collections.deque()
    try:
        while True:
            datagram, sender = sock.recvfrom(lhhttt.MAX_DATAGRAM)
            try:
                payload = lhhttt.decode(datagram)
            except lhhttt.FrameError as error:
                log("bad frame from %s:%d: %s: no reply" % (sender[0], sender[1], error))
                continue
            reply = answer(queue, payload, log)
            if reply is not None:
                sock.sendto(lhhttt.encode(reply), sender)
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
