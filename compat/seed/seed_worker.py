#!/usr/bin/env python3
"""seed_worker.py in_host:port out_host:port [--function pong|passthrough]

A worker behaving as the seed prototype's did: GET from the input queue, wait for the reply
with no timeout (one lost datagram stalls it for good, as in the original), sleep 1 us on
the empty reply and poll again, else apply the function and send PUT:<result> to the output
queue without reading the PUT reply. pong raises on anything but ping/pong, killing the
worker, as the original did. Prints one ready line on stdout.
Reconstructed from SEED-PROTOCOL.md for interoperability tests; see README.md.
"""

import signal
import socket
import sys
import time

import lhhttt


def pong(message):
    if message == "ping":
        return "pong"
    if message == "pong":
        return "ping"
    raise ValueError("pong cannot answer %r" % message)


def passthrough(message):
    return message


FUNCTIONS = {"pong": pong, "passthrough": passthrough}


def main(argv):
    args = argv[1:]
    name = "pong"
    if "--function" in args:
        at = args.index("--function")
        name = args[at + 1] if at + 1 < len(args) else ""
        del args[at:at + 2]
    if len(args) != 2 or name not in FUNCTIONS:
        sys.stderr.write("usage: seed_worker.py in_host:port out_host:port [--function pong|passthrough]\n")
        return 2
    function = FUNCTIONS[name]
    source = lhhttt.parse_address(args[0])
    target = lhhttt.parse_address(args[1])
    log = lhhttt.make_log("%s.%s-%d.%s-%d" % (name.capitalize(), source[0], source[1], target[0], target[1]))
    # Two sockets: the PUT replies land on the output socket, which is never read, so they
    # can never be taken for the reply to a GET.
    family = lambda address: socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    inbound = socket.socket(family(source), socket.SOCK_DGRAM)
    outbound = socket.socket(family(target), socket.SOCK_DGRAM)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("seed-worker %s %s:%d -> %s:%d" % (name, source[0], source[1], target[0], target[1]), flush=True)
    get = lhhttt.encode("GET")
    try:
        while True:
            inbound.sendto(get, source)
            datagram, _ = inbound.recvfrom(lhhttt.MAX_DATAGRAM)  # no timeout, as the original
            message = lhhttt.decode(datagram)
            if message == "":
                time.sleep(0.000001)
                continue
            started = time.monotonic()
            result = function(message)
            if result:
                outbound.sendto(lhhttt.encode("PUT:" + result), target)
            log("Vertex latency: %.9f s" % (time.monotonic() - started))
    except KeyboardInterrupt:
        return 0
    finally:
        inbound.close()
        outbound.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
