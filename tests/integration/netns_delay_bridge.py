"""A two-port Ethernet bridge in user space that delays and drops frames: netem for kernels
built without it (this machine's has `# CONFIG_NET_SCH_NETEM is not set`).

Run inside a namespace that holds two veth ends with no addresses:

    python netns_delay_bridge.py DEV_A DEV_B

It forwards every frame from one device to the other after the current one-way delay, dropping
the current percentage at random (both directions alike, so RTT grows by twice the delay).
Commands on stdin, one a line: `set DELAY_MS LOSS_PCT` (answers `ok`), `stats` (answers
`forwarded N dropped M`), `quit`. PACKET_VNET_HDR keeps the veths' offloads intact: a TSO
super-frame or a frame whose checksum is left to the device is passed on as it came.
"""

from __future__ import annotations

import random
import select
import socket
import sys
import time
from collections import deque

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_VNET_HDR = 15
PACKET_OUTGOING = 4


def open_port(device: str) -> socket.socket:
    port = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    port.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    port.bind((device, 0))
    return port


def main(device_a: str, device_b: str) -> int:
    a, b = open_port(device_a), open_port(device_b)
    other = {a: b, b: a}
    pending: dict[socket.socket, deque[tuple[float, bytes]]] = {a: deque(), b: deque()}
    delay_s, loss_pct = 0.0, 0.0
    forwarded = dropped = 0
    print("ready", flush=True)
    while True:
        now = time.monotonic()
        for port, queue in pending.items():
            while queue and queue[0][0] <= now:
                try:
                    port.send(queue.popleft()[1])
                    forwarded += 1
                except OSError:  # a frame the device refuses is a loss, not a crash
                    dropped += 1
        waits = [queue[0][0] - now for queue in pending.values() if queue]
        ready, _, _ = select.select([a, b, sys.stdin], [], [], max(0.0, min(waits, default=0.1)))
        for source in ready:
            if source is sys.stdin:
                words = sys.stdin.readline().split()
                if not words or words[0] == "quit":
                    return 0
                if words[0] == "set":
                    delay_s, loss_pct = float(words[1]) / 1000, float(words[2])
                    print("ok", flush=True)
                elif words[0] == "stats":
                    print(f"forwarded {forwarded} dropped {dropped}", flush=True)
                continue
            assert isinstance(source, socket.socket)
            frame, address = source.recvfrom(65_600)
            if address[2] == PACKET_OUTGOING:
                continue  # what this bridge itself sent out of that device
            if loss_pct and random.random() * 100 < loss_pct:
                dropped += 1
                continue
            pending[other[source]].append((time.monotonic() + delay_s, frame))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
