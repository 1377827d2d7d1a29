"""How `newsdesk serve` runs the API: in its own process, or in workers forked from it.

With several workers the command's process loads the app once, binds the socket, then
forks the workers (what gunicorn calls preloading). A worker so answers as soon as it
exists, instead of importing FastAPI, SQLAlchemy and the routes again (about a second on
two cores, each worker at once). The loaded pages start shared between the workers and the
supervisor; a worker copies each one it writes to (reference counts do, on the objects it
uses), and gc.freeze keeps its collections from writing to the rest.

`newsdesk serve` turns the garbage collector off before it imports this module, and it is
on again once the app is loaded (`resume_collection`): loading makes only objects that live
as long as the app, which collections would walk for nothing (a fifth of start-up).

uvicorn's supervisor keeps the workers running: it replaces one that dies or stops
answering its health check, stops them all on SIGINT or SIGTERM, replaces them one by one
on SIGHUP, and adds or removes one on SIGTTIN or SIGTTOU. It spawns fresh interpreters;
here it forks.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from socket import socket
from typing import Any

import uvicorn
import uvicorn.supervisors.multiprocess as uvicorn_supervisor
from uvicorn._subprocess import subprocess_started

# Beyond the grace period, the time a server gets to finish shutting down.
EXIT_MARGIN_SECONDS = 1.0


APP = "app.main:create_app"


def serve_app(
    host: str, port: int, workers: int, grace_seconds: int, *, reload: bool = False
) -> None:
    """Serve the API on host:port until SIGINT or SIGTERM; then requests get `grace_seconds`
    to finish. Malformed requests get the JSON error too (app.http_protocol). `reload`
    (development) restarts one process on code changes, under uvicorn's own reloader."""
    from app.http_protocol import protocol_for_uvicorn

    options: dict[str, Any] = dict(
        factory=True,
        host=host,
        port=port,
        access_log=False,
        http=protocol_for_uvicorn(),
        timeout_graceful_shutdown=grace_seconds,
    )
    if reload:
        gc.enable()
        uvicorn.run(APP, reload=True, **options)
        return
    if workers == 1:
        config = uvicorn.Config(APP, **options)
        config.load()
        resume_collection()
        bounded_shutdown_server(config).run()
        return
    # The app, loaded here, configures the log (app.observability): the workers keep it,
    # uvicorn's records at the level its own configuration gives them.
    config = uvicorn.Config(APP, workers=workers, log_config=None, log_level="info", **options)
    serve_forked_workers(config)


def serve_forked_workers(config: uvicorn.Config) -> None:
    """Load the app here, then supervise `config.workers` workers forked from this process.

    Nothing that holds a thread or a connection may cross the fork: the search index this
    process synced is let go of first (tantivy watches its folder from a thread of its own,
    which a fork would not copy), and so is any database engine; each worker opens its own
    when it first needs them.
    """
    from app.db import forget_engine
    from app.search.tantivy.index import forget_search_indexes

    config.load()
    forget_search_indexes()
    forget_engine()
    resume_collection()
    listening = config.bind_socket()
    # The supervisor makes each worker's process with this module's get_subprocess.
    uvicorn_supervisor.get_subprocess = forked_worker  # type: ignore[attr-defined,assignment]
    uvicorn_supervisor.Multiprocess(config, sockets=[listening]).run()


def resume_collection() -> None:
    """Move what loading the app made out of every later collection's way, and turn the
    collector on. Python's gc documentation gives this order for a process that forks
    workers: the collector off early, gc.freeze right before the fork (so the workers'
    collections don't write to the pages they share), then on again."""
    gc.freeze()
    gc.enable()


_FORK = multiprocessing.get_context("fork")


def forked_worker(
    config: uvicorn.Config, target: Callable[..., None], sockets: list[socket]
) -> multiprocessing.process.BaseProcess:
    """uvicorn's get_subprocess, forking this process instead of starting a new interpreter."""
    return _FORK.Process(target=_run_worker, args=(config, target, sockets))


def _run_worker(config: uvicorn.Config, target: Callable[..., None], sockets: list[socket]) -> None:
    """A forked worker: the signals the supervisor queues for itself act as in any process
    again (the worker's server then takes SIGINT and SIGTERM), and the server that runs is
    bounded_shutdown_server, as in a single process (`target` is the bound `run` of
    uvicorn's worker handle, whose server it makes on first use)."""
    for number in uvicorn_supervisor.SIGNALS:
        signal.signal(number, signal.SIG_DFL)
    handle = getattr(target, "__self__", None)
    if isinstance(handle, uvicorn_supervisor.Process):
        handle._server = bounded_shutdown_server(config)
    subprocess_started(config, target, sockets, stdin_fileno=None)


def bounded_shutdown_server(config: uvicorn.Config) -> uvicorn.Server:
    """A uvicorn server that, once asked to stop, exits within the grace period + 1 s.

    uvicorn waits `timeout_graceful_shutdown` for running requests, then cancels them; but a
    request running in a worker thread (a database call, a tantivy search) can not be
    cancelled, and the process would wait for it at exit. So stopping starts a timer that
    ends the process, after a log line, once the grace period and a second have passed.
    """

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            limit = (self.config.timeout_graceful_shutdown or 0) + EXIT_MARGIN_SECONDS
            timer = threading.Timer(limit, _exit_now, args=(limit,))
            timer.daemon = True
            timer.start()
            await super().shutdown(sockets)

    return Server(config)


def _exit_now(limit: float) -> None:
    """End the process now: requests were still running `limit` seconds after SIGTERM."""
    logging.getLogger("newsdesk.server").error(
        "requests still running %.0f s after shutdown began; exiting without them", limit
    )
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(1)
