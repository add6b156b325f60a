"""Limits and operations: API key, upload cap, full queue, timeout, disconnects, /load, paths, metrics."""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers import JFK_WORDS, words
from serverkit import curl, error_of


def test_api_key(start_server, jfk_wav):
    server = start_server(env={"WHISPERCLI_API_KEY": "s3cret"})
    url = f"{server.url}/v1/audio/transcriptions"
    for headers in ([], ["-H", "Authorization: Bearer wrong"], ["-H", "Authorization: s3cret"]):
        status, body, _ = curl(url, *headers, "-F", f"file=@{jfk_wav}")
        assert status == 401 and error_of(body)["code"] == "invalid_api_key"
    status, body, _ = curl(url, "-H", "Authorization: Bearer s3cret", "-F", f"file=@{jfk_wav}")
    assert status == 200 and words(json.loads(body)["text"]) == JFK_WORDS
    assert curl(f"{server.url}/health")[0] == 200  # a load balancer's probe needs no key
    assert curl(f"{server.url}/metrics")[0] == 200
    openai = pytest.importorskip("openai")
    with openai.OpenAI(base_url=f"{url.rsplit('/audio', 1)[0]}", api_key="wrong", max_retries=2) as client:
        with pytest.raises(openai.AuthenticationError), open(jfk_wav, "rb") as fp:
            client.audio.transcriptions.create(model="whisper-1", file=fp)
    assert server.metrics()['whispercli_rejections_total{reason="unauthorized"}'] == 4.0


def test_upload_cap_is_a_413_counted_as_it_streams(start_server, jfk_wav):
    server = start_server("--max-upload-mb", "0.1")
    # with a Content-Length (refused before the body is read) ...
    status, body, _ = curl(f"{server.url}/v1/audio/transcriptions", "-F", f"file=@{jfk_wav}")
    assert status == 413 and error_of(body)["code"] == "file_too_large"
    # ... and chunked, without one (counted while it arrives)
    status, body, _ = curl(f"{server.url}/v1/audio/transcriptions", "-H", "Transfer-Encoding: chunked",
                           "-F", f"file=@{jfk_wav}")
    assert status == 413 and error_of(body)["code"] == "file_too_large"
    status, body, _ = curl(f"{server.url}/inference", "-H", "Expect: 100-continue", "-F", f"file=@{jfk_wav}")
    assert status == 413 and "limit" in json.loads(body)["error"]
    assert curl(f"{server.url}/health")[0] == 200


@pytest.mark.slow
def test_a_full_queue_is_a_503_with_retry_after(start_server, long_wav, jfk_wav, tmp_path):
    server = start_server("--workers", "1", "--max-queue", "0")
    url = f"{server.url}/v1/audio/transcriptions"
    with ThreadPoolExecutor(1) as pool:
        busy = pool.submit(curl, url, "-F", f"file=@{long_wav}", "-F", "response_format=text")
        server.wait_until(lambda m: m["whispercli_in_flight"] >= 1, 60)
        status, body, _ = curl(url, "-D", str(tmp_path / "headers"), "-F", f"file=@{jfk_wav}")
        assert status == 503 and error_of(body)["code"] == "server_busy"
        assert "retry-after: 1" in (tmp_path / "headers").read_text().lower()
        assert busy.result()[0] == 200
    assert server.metrics()['whispercli_rejections_total{reason="queue_full"}'] == 1.0


@pytest.mark.slow
def test_timeout_aborts_the_computation_with_a_504(start_server, long_wav, jfk_wav):
    server = start_server("--request-timeout", "1.5")
    t0 = time.monotonic()
    status, body, _ = curl(f"{server.url}/v1/audio/transcriptions", "-F", f"file=@{long_wav}")
    assert status == 504 and error_of(body)["code"] == "timeout"
    assert time.monotonic() - t0 < 20  # aborted, not run to the end
    server.wait_until(lambda m: m["whispercli_in_flight"] == 0, 20)  # the worker is free again
    assert server.metrics()['whispercli_aborts_total{reason="timeout"}'] == 1


@pytest.mark.slow
def test_a_client_that_disconnects_aborts_its_computation(server, long_wav):
    before = server.metrics().get('whispercli_requests_total{endpoint="/v1/audio/transcriptions",status="499"}', 0)
    server.post_then_hang_up(long_wav)
    server.wait_until(lambda m: m["whispercli_in_flight"] == 0, 20, "the computation went on without its client")
    after = server.metrics()['whispercli_requests_total{endpoint="/v1/audio/transcriptions",status="499"}']
    assert after == before + 1
    assert server.metrics()['whispercli_aborts_total{reason="client_closed_request"}'] >= 1


