"""Turns a channel runs apart from any request, seen through when the server stops.

The widget answers a message on receipt and runs its turn in a task of its
own; the SMS channel does the same with a turn that outlives Twilio's
deadline. A request in flight is Sanic's to wait for; these tasks are not.

What Sanic 21.12 does on SIGTERM or Ctrl-C (``sanic/server/runners.py``,
``serve``): the signal stops the event loop; the ``before_server_stop``
listeners run with the server still listening and every connection open,
the widget's WebSockets included; only then does it stop listening, close
each idle connection (a WebSocket with 1001 at once), wait up to
``GRACEFUL_SHUTDOWN_TIMEOUT`` (15 s) for requests in flight, run the
``after_server_stop`` listeners (Rasa's closes its stores) and close the
loop. A task of ours still pending then is dropped where it stands, its
replies never sent. So the channels wait in ``before_server_stop``, while a
turn's replies can still reach the sockets.
"""

from __future__ import annotations

import asyncio
import logging
from typing import AbstractSet, Any

log = logging.getLogger(__name__)

# An orchestrator kills a server that has not exited this long after its
# SIGTERM: Kubernetes' default grace period is 30 s. The server listens on
# while it waits, and after it Sanic gives a request accepted meanwhile up to
# its own 15 s (GRACEFUL_SHUTDOWN_TIMEOUT): 12 + 15 leaves Rasa time to
# close its stores. A turn takes a second or two; one still running after
# this is stuck (a store or the billing service not answering) and would
# not end in time anyway.
TURNS_FINISH_WITHIN_SECONDS = 12.0
# A cancelled turn's cleanup (releasing its conversation's lock) runs on the
# loop, which must still be running: awaited this long at most.
CANCELLED_TURNS_END_WITHIN_SECONDS = 2.0


def stop_deadline(app: Any) -> float:
    """Return the loop time by which every channel's turns must have ended.

    One bound for the whole server, counted from the first channel to ask:
    Sanic runs the channels' listeners one after the other, and their waits
    must not add up.
    """
    deadline = getattr(app.ctx, "gracious_turns_end_by", None)
    if not isinstance(deadline, float):
        deadline = asyncio.get_running_loop().time() + TURNS_FINISH_WITHIN_SECONDS
        app.ctx.gracious_turns_end_by = deadline
    return deadline


async def see_through(
    turns: AbstractSet[asyncio.Future[Any]], what: str, app: Any
) -> None:
    """Wait for ``turns`` until the server's stop deadline; cancel those left.

    ``turns`` is the channel's live set: one started while waiting (an SMS
    webhook still served goes past Twilio's deadline) is waited for too.
    ``what`` names a turn in the log, as "widget turn".
    """
    loop = asyncio.get_running_loop()
    deadline = stop_deadline(app)
    told = False
    while True:
        running = [turn for turn in list(turns) if not turn.done()]
        if not running:
            if told:
                log.info("the server is stopping: every %s has ended", what)
            return
        left = deadline - loop.time()
        if left <= 0:
            break
        if not told:
            log.info(
                "the server is stopping: waiting up to %.0f s for %d %s(s)",
                left,
                len(running),
                what,
            )
            told = True
        await asyncio.wait(running, timeout=left)
    log.warning(
        "the server is stopping: %d %s(s) still running when its %g s for "
        "turns ran out, cancelled",
        len(running),
        what,
        TURNS_FINISH_WITHIN_SECONDS,
    )
    for turn in running:
        turn.cancel()
    await asyncio.wait(running, timeout=CANCELLED_TURNS_END_WITHIN_SECONDS)
