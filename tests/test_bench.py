"""``whispercli bench`` against whisper.cpp's own ``whisper-bench`` built from the same source.

Real model (tiny.en), real whisper-bench, real audio (jfk.wav); 2 threads.  No test
asserts a timing: shapes, fields, run counts and text only (how close our figures are
to whisper-bench's is benchmarks/bench_agreement.py).  ``-w 2`` takes over a minute per
program on 2 cores, so its structure test runs only with ``WHISPERCLI_SLOW_TESTS=1``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


THREADS = "2"


def whispercli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "whispercli", "bench", *args], capture_output=True, text=True)


def popen_whispercli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "whispercli", "bench", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def whisper_bench(whisper_bin_dir) -> Path:
    exe = whisper_bin_dir / "whisper-bench"
    assert exe.is_file()
    return exe


def run_whisper_bench(exe: Path, model: Path) -> dict[str, tuple[float, int]]:
    """whisper-bench -w 0; ``{phase: (ms per run, runs)}`` read like bench-all.sh (awk field 11)."""
    proc = subprocess.run([str(exe), "-m", str(model), "-t", THREADS], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == ""
    figures = {}
    for line in proc.stderr.splitlines():
        if line.startswith("whisper_print_timings:") and " runs (" in line:
            fields = line.split()
            figures[fields[1]] = (float(fields[10]), int(fields[7]))
    return figures


@pytest.fixture(scope="module")
def ours(tiny_en_path):
    """Our -w 0 on tiny.en, 2 threads (a BenchReport, with system info)."""
    from whispercli import bench

    events = []
    report = bench.run([tiny_en_path], [int(THREADS)], what=0, on_progress=events.append)
    return report, events


@pytest.fixture(scope="module")
def reference(whisper_bench, tiny_en_path):
    return run_whisper_bench(whisper_bench, tiny_en_path)


def shape(text: str) -> list[str]:
    """Line structure: every number (with printf's padding around it) replaced by ' # '."""
    number = re.compile(r"\s*(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])\s*")
    return [" ".join(number.sub(" # ", line).split()) for line in text.splitlines() if line.strip()]


# --------------------------------------------------------------------------- -w 0


def test_whisper_record_fields(ours, tiny_en_path):
    from whispercli.bench import WHISPER_RUNS, WhisperBench

    report, events = ours
    assert report.what == 0 and len(report.results) == 1
    r = report.results[0]
    assert isinstance(r, WhisperBench) and r.kind == "whisper"
    assert (r.model, r.model_type, r.model_path) == ("tiny.en", "tiny", str(tiny_en_path))
    assert (r.threads, r.flash_attn, r.use_gpu, r.repeat) == (2, True, True, 1)
    assert r.runs == WHISPER_RUNS == {"encode": 1, "decode": 256, "batchd": 320, "prompt": 4096}
    for stat in (r.encode_ms, r.decode_ms, r.batchd_ms, r.prompt_ms, r.total_ms):
        assert stat.n == 1 and stat.median == stat.min == stat.max and stat.stdev == 0.0
    assert r.encode_ms.median > 0 and r.decode_ms.median > 0 and r.batchd_ms.median > 0 and r.prompt_ms.median > 0
    assert r.load_ms > 0
    # The wall-clock of the measured run covers every phase (per-run ms x runs).
    phases = sum(getattr(r, f"{p}_ms").median * n for p, n in r.runs.items())
    assert r.total_ms.median >= phases * 0.99
    # Progress: 2 warm-ups + 1 run, the last event carries the result.
    assert events[-1].completed == events[-1].total == 3 and events[-1].finished is r
    assert [e.finished for e in events[:-1]] == [None] * (len(events) - 1)


def test_system_info(ours):
    from whispercli import _native

    s = ours[0].system
    assert s.whisper_cpp == _native.version() == "1.9.1" and s.whispercli == "0.1.0"
    assert s.cpu and s.os and s.logical_cores >= 1
    assert s.system_info == _native.system_info().strip()
    assert s.backends["WHISPER"]["COREML"] == "0"
    assert all(s.system_info.count(f"{f} = 1") for f in s.features)
    assert ("AVX2" in s.config.split()) == ("AVX2 = 1" in s.system_info)


@pytest.mark.slow
def test_counts_the_runs_whisper_bench_counts(ours, reference):
    """Same calls as whisper-bench: it reports the run counts we claim, and the same phases ran.

    (How close the figures are is a timing question: benchmarks/bench_agreement.py.)
    """
    r = ours[0].results[0]
    assert {p: reference[p][1] for p in ("encode", "decode", "batchd", "prompt")} == r.runs
    assert all(reference[p][0] > 0 for p in r.runs)


def test_markdown_row_is_bench_all_format(ours):
    from whispercli.cli.bench import format_markdown

    report = ours[0]
    lines = format_markdown(report).splitlines()
    assert len(lines) == 3
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]
    assert all(len(row) == 11 for row in rows)
    assert rows[0] == ["CPU", "OS", "Config", "Model", "Th", "FA", "Enc.", "Dec.", "Bch5", "PP", "Commit"]
    assert rows[1] == ["---"] * 11
    cpu, os_, config, model, th, fa, enc, dec, bch5, pp, commit = rows[2]
    r = report.results[0]
    assert (cpu, os_, config, model, th, fa, commit) == (
        report.system.cpu, report.system.os, report.system.config, "tiny.en", "2", "1", "1.9.1")
    assert [enc, dec, bch5, pp] == [f"{s.median:.2f}" for s in (r.encode_ms, r.decode_ms, r.batchd_ms, r.prompt_ms)]
    # bench-all.sh's printf widths.
    assert lines[0] == ("|    CPU |     OS |           Config |         Model |  Th |  FA |    Enc. |    Dec. |"
                        "    Bch5 |      PP |  Commit |")


