"""The stand-in's multi-character flags: which characters exist, and the room
faults — feature off, roster limit, partial dispatch, slow readiness, acks that never come or
come stale."""

from __future__ import annotations

import argparse
from collections.abc import Iterable

from convai_tui.local.character.client_messages import CharacterProfile
from convai_tui.local.rooms.policy import ROSTER_UPDATE, TARGET, RoomPolicy


def add_standin_room_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("multi-character rooms")
    g.add_argument(
        "--characters",
        default="",
        metavar="ID[=NAME],…",
        help="more known characters (comma-separated, each with an optional "
        "display name); a /connect with `characters` puts any of them, clones "
        "included, in one room",
    )
    g.add_argument(
        "--multi-character",
        choices=("on", "off"),
        default="on",
        help="off: a multi-character /connect gets 403 multi_character_v0_disabled",
    )
    g.add_argument(
        "--roster-limit",
        type=int,
        default=50,
        metavar="N",
        help="most instances per room (more: 403 multi_character_roster_limit_exceeded)",
    )
    g.add_argument(
        "--dispatch-fail",
        action="append",
        default=[],
        metavar="ID",
        help="instances of this character never start (dispatch_failed); repeatable",
    )
    g.add_argument(
        "--slow-ready",
        action="append",
        default=[],
        metavar="ID=S",
        help="instances of this character report ready only after S seconds",
    )
    g.add_argument(
        "--drop-ack",
        action="append",
        default=[],
        choices=(TARGET, ROSTER_UPDATE),
        help="never acknowledge this room command (exercises the client's timeout)",
    )
    g.add_argument(
        "--stale-acks",
        action="store_true",
        help="follow each successful room ack with the previous one (stale epoch)",
    )


def cast_from(spec: str, triggers: Iterable[str]) -> list[CharacterProfile]:
    """`id1=Name,id2` → profiles (a missing name is the id)."""
    out = []
    for item in spec.split(","):
        cid, _, name = item.strip().partition("=")
        if cid.strip():
            out.append(
                CharacterProfile(cid.strip(), name.strip() or cid.strip(), frozenset(triggers))
            )
    return out


def _slow(items: Iterable[str]) -> dict[str, float]:
    slow: dict[str, float] = {}
    for item in items:
        cid, sep, seconds = item.partition("=")
        try:
            slow[cid.strip()] = float(seconds) if sep else 10.0
        except ValueError:
            raise SystemExit(f"--slow-ready {item!r}: expected ID=SECONDS") from None
    return slow


def policy_from(args: argparse.Namespace) -> RoomPolicy:
    return RoomPolicy(
        enabled=args.multi_character == "on",
        roster_limit=args.roster_limit,
        dispatch_fail=frozenset(args.dispatch_fail),
        slow_ready=_slow(args.slow_ready),
        drop_acks=frozenset(args.drop_ack),
        stale_acks=args.stale_acks,
    )
