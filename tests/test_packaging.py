"""Installing as a user would: ``pip install .`` (not editable) into a fresh venv, and a wheel.

Both must be quiet (no setuptools deprecation warnings), carry the man pages and the
licence, and give a ``whispercli`` that runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from whispercli._version import __version__

ROOT = Path(__file__).resolve().parent.parent
MAN_PAGES = sorted(p.name for p in (ROOT / "man").glob("*.1"))
NOISE = re.compile(r"deprecat|BuildBackendWarning|SetuptoolsWarning", re.IGNORECASE)


def _build_env() -> dict[str, str]:
    env = dict(os.environ)
    if shutil.which("ccache"):  # a fresh build directory compiles whisper.cpp again: let ccache make it quick
        env.setdefault("WHISPERCLI_CMAKE_ARGS",
                       "-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
    return env


def _run(*cmd, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("venv")
    _run(sys.executable, "-m", "venv", path)
    return path


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_pip_install_dot_is_quiet_and_complete(venv):
    proc = _run(venv / "bin" / "python", "-m", "pip", "install", "-q", ROOT, cwd=ROOT, env=_build_env())
    output = proc.stdout + proc.stderr
    assert not NOISE.search(output), output
    # Installed for real, not pointing back at the source tree.
    where = _run(venv / "bin" / "python", "-c", "import whispercli; print(whispercli.__file__)", cwd=venv)
    assert Path(where.stdout.strip()).is_relative_to(venv)
    version = _run(venv / "bin" / "whispercli", "--version", cwd=venv)
    assert version.stdout.splitlines()[0] == f"whispercli {__version__}"
    assert version.stdout.splitlines()[1].startswith("whisper.cpp 1.9.1")
    assert sorted(p.name for p in (venv / "share" / "man" / "man1").glob("*.1")) == MAN_PAGES


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_wheel_has_every_package_the_man_pages_and_the_licence(venv, tmp_path):
    proc = _run(venv / "bin" / "python", "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp_path, ROOT, cwd=ROOT,
                env=_build_env())
    assert not NOISE.search(proc.stdout + proc.stderr), proc.stdout + proc.stderr
    (wheel,) = tmp_path.glob(f"whispercli-{__version__}-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = sorted(str(p.parent.relative_to(ROOT)) for p in (ROOT / "whispercli").rglob("__init__.py"))
    assert all(f"{pkg}/__init__.py" in names for pkg in packages), packages
    assert any(re.fullmatch(r"whispercli/_whisper_cffi.*\.so", n) for n in names)
    data = f"whispercli-{__version__}.data/data/share/man/man1/"
    assert sorted(n.removeprefix(data) for n in names if n.startswith(data)) == MAN_PAGES
    dist_info = f"whispercli-{__version__}.dist-info/"
    assert f"{dist_info}licenses/LICENSE" in names
    metadata = zipfile.ZipFile(wheel).read(f"{dist_info}METADATA").decode()
    assert "License-Expression: MIT" in metadata.splitlines()
