"""Load another trained model into a running Rasa server, without a restart.

``./gracious run`` on a new machine starts the bot on a quick model (one
classifier, minutes to train) and trains the full one (three classifiers
voting, tens of minutes) meanwhile (scripts/quick_start.py); this route
then puts the full model in its place. A restart would drop the chats in
progress for the half minute Rasa takes to load; here the old model keeps
answering while the new one is built, in a thread, and the conversations,
the tracker store and the lock store stay as they are. An operator can roll
out a retrained model the same way, on each server (with ``SANIC_WORKERS``
above 1, a call reaches one worker: restart those instead).

It is not a channel customers write to: it is registered as one
(credentials.yml) because that is how a route gets onto the Rasa server.
Rasa's own ``PUT /model`` would need ``--enable-api``, which opens every
conversation to whoever holds its one token.

``PUT /webhooks/model/serving`` with ``X-Gracious-Model-Key``
(GRACIOUS_MODEL_KEY) and ``{"model_file": "models/gracious.tar.gz"}``
starts the load and answers 200 with ``{"model", "model_id"}`` once the new
model answers, or 202 if it is still loading after LOAD_ANSWER_SECONDS
(Sanic cuts a request off at 60 s; the load goes on); ``GET`` says which
model answers, which one is loading and why the last one failed. Only
archives under ``models/`` or ``var/models/`` are loaded: a model archive
is code (it holds pickles), so the key is as powerful as a deployment, and
without it set the route refuses everything.

A model whose domain differs from the serving one is refused: the tracker
store and the responses are shared, so the turns in progress on the old
model would run with the new domain. Rolling that out takes a restart.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.processor import MessageProcessor
from sanic import Blueprint, response
from sanic.request import Request

from bot.channels.inbound import add_health_route, has_key, json_body, problem
from bot.settings import settings

log = logging.getLogger(__name__)

KEY_HEADER = "x-gracious-model-key"
MODEL_FOLDERS = ("models", "var/models")
# Under Sanic's 60 s response timeout, which would cancel the handler.
LOAD_ANSWER_SECONDS = 30.0


class DomainChanged(Exception):
    """The new model's domain is not the serving one's."""


def model_file(body: Any, base: Optional[Path] = None) -> Path | str:
    """Return the archive the body names, or what is wrong with the body."""
    name = body.get("model_file") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip():
        return 'The body must be {"model_file": "<path to a trained model archive>"}.'
    base = (base or Path.cwd()).resolve()
    path = (base / name.strip()).resolve()
    if not any(path.is_relative_to(base / folder) for folder in MODEL_FOLDERS):
        return f"Only archives under {' or '.join(MODEL_FOLDERS)}/ are loaded."
    if not path.is_file():
        return f"There is no model archive at {name.strip()}."
    return path


def build_processor(agent: Any, path: Path) -> MessageProcessor:
    """Load the model as Agent.load_model does, without swapping it in."""
    return MessageProcessor(
        model_path=path,
        tracker_store=agent.tracker_store,
        lock_store=agent.lock_store,
        action_endpoint=agent.action_endpoint,
        generator=agent.nlg,
        http_interpreter=agent.http_interpreter,
    )


async def load(
    agent: Any,
    path: Path,
    build: Callable[[Any, Path], Any] = build_processor,
) -> None:
    """Build the model's processor off the loop, then make it the one that answers.

    One assignment, on the loop: each turn takes ``agent.processor`` once, so
    a turn runs wholly on the old model or wholly on the new one.
    """
    processor = await asyncio.get_running_loop().run_in_executor(
        None, build, agent, path
    )
    serving = agent.domain
    if serving is not None and processor.domain.fingerprint() != serving.fingerprint():
        raise DomainChanged(
            "its domain differs from the serving model's: restart the servers to "
            "roll it out"
        )
    agent.processor = processor


def serving(agent: Any) -> dict[str, Any]:
    return {"model": agent.model_name, "model_id": agent.model_id}


class ModelReloadChannel(InputChannel):
    def __init__(self, build: Callable[[Any, Path], Any] = build_processor) -> None:
        self.build = build
        # This worker's load in progress (kept: a task nobody holds may be
        # collected) and why the last one failed.
        self.loading: Optional[tuple[Path, asyncio.Task]] = None
        self.failed: Optional[str] = None

    @classmethod
    def name(cls) -> str:
        return "model"

    def status(self, agent: Any) -> dict[str, Any]:
        loading = self.loading[0].name if self.loading else None
        return {**serving(agent), "loading": loading, "failed": self.failed}

    def start(self, agent: Any, path: Path) -> asyncio.Task:
        log.info("loading model %s; %s answers meanwhile", path, agent.model_name)
        self.failed = None
        task = asyncio.get_running_loop().create_task(load(agent, path, self.build))

        def finished(task: asyncio.Task) -> None:
            self.loading = None
            if task.cancelled():  # only when the server stops
                self.failed = f"{path.name}: cancelled"
                return
            error = task.exception()
            if error is None:
                log.info("model %s answers now", agent.model_name)
                return
            reason = f": {error}" if isinstance(error, DomainChanged) else ""
            self.failed = f"{path.name}: {type(error).__name__}{reason}"
            log.error("model %s could not be loaded", path, exc_info=error)

        task.add_done_callback(finished)
        self.loading = (path, task)
        return task

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webhook = add_health_route(Blueprint("gracious_model_reload", __name__))

        def refusal(request: Request) -> Optional[response.HTTPResponse]:
            """Return the 403 for a caller without the key, None for one with it."""
            if has_key(request, KEY_HEADER, settings().model_key):
                return None
            return problem("A valid X-Gracious-Model-Key header is needed.", 403)

        @webhook.route("/serving", methods=["PUT"])
        async def reload(request: Request) -> Any:
            if refused := refusal(request):
                return refused
            body = json_body(request)
            path = model_file(body)
            if isinstance(path, str):
                return problem(path, 400)
            if self.loading is not None:
                loading = self.loading[0].name
                return problem(f"{loading} is being loaded; try again after it.", 409)
            agent = request.app.ctx.agent
            task = self.start(agent, path)
            # asyncio.wait neither cancels the load when it times out nor
            # when Sanic cancels this handler.
            await asyncio.wait({task}, timeout=LOAD_ANSWER_SECONDS)
            if not task.done():
                return response.json(self.status(agent), status=202)
            if task.cancelled() or task.exception() is not None:
                return problem(
                    f"The model could not be loaded ({self.failed}); "
                    f"{agent.model_name} still answers.",
                    422,
                )
            return response.json(serving(agent))

        @webhook.route("/serving", methods=["GET"])
        async def current(request: Request) -> Any:
            return refusal(request) or response.json(self.status(request.app.ctx.agent))

        return webhook
