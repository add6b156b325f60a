"""The ASGI app: thin Starlette routes over the :class:`~whispercli.server.engine.Engine`.

:func:`create_app` builds a plain ASGI callable from an engine and the settings.
Routes parse, hand the work to the engine and render; every error is a typed
exception that one handler turns into a response (``errors.http_status_for``), and
one middleware counts every answer for ``/metrics``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import queue
import time

from ..errors import WhisperCliError
from .errors import (BadRequest, ClientGone, Forbidden, NotFound, ShuttingDown, Unauthorized, error_body,
                     http_status_for, retry_after_header)
from .fields import request_spec
from .multipart import read_form
from .responses import render
from .settings import ServerSettings

# /load takes this much, at most: a model name, not an upload
_LOAD_FORM_MAX_BYTES = 64 << 10


class _Api:
    def __init__(self, engine, settings: ServerSettings) -> None:
        self.engine = engine
        self.settings = settings

    # ------------------------------------------------------------------ helpers
    def _authorize(self, request) -> None:
        key = self.settings.api_key
        if not key:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), key.encode()):
            self.engine.metrics.rejections.labels("unauthorized").inc()
            raise Unauthorized("missing or wrong API key (send 'Authorization: Bearer KEY')")

    async def _read(self, request, endpoint: str):
        from .multipart import Upload

        self._authorize(request)
        deadline = time.monotonic() + self.settings.request_timeout_s
        try:
            form = await read_form(request, self.settings.max_upload_bytes)
        except WhisperCliError as exc:
            self.engine.metrics.rejections.labels(getattr(exc, "code", "invalid_request")).inc()
            raise
        upload = form.files.get("file")
        if not isinstance(upload, Upload):
            raise BadRequest("no 'file' field in the request (send the audio as a multipart file part)",
                             param="file", code="missing_file")
        spec = request_spec(form.fields, self.settings.defaults, endpoint=endpoint,
                            language_probabilities=self.settings.language_probabilities)
        return upload, spec, deadline

    # ------------------------------------------------------------------ routes
    async def health(self, request):
        from starlette.responses import JSONResponse

        if self.engine.loading:
            # whisper-server's answer while /load runs (server.cpp): a load balancer takes the
            # instance out of rotation until the new model is in, though the old one still serves
            return JSONResponse({"status": "loading model"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def metrics(self, request):
        from starlette.responses import Response

        from .metrics import CONTENT_TYPE

        return Response(self.engine.metrics.render(), media_type=CONTENT_TYPE)

    async def inference(self, request):
        return await self._transcribe(request, "inference")

    async def transcriptions(self, request):
        return await self._transcribe(request, "transcriptions")

    async def translations(self, request):
        return await self._transcribe(request, "translations")

    async def _transcribe(self, request, endpoint: str):
        from starlette.responses import Response

        upload, spec, deadline = await self._read(request, endpoint)
        if spec.stream:
            return await self._stream(request, upload, spec, deadline)
        job = await self.engine.submit(upload.data, upload.filename, spec, deadline=deadline,
                                       is_disconnected=request.is_disconnected)
        result = await self.engine.wait(job, deadline=deadline, is_disconnected=request.is_disconnected)
        body = render(result, spec, openai=endpoint != "inference")
        return Response(body.content, media_type=body.media_type)

    async def _stream(self, request, upload, spec, deadline: float):
        """Server-sent events as OpenAI sends them: a delta per decoded segment, then the whole text.

        The first segment (or the end) is awaited before answering, so a file that cannot
        be decoded still gets its 400, not a 200 with an error event.
        """
        from starlette.responses import StreamingResponse

        segments: queue.SimpleQueue = queue.SimpleQueue()
        job = await self.engine.submit(upload.data, upload.filename, spec, deadline=deadline,
                                       is_disconnected=request.is_disconnected, on_segment=segments.put)
        await self.engine.wait(job, deadline=deadline, is_disconnected=request.is_disconnected,
                               until=lambda: not segments.empty())
        engine = self.engine

        def event(payload: dict) -> bytes:
            return f"event: {payload['type']}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()

        async def events():
            texts: list[str] = []
            try:
                while True:
                    while not segments.empty():
                        text = segments.get().text
                        texts.append(text)
                        yield event({"type": "transcript.text.delta", "delta": text})
                    if job.future.done():
                        break
                    # uvicorn drops what is sent to a client that left: ask, or the job would run on
                    await engine.wait(job, deadline=deadline, is_disconnected=request.is_disconnected,
                                      until=lambda: not segments.empty())
                job.future.result()
                yield event({"type": "transcript.text.done", "text": "".join(texts).strip()})
            except WhisperCliError as exc:
                payload = json.loads(error_body(exc, http_status_for(exc), openai=True))
                yield event({"type": "error", **payload})
            finally:
                engine.stop(job, ClientGone("the client disconnected during the stream"))

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def load(self, request):
        from starlette.responses import PlainTextResponse

        from ..models.registry import resolve_model
        from .multipart import read_form as read

        self._authorize(request)
        if not self.settings.allow_load:
            raise Forbidden("/load is off: start the server with --allow-load")
        form = await read(request, _LOAD_FORM_MAX_BYTES)
        name = (form.fields.get("model") or [""])[-1].strip()
        if not name:
            raise BadRequest("no 'model' field in the request", param="model")
        if not _is_cache_name(name):
            raise BadRequest(f"'model' must be a model name from the model cache (e.g. tiny.en), not a path: "
                             f"{name!r}", param="model")
        await self.engine.load(resolve_model(name), name)
        return PlainTextResponse("Load was successful!")

    async def models(self, request):
        from starlette.responses import JSONResponse

        self._authorize(request)
        return JSONResponse({"object": "list", "data": [self._model_entry()]})

    async def model(self, request):
        from starlette.responses import JSONResponse

        self._authorize(request)
        entry = self._model_entry()
        if request.path_params["model_id"] != entry["id"]:
            raise NotFound(f"model {request.path_params['model_id']!r} is not served here (it serves "
                           f"{entry['id']!r})", param="model")
        return JSONResponse(entry)

    def _model_entry(self) -> dict:
        return {"id": self.engine.model_label, "object": "model", "created": 0, "owned_by": "whispercli"}


def _is_cache_name(name: str) -> bool:
    from ..models.registry import looks_like_name

    return looks_like_name(name) and not name.startswith(".") and "\\" not in name and "\0" not in name


def create_app(engine, settings: ServerSettings):
    """The ASGI app serving ``engine`` with ``settings``."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.responses import Response
    from starlette.routing import Route

    api = _Api(engine, settings)
    r = settings.route
    routes = [
        Route(r("/health"), api.health, methods=["GET"]),
        Route(r("/metrics"), api.metrics, methods=["GET"]),
        Route(r(settings.inference_path), api.inference, methods=["POST"]),
        Route(r("/load"), api.load, methods=["POST"]),
        Route(r("/v1/audio/transcriptions"), api.transcriptions, methods=["POST"]),
        Route(r("/v1/audio/translations"), api.translations, methods=["POST"]),
        Route(r("/v1/models"), api.models, methods=["GET"]),
        Route(r("/v1/models/{model_id:path}"), api.model, methods=["GET"]),
    ]

    def is_openai(request) -> bool:
        return request.url.path.startswith(r("/v1/"))

    async def on_error(request, exc: Exception):
        if isinstance(exc, HTTPException):  # no such route, or the wrong method
            status, error = exc.status_code, NotFound(exc.detail, code="not_found" if exc.status_code == 404
                                                      else "method_not_allowed")
        else:
            status, error = http_status_for(exc), exc
        return Response(error_body(error, status, openai=is_openai(request)), status_code=status,
                        media_type="application/json", headers=retry_after_header(exc))

    return Starlette(
        routes=routes,
        middleware=[Middleware(_CountRequests, metrics=engine.metrics, routes=routes),
                    Middleware(_AnswerShutdownCancel, engine=engine, is_openai=lambda path: path.startswith(r("/v1/")))],
        exception_handlers={WhisperCliError: on_error, HTTPException: on_error, Exception: on_error},
    )


