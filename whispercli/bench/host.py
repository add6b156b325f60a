"""The machine and the build a benchmark ran on: CPU, OS, cores, libwhisper's backends."""

from __future__ import annotations

import os
import platform
import re

from .._version import __version__
from .records import SystemInfo

_SYSINFO_ITEM = re.compile(r"^\s*(?:(?P<backend>[^:|=]+?)\s*:\s*)?(?P<key>[^:|=]+?)\s*=\s*(?P<value>\S+)\s*$")


def parse_system_info(text: str) -> dict[str, dict[str, str]]:
    """``"WHISPER : COREML = 0 | CPU : AVX2 = 1 | ..."`` -> ``{"WHISPER": {...}, "CPU": {...}}``."""
    out: dict[str, dict[str, str]] = {}
    backend = ""
    for item in text.split("|"):
        m = _SYSINFO_ITEM.match(item)
        if not m:
            continue
        if m.group("backend"):
            backend = m.group("backend").strip()
        out.setdefault(backend, {})[m.group("key").strip()] = m.group("value")
    return out


def bench_config(system_info: str) -> str:
    """bench-all.sh's Config column, by its own substring tests."""
    config = []
    for name, needles in (
        ("AVX2", ("AVX2 = 1",)),
        ("NEON", ("NEON = 1",)),
        ("BLAS", ("BLAS = 1",)),
        ("COREML", ("COREML = 1",)),
        ("CUDA", ("CUDA = 1", "CUDA : ARCHS")),
        ("MTL", ("MTL = 1", "MTL : EMBED_LIBRARY = 1")),
    ):
        if any(n in system_info for n in needles):
            config.append(name)
    return " ".join(config)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fp:
            info = fp.read()
    except OSError:
        info = ""
    for key in ("model name", "Hardware", "Model", "cpu model", "Processor", "cpu"):
        m = re.search(rf"^{key}\s*:\s*(.+)$", info, re.MULTILINE)
        if m and m.group(1).strip():
            return m.group(1).strip()
    if platform.system() == "Darwin":
        import subprocess

        try:
            out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                 timeout=5).stdout.strip()
            if out:
                return out
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown"


def _physical_cores() -> int | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fp:
            info = fp.read()
    except OSError:
        return None
    cores = set()
    for block in info.split("\n\n"):
        phys = re.search(r"^physical id\s*:\s*(\d+)", block, re.MULTILINE)
        core = re.search(r"^core id\s*:\s*(\d+)", block, re.MULTILINE)
        if phys and core:
            cores.add((phys.group(1), core.group(1)))
    return len(cores) or None


def _os_name() -> str:
    system = platform.system()
    if system == "Linux":
        try:
            with open("/etc/os-release", encoding="utf-8") as fp:
                m = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', fp.read(), re.MULTILINE)
            if m and m.group(1):
                return m.group(1)
        except OSError:
            pass
    if system == "Darwin":
        return f"macOS {platform.mac_ver()[0]}".strip()
    return f"{system} {platform.release()}".strip() or "unknown"


def system_info() -> SystemInfo:
    """The machine and the build: what a benchmark result needs to be comparable."""
    from .. import _native

    raw = _native.system_info().strip()
    backends = parse_system_info(raw)
    features = tuple(key for flags in backends.values() for key, value in flags.items() if value == "1")
    return SystemInfo(
        cpu=_cpu_model(),
        os=_os_name(),
        machine=platform.machine(),
        logical_cores=os.cpu_count() or 1,
        physical_cores=_physical_cores(),
        backends=backends,
        features=features,
        config=bench_config(raw),
        system_info=raw,
        whisper_cpp=_native.version(),
        whisper_cpp_build=_native.build_info(),
        whispercli=__version__,
        python=platform.python_version(),
    )
