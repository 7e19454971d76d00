"""The error catalogue's table: every session error code with its stage, cause, fix and check.

Codes and their recoverable flags follow Convai's Unity SDK (`SessionErrorCodes`) and the
tables in shared/seeds/000 and docs/convai-protocol.md §4.3. Codes marked ``source="convai-tui"``
are ours: they name situations the SDKs report only as free text (a LiveKit disconnect reason,
an idle timeout, a refused send).

`entry` defines what an entry is; `connecting` holds the codes raised before the room is joined
(config.*, connection.*), `in_session` those raised once it is (transport.*, server.*,
session.*, protocol.*, audio.*, vision.*). `convai_tui.core.errors.error` joins them, in that order,
into the catalogue the rest of the code looks codes up in.
"""