class _CountRequests:
    """Pure ASGI middleware: every answer counted by route and status, with its latency."""

    def __init__(self, app, metrics, routes) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    def _endpoint(self, path: str) -> str:
        """The route's template (a bounded label set), never the raw path."""
        for route in self.routes:
            if route.path_regex.match(path):
                return route.path
        return "unmatched"

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.monotonic()
        status = {"code": 499}  # no answer started: the client went away first

        async def send_status(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            endpoint = self._endpoint(scope["path"])
            self.metrics.requests.labels(endpoint, str(status["code"])).inc()
            self.metrics.latency.labels(endpoint).observe(time.monotonic() - t0)


class _AnswerShutdownCancel:
    """Pure ASGI middleware: a request that uvicorn cancels at shutdown gets a 503, not uvicorn's 500.

    The engine answers what waits or runs at the drain deadline itself; uvicorn's own timeout,
    a little later, cancels what is left (an upload still arriving).  uvicorn would log that
    cancellation as a traceback and answer 500; here the client gets the 503 it can retry
    elsewhere, or, when its answer had started (a stream), the end of it.
    """

    def __init__(self, app, engine, is_openai) -> None:
        self.app = app
        self.engine = engine
        self.is_openai = is_openai

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def send_tracking(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except asyncio.CancelledError:
            if not self.engine.draining:
                raise
            body = b""
            if not started:
                error = ShuttingDown()
                body = error_body(error, 503, openai=self.is_openai(scope["path"]))
                headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                           (b"connection", b"close")]
                headers += [(k.lower().encode(), v.encode()) for k, v in retry_after_header(error).items()]
                await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})
