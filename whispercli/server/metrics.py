"""The server's Prometheus metrics, through ``prometheus_client`` (one registry per app).

Buckets are sized for speech: a request on a short clip takes tenths of a second, an
hour of audio takes minutes; queue waits are shorter.
"""

from __future__ import annotations

from dataclasses import dataclass

LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
QUEUE_BUCKETS_S = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class Metrics:
    registry: object
    requests: object  # Counter{endpoint, status}
    latency: object  # Histogram{endpoint}
    queue_wait: object  # Histogram
    inference: object  # Histogram
    audio_seconds: object  # Counter
    queue_depth: object  # Gauge
    in_flight: object  # Gauge
    rejections: object  # Counter{reason}
    aborts: object  # Counter{reason}

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


def create_metrics() -> Metrics:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

    from .._version import WHISPER_CPP_VERSION, __version__

    registry = CollectorRegistry()
    info = Info("whispercli_build", "Versions of whispercli and whisper.cpp", registry=registry)
    info.info({"version": __version__, "whisper_cpp": WHISPER_CPP_VERSION})
    return Metrics(
        registry=registry,
        requests=Counter("whispercli_requests", "HTTP requests answered, by endpoint and status",
                         ["endpoint", "status"], registry=registry),
        latency=Histogram("whispercli_request_duration_seconds", "Time from the request to the answer",
                          ["endpoint"], buckets=LATENCY_BUCKETS_S, registry=registry),
        queue_wait=Histogram("whispercli_queue_wait_seconds", "Time a request waited for a worker",
                             buckets=QUEUE_BUCKETS_S, registry=registry),
        inference=Histogram("whispercli_inference_seconds", "Time a worker spent on one request "
                            "(decode and transcribe)", buckets=LATENCY_BUCKETS_S, registry=registry),
        audio_seconds=Counter("whispercli_audio_seconds", "Seconds of audio transcribed", registry=registry),
        queue_depth=Gauge("whispercli_queue_depth", "Requests waiting for a worker", registry=registry),
        in_flight=Gauge("whispercli_in_flight", "Requests being transcribed", registry=registry),
        rejections=Counter("whispercli_rejections", "Requests refused before any work, by reason",
                           ["reason"], registry=registry),
        aborts=Counter("whispercli_aborts", "Transcriptions stopped before their end, by reason",
                       ["reason"], registry=registry),
    )
