"""The widget's channel served as ``rasa run`` serves it, to be stopped by a signal.

``python -m tests.support.stopping_widget_server PORT SECONDS``: Sanic's own
``app.run``, one process, its SIGTERM and SIGINT handlers as in production,
the limit on the turns a stop waits for set to SECONDS. The agent is the
stand-in of tests/support/widget_channel.py; a message "take N seconds"
keeps its turn running that long before it answers.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from typing import Any

from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from bot.channels import inbound, stopping
from bot.channels.widget import WidgetInput
from bot.settings import Settings
from tests.support.widget_channel import KEY, Processor, agent_on

SLOW_TURN = re.compile(r"^take ([\d.]+) seconds$")
# What the test waits for in this process's log before it sends more.
SERVING = "widget test server: serving"


class SlowProcessor(Processor):
    """Rasa's processor, answering "take N seconds" N seconds late."""

    async def handle_message(self, message: UserMessage) -> None:
        slow = SLOW_TURN.match(message.text or "")
        if slow:
            await asyncio.sleep(float(slow.group(1)))
        await super().handle_message(message)


def main(port: int, seconds: float) -> None:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s"
    )
    stopping.TURNS_FINISH_WITHIN_SECONDS = seconds
    # The start-up check refuses a tracker store in memory, which is all a
    # stand-in agent has.
    inbound.refuse_to_serve_from_memory = lambda app, loop: None  # type: ignore[assignment]
    agent = agent_on()
    agent.processor = SlowProcessor(agent.tracker_store)

    app = Sanic("gracious_stopping_widget", configure_logging=False)
    app.ctx.agent = agent
    channel = WidgetInput(config=Settings(billing_api_key=KEY))

    async def rasa_handler(message: UserMessage) -> None:
        await app.ctx.agent.handle_message(message)

    app.blueprint(channel.blueprint(rasa_handler), url_prefix="/webhooks/widget")

    @app.listener("after_server_start")
    async def serving(app: Any, loop: Any) -> None:
        logging.getLogger(__name__).info(SERVING)

    app.run(host="127.0.0.1", port=port, workers=1, access_log=False)


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]))
