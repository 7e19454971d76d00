"""`local-server --host ADDR`: loopback stays the default, ADDR reaches every bind and every
advertised address (the network-namespace chaos tests rely on it)."""

from __future__ import annotations

import argparse

import pytest

from convai_tui.local.args import add_local_server_arguments
from convai_tui.local.server import LocalStandIn
from convai_tui.local.sfu.server import LiveKitServer


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_local_server_arguments(parser)
    return parser.parse_args(list(argv))


def test_default_is_loopback_and_the_config_is_unchanged() -> None:
    assert _parse().host == "127.0.0.1"
    server = LiveKitServer()
    config = server._config_text()
    assert 'bind_addresses: ["127.0.0.1"]' in config
    assert "  node_ip: 127.0.0.1" in config
    assert "  domain: localhost" in config
    assert '  allow_restricted_peer_cidrs: ["127.0.0.0/8"]' in config
    assert server.ws_url.startswith("ws://127.0.0.1:")


def test_host_reaches_binds_advertised_addresses_and_urls() -> None:
    server = LiveKitServer(host="10.231.7.2")
    config = server._config_text()
    assert 'bind_addresses: ["10.231.7.2"]' in config
    assert "  node_ip: 10.231.7.2" in config
    assert "  domain: 10.231.7.2" in config
    assert '  allow_restricted_peer_cidrs: ["127.0.0.0/8", "10.231.7.2/32"]' in config
    assert "127.0.0.1" not in config.replace("127.0.0.0/8", "")
    assert server.ws_url.startswith("ws://10.231.7.2:")
    assert server.http_url.startswith("http://10.231.7.2:")
    standin = LocalStandIn(host="10.231.7.2", livekit=server)
    assert standin.connect_url.startswith("http://10.231.7.2:")


@pytest.mark.parametrize("value", ["localhost", "::1", "10.0.0", ""])
def test_host_must_be_an_ipv4_address(value: str) -> None:
    with pytest.raises(SystemExit):
        _parse("--host", value)
