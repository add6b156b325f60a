"""Run the server: load the model, build the app, serve it with uvicorn until SIGTERM/SIGINT.

On a signal uvicorn stops accepting connections and in-flight requests get
``drain_timeout_s`` to finish; what still waits or runs then is aborted and answered
503 with ``Retry-After`` (:meth:`~whispercli.server.engine.Engine.drain`), and the
process exits 0.
"""

from __future__ import annotations

import logging
import sys

from ..errors import UsageError
from .settings import ServerSettings


def _require_server_stack() -> None:
    missing = []
    for module in ("starlette", "uvicorn", "python_multipart", "prometheus_client"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise UsageError(f"whispercli serve needs {', '.join(missing)}: pip install 'whispercli[server]'")


# uvicorn's own graceful-shutdown timeout comes this long after the engine's drain deadline: by then
# every aborted request has had its 503 (libwhisper stops at its next abort check).
_SHUTDOWN_MARGIN_S = 5.0


def _server_class(uvicorn, engine, drain_timeout_s: float):
    import contextlib
    import signal

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):
            # uvicorn re-raises the signal once it has shut down gracefully, so the process
            # would die of it; a server that drained cleanly exits 0 instead.
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

        async def shutdown(self, sockets=None):
            # the drain deadline is the engine's: past it, queued and running requests are aborted
            # and answered 503 in the endpoint's shape, where uvicorn would cancel them (a 500)
            engine.drain(drain_timeout_s)
            await super().shutdown(sockets)

    return Server


def build(settings: ServerSettings, *, use_gpu: bool = True, flash_attn: bool = True):
    """``(app, engine)`` for ``settings``: the model loaded, nothing listening yet."""
    from ..model import Model
    from ..models.registry import resolve_model
    from .app import create_app
    from .engine import Engine
    from .metrics import create_metrics

    path = resolve_model(settings.model)
    model = Model.load(path, use_gpu=use_gpu, flash_attn=flash_attn, dtw=settings.defaults.dtw or None)
    engine = Engine(model, settings.model or str(path), workers=settings.workers, max_queue=settings.max_queue,
                    metrics=create_metrics())
    return create_app(engine, settings), engine


def serve(settings: ServerSettings, *, use_gpu: bool = True, flash_attn: bool = True) -> None:
    """Serve until a signal; raises the library's errors (a bad model, a bad option) before listening."""
    _require_server_stack()
    import uvicorn

    from ..options import validate

    validate(settings.defaults)  # a bad server-side default is a usage error now, not a 400 per request
    # python-multipart logs a warning for each malformed body it meets: that is the client's 400
    # (with the same message), not something for the server's log
    logging.getLogger("python_multipart").setLevel(logging.ERROR)
    app, engine = build(settings, use_gpu=use_gpu, flash_attn=flash_attn)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, lifespan="off", access_log=False,
                            log_level="warning",
                            timeout_graceful_shutdown=round(settings.drain_timeout_s + _SHUTDOWN_MARGIN_S))
    server = _server_class(uvicorn, engine, settings.drain_timeout_s)(config)
    print(f"whispercli serve: {engine.model_label} on http://{settings.host}:{settings.port}"
          f"{settings.route('')} ({settings.workers} worker{'s' if settings.workers != 1 else ''}, "
          f"queue {settings.max_queue})", file=sys.stderr, flush=True)
    try:
        server.run()
    except SystemExit:
        if server.started:
            raise
        raise UsageError(f"cannot listen on {settings.host}:{settings.port} (address in use or not allowed)") from None
    finally:
        engine.abort_all()  # past the drain timeout: stop what is still running
        engine.close()
    print("whispercli serve: stopped", file=sys.stderr, flush=True)
