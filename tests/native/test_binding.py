"""The compiled binding: version stamp, cdef honesty, defaults, log routing."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from helpers import ROOT

import whispercli
from whispercli import _native
from whispercli.params import FullParams, SamplingStrategy


def test_module_is_stamped_with_package_version():
    assert _native.ffi.string(_native.lib.WHISPERCLI_PACKAGE_VERSION).decode() == whispercli.__version__
    assert _native.version() == whispercli.WHISPER_CPP_VERSION


def _load_build_native():
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_native", ROOT / "build_native.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _compile_checks(cdef_types: str, cdef_functions: str, tmp_path: Path) -> subprocess.CompletedProcess:
    from cffi import FFI

    build = _load_build_native()
    cdef = build.load_cdef()
    ffi = FFI()
    ffi.cdef(cdef_types + cdef_functions)
    src = tmp_path / "check.cpp"
    src.write_text(cdef.INCLUDES + cdef.signature_checks(ffi))
    inc = build.source_dir()
    cxx = shutil.which("c++") or shutil.which("g++")
    return subprocess.run(
        [cxx, "-std=c++17", "-fsyntax-only", f"-I{inc / 'include'}", f"-I{inc / 'ggml' / 'include'}",
         f"-I{inc / 'examples'}", str(src)],
        capture_output=True, text=True,
    )


def test_declared_signatures_match_whisper_h(tmp_path):
    cdef = _load_build_native().load_cdef()
    functions = "\n".join(line for line in cdef.FUNCTIONS.splitlines() if "extern \"Python\"" not in line)
    proc = _compile_checks(cdef.TYPES, functions, tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_a_drifted_signature_is_caught(tmp_path):
    cdef = _load_build_native().load_cdef()
    drifted = cdef.FUNCTIONS.replace("int whisper_lang_max_id(void);", "long whisper_lang_max_id(void);")
    assert drifted != cdef.FUNCTIONS
    functions = "\n".join(line for line in drifted.splitlines() if "extern \"Python\"" not in line)
    proc = _compile_checks(cdef.TYPES, functions, tmp_path)
    assert proc.returncode != 0
    assert "cdef of whisper_lang_max_id does not match whisper.h" in proc.stderr


@pytest.mark.parametrize("strategy", list(SamplingStrategy))
def test_full_params_defaults_equal_libwhisper(strategy):
    ours = FullParams.for_strategy(strategy)
    theirs = _native.default_full_params(strategy)
    for name, value in theirs.items():
        mine = getattr(ours, name)
        if isinstance(value, float):
            assert np.float32(mine) == np.float32(value), name
        else:
            assert mine == value, name
    # every FullParams field is covered by the comparison
    assert set(theirs) == {f for f in FullParams.__dataclass_fields__}


def test_stale_build_fails_with_rebuild_message(tmp_path):
    """A package version that does not match the .so's stamp is refused at import."""
    pkg = tmp_path / "whispercli"
    shutil.copytree(ROOT / "whispercli", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / "_version.py").write_text('__version__ = "9.9.9"\nWHISPER_CPP_VERSION = "1.9.1"\n')
    so = next(Path(_native.__file__).parent.glob("_whisper_cffi*.so"))
    shutil.copy(so, pkg / so.name)
    proc = subprocess.run(
        [sys.executable, "-c", "import whispercli._native"], cwd=tmp_path, capture_output=True, text=True,
    )
    assert proc.returncode != 0
    assert "built for whispercli 0.1.0, this is 9.9.9" in proc.stderr
    assert "rebuild it with" in proc.stderr


def test_whisper_log_goes_to_logging_and_is_silent_by_default(tiny_en_path, caplog):
    code = textwrap.dedent(f"""
        from whispercli import Model
        Model.load({str(tiny_en_path)!r}).close()
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""

    import logging

    from whispercli import Model

    with caplog.at_level(logging.INFO, logger="whispercli.whisper"):
        Model.load(tiny_en_path).close()
    messages = [r.getMessage() for r in caplog.records if r.name == "whispercli.whisper"]
    assert any(m.startswith("whisper_model_load: n_vocab") for m in messages), messages
    assert all("\n" not in m for m in messages)


def test_languages_table():
    langs = _native.languages()
    assert langs[0] == ("en", "english")
    assert ("de", "german") in langs and len(langs) == 100