@pytest.mark.slow
def test_cli_markdown_end_to_end(tiny_en_path):
    proc = whispercli("-m", str(tiny_en_path), "-t", THREADS, "-nfa", "--markdown")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 3
    row = [c.strip() for c in lines[2].strip().strip("|").split("|")]
    assert len(row) == 11 and row[3:6] == ["tiny.en", "2", "0"]
    assert all(float(x) > 0 for x in row[6:10])
    # stderr is not a terminal: one line per configuration done, nothing else.
    assert proc.stderr.splitlines() == [
        line for line in proc.stderr.splitlines() if line.startswith("whispercli bench: tiny.en, 2 threads, fa 0:")]
    assert len(proc.stderr.splitlines()) == 1


def test_w0_json_and_csv_shapes(ours):
    from whispercli.cli.bench import format_csv, format_json

    report = ours[0]
    doc = json.loads(format_json(report))
    assert doc["what"] == 0 and doc["what_name"] == "whisper"
    assert {"cpu", "os", "features", "config", "whisper_cpp", "whispercli", "system_info"} <= set(doc["system"])
    (res,) = doc["results"]
    assert res["encode_ms"]["median"] == report.results[0].encode_ms.median
    assert res["runs"] == {"encode": 1, "decode": 256, "batchd": 320, "prompt": 4096}
    rows = list(csv.DictReader(io.StringIO(format_csv(report))))
    assert len(rows) == 1
    assert float(rows[0]["decode_ms"]) == pytest.approx(report.results[0].decode_ms.median)
    assert rows[0]["decode_runs"] == "256" and rows[0]["model"] == "tiny.en" and rows[0]["whisper_cpp"] == "1.9.1"


# --------------------------------------------------------------------------- -w 1 / -w 2


def _same_structure(whisper_bench: Path, what: str) -> None:
    ours = popen_whispercli("-w", what, "-t", THREADS)
    ref = subprocess.Popen([str(whisper_bench), "-w", what, "-t", THREADS], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    ours_out, ours_err = ours.communicate()
    ref_out, ref_err = ref.communicate()
    assert ours.returncode == 0, ours_err
    assert ref.returncode == 0 and ref_out == ""
    assert ours_out.strip(), "the results go to stdout"
    assert shape(ours_out) == shape(ref_err)


@pytest.mark.slow
def test_memcpy_has_whisper_bench_structure(whisper_bench):
    """-w 1: the same lines as whisper-bench (run side by side: only the structure is compared)."""
    _same_structure(whisper_bench, "1")


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("WHISPERCLI_SLOW_TESTS", "") in ("", "0"),
                    reason="-w 2 takes over a minute on 2 cores; set WHISPERCLI_SLOW_TESTS=1")
def test_mul_mat_has_whisper_bench_structure(whisper_bench):
    _same_structure(whisper_bench, "2")


def test_memcpy_and_mul_mat_parsers():
    from whispercli.bench import parse_memcpy, parse_mul_mat

    rows = parse_memcpy("memcpy:   12.12 GB/s (heat-up)\nmemcpy:   11.51 GB/s ( 1 thread)\n"
                        "memcpy:    8.28 GB/s ( 2 thread)\nsum:    -2047997668.000000\n")
    assert [(r.label, r.threads, r.gb_per_s) for r in rows] == [
        ("heat-up", None, 12.12), ("1 thread", 1, 11.51), ("2 thread", 2, 8.28)]
    cells = parse_mul_mat(
        "  64 x   64: Q4_0     0.5 GFLOPS (128 runs) | Q4_1     0.4 GFLOPS (128 runs)\n"
        "  64 x   64: Q5_0     0.4 GFLOPS (128 runs) | Q5_1     0.4 GFLOPS (128 runs)"
        " | Q8_0     0.6 GFLOPS (128 runs)\n"
        "  64 x   64: F16      0.6 GFLOPS (128 runs) | F32      0.6 GFLOPS (128 runs)\n")
    assert [c.type for c in cells] == ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "F16", "F32"]
    assert cells[0].n == 64 and cells[0].gflops == 0.5 and cells[0].runs == 128


