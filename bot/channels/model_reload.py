"""Load another trained model into a running Rasa server, without a restart.

``./gracious run`` on a new machine starts the bot on a quick model (one
classifier, minutes to train) and trains the full one (three classifiers
voting, tens of minutes) meanwhile (scripts/quick_start.py); this route
then puts the full model in its place. A restart would drop the chats in
progress for the half minute Rasa takes to load; here the old model keeps
answering while the new one loads, in a thread, and the conversations, the
tracker store and the lock store stay as they are. An operator can use it
the same way to roll out a retrained model.

It is not a channel customers write to: it is registered as one
(credentials.yml) because that is how a route gets onto the Rasa server.
Rasa's own ``PUT /model`` would need ``--enable-api``, which opens every
conversation to whoever holds its one token.

``PUT /webhooks/model/serving`` with ``X-Gracious-Model-Key`` (GRACIOUS_MODEL_KEY)
and ``{"model_file": "models/gracious.tar.gz"}`` answers ``{"model": ...,
"model_id": ...}`` once the new model answers; ``GET`` says which model
answers now. A model archive is code (it holds pickles): the key is as
powerful as a deployment, and without it set the route refuses everything.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request

from bot.channels.inbound import add_health_route, has_key, problem
from bot.settings import settings

log = logging.getLogger(__name__)

KEY_HEADER = "x-gracious-model-key"


def model_file(body: Any) -> Path | str:
    """Return the archive the body names, or what is wrong with the body."""
    name = body.get("model_file") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip():
        return 'The body must be {"model_file": "<path to a trained model archive>"}.'
    path = Path(name.strip())
    if not path.is_file():
        return f"There is no model archive at {path}."
    return path


def serving(agent: Any) -> dict[str, Any]:
    return {"model": agent.model_name, "model_id": agent.model_id}


class ModelReloadChannel(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "model"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webhook = add_health_route(Blueprint("gracious_model_reload", __name__))
        # One load at a time: two would race to be the one that answers.
        loading = asyncio.Lock()

        def allowed(request: Request) -> bool:
            return has_key(request, KEY_HEADER, settings().model_key)

        @webhook.route("/serving", methods=["PUT"])
        async def reload(request: Request) -> Any:
            if not allowed(request):
                return problem("A valid X-Gracious-Model-Key header is needed.", 403)
            try:
                body = request.json
            except Exception:
                body = None
            path = model_file(body)
            if isinstance(path, str):
                return problem(path, 400)
            if loading.locked():
                return problem(
                    "Another model is being loaded; try again after it.", 409
                )
            agent = request.app.ctx.agent
            async with loading:
                log.info(
                    "loading model %s; %s answers meanwhile", path, agent.model_name
                )
                try:
                    # Agent.load_model swaps its processor only once the new
                    # one is built: turns meanwhile run on the old model.
                    await asyncio.get_running_loop().run_in_executor(
                        None, agent.load_model, path
                    )
                except Exception as error:
                    log.exception("model %s could not be loaded", path)
                    return problem(
                        f"The model could not be loaded ({type(error).__name__}); "
                        f"{agent.model_name} still answers.",
                        422,
                    )
            log.info("model %s answers now", agent.model_name)
            return response.json(serving(agent))

        @webhook.route("/serving", methods=["GET"])
        async def current(request: Request) -> Any:
            if not allowed(request):
                return problem("A valid X-Gracious-Model-Key header is needed.", 403)
            return response.json(serving(request.app.ctx.agent))

        return webhook
