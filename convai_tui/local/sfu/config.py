"""The ports and the YAML config of a stand-in's livekit-server child.

Every run gets its own ports (picked here) and its own API key and secret (picked by
``LiveKitServer``), written into a config file only the child reads.
"""

from __future__ import annotations

import secrets
import socket
from dataclasses import dataclass

UDP_RANGE_SIZE = 40
"""WebRTC media: each peer connection takes a port from this range (2 per participant)."""
TURN_RELAY_RANGE_SIZE = 40
"""TURN relay allocations (the web SDK forces relay-only ICE, so every media flow of such a
client goes through one of these)."""

# Ports are chosen below the kernel's ephemeral range (32768+ on Linux): a port that is free
# now but ephemeral may be taken by any outgoing connection before the child binds it.
_PORT_FLOOR = 20_000
_PORT_CEILING = 32_000
_handed_out: set[int] = set()
"""Ports given to a LiveKitServer of this process; never reused while it may still bind."""


class NoFreePorts(RuntimeError):
    """No run of free consecutive ports was found."""


@dataclass(frozen=True)
class LiveKitPorts:
    """Where the child listens; all 0 until ``allocate_ports`` picked them."""

    signal: int = 0
    """The clients' signal port: the signal proxy (signal_proxy.py) listens here."""
    internal: int = 0
    """The child's own HTTP/WebSocket port, behind the proxy."""
    rtc_tcp: int = 0
    turn_udp: int = 0
    udp_start: int = 0
    turn_relay_start: int = 0

    @property
    def allocated(self) -> bool:
        return self.signal != 0


def _bindable(port: int, kind: socket.SocketKind) -> bool:
    # livekit-server binds some sockets on the wildcard address, so test that one.
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def _free_ports(count: int, kind: socket.SocketKind) -> int:
    """First of ``count`` consecutive free ports (TCP or UDP), reserved for this process."""
    for _ in range(500):
        start = _PORT_FLOOR + secrets.randbelow(_PORT_CEILING - _PORT_FLOOR - count)
        candidates = range(start, start + count)
        if any(port in _handed_out for port in candidates):
            continue
        if all(_bindable(port, kind) for port in candidates):
            _handed_out.update(candidates)
            return start
    raise NoFreePorts(f"could not find {count} free consecutive ports")


def release_ports(ports: LiveKitPorts) -> None:
    """Give a stopped child's ports back: a process that starts many stand-ins (a test run)
    would otherwise run out of free runs of consecutive ports."""
    for start, count in (
        (ports.signal, 1),
        (ports.internal, 1),
        (ports.rtc_tcp, 1),
        (ports.turn_udp, 1),
        (ports.udp_start, UDP_RANGE_SIZE),
        (ports.turn_relay_start, TURN_RELAY_RANGE_SIZE),
    ):
        _handed_out.difference_update(range(start, start + count))


def allocate_ports() -> LiveKitPorts:
    return LiveKitPorts(
        signal=_free_ports(1, socket.SOCK_STREAM),
        internal=_free_ports(1, socket.SOCK_STREAM),
        rtc_tcp=_free_ports(1, socket.SOCK_STREAM),
        turn_udp=_free_ports(1, socket.SOCK_DGRAM),
        udp_start=_free_ports(UDP_RANGE_SIZE, socket.SOCK_DGRAM),
        turn_relay_start=_free_ports(TURN_RELAY_RANGE_SIZE, socket.SOCK_DGRAM),
    )


def config_yaml(
    *, host: str, ports: LiveKitPorts, api_key: str, api_secret: str, log_level: str
) -> str:
    """The child's config: bound to ``host``, with embedded TURN and the one key pair."""
    # JSON is valid YAML, and quoting every value avoids YAML surprises with the secret.
    return "\n".join(
        [
            f"port: {ports.internal}",
            f'bind_addresses: ["{host}"]',
            "rtc:",
            f"  tcp_port: {ports.rtc_tcp}",
            f"  port_range_start: {ports.udp_start}",
            f"  port_range_end: {ports.udp_start + UDP_RANGE_SIZE - 1}",
            f"  node_ip: {host}",
            "  use_external_ip: false",
            # pion skips the loopback interface by default: it binds its ICE sockets to
            # the other interfaces' addresses (e.g. eth0's) and only *advertises* them as
            # node_ip 127.0.0.1. A TURN relay then sends to 127.0.0.1:<port>, where no
            # socket listens, and the SFU answers from eth0's address, which the relay
            # holds no permission for -- relay-only clients (the web SDK) never connect.
            # With this, pion also binds 127.0.0.1 sockets and that pair succeeds; the
            # eth0 candidates stay, so host-candidate clients connect as before.
            "  enable_loopback_candidate: true",
            "keys:",
            f'  "{api_key}": "{api_secret}"',
            # Embedded TURN on loopback: Convai's web SDK joins with iceTransportPolicy
            # "relay", so without TURN the official client cannot reach the SFU at all.
            "turn:",
            "  enabled: true",
            f"  domain: {'localhost' if host == '127.0.0.1' else host}",
            # The SFU itself is on loopback (or a private --host address); TURN refuses
            # loopback and private peers unless allowed.
            f"  allow_restricted_peer_cidrs: {_restricted_peer_cidrs(host)}",
            f"  udp_port: {ports.turn_udp}",
            f"  relay_range_start: {ports.turn_relay_start}",
            f"  relay_range_end: {ports.turn_relay_start + TURN_RELAY_RANGE_SIZE - 1}",
            "logging:",
            f"  level: {log_level}",
            "",
        ]
    )


def _restricted_peer_cidrs(host: str) -> str:
    cidrs = ["127.0.0.0/8"]
    if host != "127.0.0.1":
        cidrs.append(f"{host}/32")
    return "[" + ", ".join(f'"{cidr}"' for cidr in cidrs) + "]"