def test_load_names_from_the_cache_only_and_a_failed_load_keeps_the_old_model(start_server, tiny_en_path,
                                                                              tmp_path, jfk_wav):
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(tiny_en_path, cache / "ggml-tiny.en.bin")
    (cache / "ggml-broken.bin").write_bytes(b"lmgg" + b"\0" * 4096)
    server = start_server("--allow-load", model="tiny.en", env={"WHISPERCLI_MODELS_DIR": str(cache)})
    url = f"{server.url}/load"
    status, body, _ = curl(url, "-F", f"model={tiny_en_path}")
    assert status == 400 and "not a path" in json.loads(body)["error"]
    status, body, _ = curl(url, "-F", "model=../etc/passwd")
    assert status == 400
    status, body, _ = curl(url, "-F", "model=base.en")
    assert status == 404 and "not in the model cache" in json.loads(body)["error"]
    status, body, _ = curl(url, "-F", "model=broken")
    assert status == 422
    status, body, _ = curl(f"{server.url}/inference", "-F", f"file=@{jfk_wav}")  # the old model still serves
    assert status == 200 and words(json.loads(body)["text"]) == JFK_WORDS
    status, body, _ = curl(url, "-F", "model=tiny.en")
    assert (status, body) == (200, b"Load was successful!")
    assert curl(f"{server.url}/v1/models")[1].count(b'"tiny.en"') == 1
    status, body, _ = curl(f"{server.url}/inference", "-F", f"file=@{jfk_wav}")
    assert status == 200 and words(json.loads(body)["text"]) == JFK_WORDS


def test_health_is_a_503_while_a_load_runs(start_server, tiny_en_path, base_path, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "ggml-tiny.en.bin").symlink_to(tiny_en_path)
    (cache / "ggml-base.bin").symlink_to(base_path)
    server = start_server("--allow-load", model="tiny.en", env={"WHISPERCLI_MODELS_DIR": str(cache)})
    seen: list[tuple[int, bytes]] = []
    with ThreadPoolExecutor(1) as pool:
        loading = pool.submit(curl, f"{server.url}/load", "-F", "model=base")
        while not loading.done():
            seen.append(server.get("/health")[:2])
        assert loading.result()[:2] == (200, b"Load was successful!")
    # whisper-server's answer while it loads (server.cpp), then ok again
    assert (503, b'{"status":"loading model"}') in seen
    assert {status for status, _ in seen} <= {200, 503}
    assert server.get("/health")[:2] == (200, b'{"status":"ok"}')
    assert b'"base"' in curl(f"{server.url}/v1/models")[1]


def test_request_and_inference_paths(start_server, jfk_wav, cli_outputs):
    server = start_server("--request-path", "/whisper", "--inference-path", "/asr")
    status, body, _ = curl(f"{server.url}/whisper/asr", "-F", f"file=@{jfk_wav}", "-F", "response_format=srt")
    assert status == 200 and body == cli_outputs("-ml", "60")["srt"]
    assert curl(f"{server.url}/inference", "-F", f"file=@{jfk_wav}")[0] == 404
    assert curl(f"{server.url}/whisper/v1/models")[0] == 200


def test_metrics_count_what_was_sent(start_server, jfk_wav):
    server = start_server()
    for _ in range(2):
        assert curl(f"{server.url}/inference", "-F", f"file=@{jfk_wav}")[0] == 200
    assert curl(f"{server.url}/inference", "-F", "response_format=json")[0] == 400
    m = server.metrics()
    assert m['whispercli_requests_total{endpoint="/inference",status="200"}'] == 2
    assert m['whispercli_requests_total{endpoint="/inference",status="400"}'] == 1
    assert m["whispercli_audio_seconds_total"] == pytest.approx(22.0)
    assert m["whispercli_inference_seconds_count"] == 2 and m["whispercli_queue_wait_seconds_count"] == 2
    assert m['whispercli_request_duration_seconds_count{endpoint="/inference"}'] == 3
    assert m["whispercli_queue_depth"] == 0 and m["whispercli_in_flight"] == 0
    assert any(k.startswith("whispercli_build_info{") for k in m)


@pytest.mark.slow
def test_a_queued_request_whose_client_left_leaves_the_queue(start_server, long_wav, jfk_wav):
    server = start_server("--workers", "1", "--max-queue", "4")
    url = f"{server.url}/v1/audio/transcriptions"
    with ThreadPoolExecutor(1) as pool:
        busy = pool.submit(curl, url, "-F", f"file=@{long_wav}", "-F", "response_format=text")
        server.wait_until(lambda m: m["whispercli_in_flight"] >= 1, 60)
        server.post_then_hang_up(jfk_wav)  # waits in the queue, then its client leaves
        server.wait_until(lambda m: m["whispercli_queue_depth"] == 0, 10, "an abandoned request stayed queued")
        assert server.metrics()["whispercli_in_flight"] == 1  # the first one still runs
        assert busy.result()[0] == 200
    m = server.metrics()
    assert m["whispercli_inference_seconds_count"] == 1  # the abandoned one never ran
    assert m['whispercli_requests_total{endpoint="/v1/audio/transcriptions",status="499"}'] == 1
