"""The server's settings: one typed record, built by ``whispercli serve`` from its flags."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..options import TranscribeOptions

API_KEY_ENV = "WHISPERCLI_API_KEY"


@dataclass(frozen=True)
class ServerSettings:
    model: str | None  # -m as given: a path or a model-cache name (None: whisper-cli's default)
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1  # requests transcribed at once on the one model
    max_queue: int = 16  # requests waiting for a worker; more are refused (503)
    max_upload_bytes: int = 25 << 20  # OpenAI's limit
    request_timeout_s: float = 600.0  # queue wait + decode + transcribe
    drain_timeout_s: float = 30.0  # on SIGTERM/SIGINT: in-flight requests get this long to finish
    api_key: str | None = None
    allow_load: bool = False
    request_path: str = ""  # prefix of every route (whisper-server's --request-path)
    inference_path: str = "/inference"
    language_probabilities: bool = True  # /inference verbose_json (whisper-server's -nlp turns it off)
    defaults: TranscribeOptions = field(default_factory=TranscribeOptions)  # what a request may override

    def route(self, path: str) -> str:
        return self.request_path.rstrip("/") + path
