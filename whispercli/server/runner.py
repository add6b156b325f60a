"""Run the server: load the model, build the app, serve it with uvicorn until SIGTERM/SIGINT.

On a signal uvicorn stops accepting connections and gives in-flight requests
``drain_timeout_s`` to finish; what is still running then is aborted, and the
process exits 0.
"""

from __future__ import annotations

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


def _quiet_exit_server(uvicorn):
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
    app, engine = build(settings, use_gpu=use_gpu, flash_attn=flash_attn)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, lifespan="off", access_log=False,
                            log_level="warning", timeout_graceful_shutdown=max(1, round(settings.drain_timeout_s)))
    server = _quiet_exit_server(uvicorn)(config)
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