# --------------------------------------------------------------------------- --audio


def test_audio_json_repeat(tiny_en_path, jfk_wav):
    proc = whispercli("-m", str(tiny_en_path), "-t", THREADS, "--audio", str(jfk_wav), "--repeat", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    (r,) = doc["results"]
    assert r["kind"] == "audio" and r["beam_size"] == 5 and r["best_of"] == 5 and r["language"] == "en"
    assert r["audio"] == "jfk.wav" and r["audio_ms"] == 11000.0 and r["audio_load_ms"] > 0 and r["load_ms"] > 0
    assert "country" in r["text"]
    assert len(r["total_ms"]["values"]) == 2 and r["total_ms"]["min"] <= r["total_ms"]["median"] <= r["total_ms"]["max"]
    assert r["rtf"]["median"] == pytest.approx(r["total_ms"]["median"] / 11000.0)
    assert r["rtf"]["median"] > 0
    assert r["mel_ms"]["median"] > 0
    assert r["encode"]["runs"]["median"] >= 1 and r["encode"]["per_run_ms"]["median"] > 0
    assert r["batchd"]["runs"]["median"] > 0  # beam search decodes its beams in batches
    for phase in ("encode", "decode", "batchd"):
        p = r[phase]
        assert p["total_ms"]["values"] == pytest.approx(
            [ms * n for ms, n in zip(p["per_run_ms"]["values"], p["runs"]["values"])])
    assert r["total_ms"]["median"] >= r["encode"]["total_ms"]["median"]
    assert r["fallbacks_p"] is not None and r["fallbacks_h"] is not None
    assert len(proc.stderr.splitlines()) == 1 and "RTF" in proc.stderr


def test_thread_sweep_csv(tiny_en_path, jfk_wav):
    proc = whispercli("-m", str(tiny_en_path), "-t", "1,2", "--audio", str(jfk_wav), "-bs", "1", "--csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [row["threads"] for row in rows] == ["1", "2"]
    for row in rows:
        assert row["model"] == "tiny.en" and row["beam_size"] == "1" and "country" in row["text"]
        assert float(row["rtf"]) > 0 and float(row["encode_ms"]) > 0 and row["cpu"]
    assert len(proc.stderr.splitlines()) == 2


def test_library_audio_from_samples(tiny_en, jfk_samples, tiny_en_path):
    from whispercli.bench import bench_audio

    r = bench_audio(tiny_en_path, jfk_samples, threads=int(THREADS), beam_size=1)
    assert r.audio == "<samples>" and r.audio_load_ms is None and "country" in r.text
    assert r.prompt.runs.median == 0 and r.prompt.total_ms.median == 0  # no prompt in one window


# --------------------------------------------------------------------------- errors and startup


def test_missing_model_exits_3_with_one_line(tmp_path):
    proc = whispercli("-m", str(tmp_path / "missing.bin"), "-t", THREADS)
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [f"whispercli: error: model file not found: '{tmp_path / 'missing.bin'}'"]


def test_unknown_benchmark_exits_2_with_one_line():
    proc = whispercli("-w", "7")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "whispercli: error: unknown benchmark: 7 (-w 0 = whisper, 1 = memcpy, 2 = ggml_mul_mat)"]


@pytest.mark.parametrize("threads", ["a,b", "0", "2,,x"])
def test_bad_thread_list_exits_2(threads, tiny_en_path):
    proc = whispercli("-m", str(tiny_en_path), "-t", threads)
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and "thread count" in proc.stderr


@pytest.mark.parametrize("args", [["--json", "--csv"], ["-w", "1", "--markdown"], ["-w", "2", "--audio", "x.wav"],
                                  ["--repeat", "0"], ["-bs", "0", "--audio", "x.wav"],
                                  ["-l", "xx", "--audio", "x.wav"]])
def test_bad_combinations_exit_2(args, tiny_en_path):
    proc = whispercli("-m", str(tiny_en_path), *args)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("whispercli: error: ")


def test_import_is_light():
    code = ("import sys\nimport whispercli.cli.bench, whispercli.bench\n"
            "print([m for m in ('numpy', 'whispercli._native', 'whispercli._whisper_cffi', 'rich') "
            "if m in sys.modules])\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
