"""Real-time scheduling for the speaker's callback thread, where the OS allows it.

The device's own buffer (``output_latency_s``, 20 ms) is all the slack playback has: when the
callback thread is not scheduled for longer than that, the sound server runs dry and plays a
hole of digital silence in the middle of a voice, whatever the jitter buffer holds. On a busy
machine an ordinary thread can wait 30-100 ms for a CPU (docs/BENCHMARKS.md, "Dropouts on a
loaded machine"); sound servers and audio programs ask for real-time scheduling for that
reason. The lowest real-time priority is enough to run before every ordinary thread, and stays
below the sound server's own threads, which feed the device.

Best effort: Linux only; without the right (root, CAP_SYS_NICE or an RLIMIT_RTPRIO above zero)
the thread keeps its ordinary scheduling and nothing else changes.
"""

from __future__ import annotations

import os


def make_this_thread_realtime() -> bool:
    """Give the calling thread the lowest ``SCHED_FIFO`` priority; True if the OS agreed."""
    set_scheduler = getattr(os, "sched_setscheduler", None)
    policy = getattr(os, "SCHED_FIFO", None)
    if set_scheduler is None or policy is None:
        return False
    try:
        # pid 0 is the calling thread on Linux (each thread is its own task).
        set_scheduler(0, policy, os.sched_param(os.sched_get_priority_min(policy)))
    except (OSError, ValueError):
        return False
    return True
