"""The compiled binding: version stamp, cdef honesty, defaults, log routing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from helpers import ROOT, load_build_native

import whispercli
from whispercli import _native
from whispercli.params import FullParams, SamplingStrategy


def test_module_is_stamped_with_package_version():
    assert _native.ffi.string(_native.lib.WHISPERCLI_PACKAGE_VERSION).decode() == whispercli.__version__
    assert _native.version() == whispercli.WHISPER_CPP_VERSION


def _compile(src: Path, *flags: str) -> subprocess.CompletedProcess:
    build = load_build_native()
    includes = [f"-I{d}" for d in build.include_dirs(build.source_dir())]
    cxx = shutil.which("c++") or shutil.which("g++")
    return subprocess.run([cxx, "-std=c++17", *(flags or ["-fsyntax-only"]), *includes, str(src)],
                          capture_output=True, text=True)


def _without_cffi_callbacks(functions: str) -> str:
    """The cdef minus the extern "Python" callbacks, which cffi itself defines ("Python+C" stays: a header declares it)."""
    return "\n".join(line for line in functions.splitlines() if 'extern "Python" ' not in line)


def _compile_checks(cdef_types: str, cdef_functions: str, tmp_path: Path) -> subprocess.CompletedProcess:
    from cffi import FFI

    cdef = load_build_native().load_cdef()
    ffi = FFI()
    ffi.cdef(cdef_types + cdef_functions)
    src = tmp_path / "check.cpp"
    src.write_text(cdef.INCLUDES + cdef.signature_checks(ffi))
    return _compile(src)


def test_declared_signatures_match_the_headers(tmp_path):
    cdef = load_build_native().load_cdef()
    proc = _compile_checks(cdef.TYPES, _without_cffi_callbacks(cdef.FUNCTIONS), tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_every_shim_is_checked():
    """Each function native/whispercli_shims.h declares is in the cdef, and so under a static_assert."""
    from cffi import FFI

    cdef = load_build_native().load_cdef()
    header = (ROOT / "native" / "whispercli_shims.h").read_text()
    declared = set(re.findall(r"\b(_?whispercli_\w+)\s*\(", header))
    ffi = FFI()
    ffi.cdef(cdef.TYPES + cdef.FUNCTIONS)
    checked = set(re.findall(r"cdef of (\w+) does not match whispercli_shims.h", cdef.signature_checks(ffi)))
    assert len(declared) >= 10 and declared == checked


@pytest.mark.parametrize("old, new, name, header", [
    ("int whisper_lang_max_id(void);", "long whisper_lang_max_id(void);", "whisper_lang_max_id", "whisper.h"),
    ("int whispercli_grammar_rule_id(struct whispercli_grammar * grammar, const char * rule);",
     "int whispercli_grammar_rule_id(struct whispercli_grammar * grammar, char * rule);",
     "whispercli_grammar_rule_id", "whispercli_shims.h"),
    ('extern "Python+C" void _whispercli_log(enum ggml_log_level, const char *, void *);',
     'extern "Python+C" void _whispercli_log(int, const char *, void *);', "_whispercli_log", "whispercli_shims.h"),
])
def test_a_drifted_signature_is_caught(tmp_path, old, new, name, header):
    cdef = load_build_native().load_cdef()
    drifted = cdef.FUNCTIONS.replace(old, new)
    assert drifted != cdef.FUNCTIONS
    proc = _compile_checks(cdef.TYPES, _without_cffi_callbacks(drifted), tmp_path)
    assert proc.returncode != 0
    assert f"cdef of {name} does not match {header}" in proc.stderr


@pytest.mark.parametrize("source", sorted(p.name for p in (ROOT / "native").glob("*.cpp")))
def test_native_sources_compile_without_warnings(source):
    # A full compile (not -fsyntax-only): some warnings, such as unused functions, come later.
    proc = _compile(ROOT / "native" / source, "-c", "-o", os.devnull, "-Wall", "-Wextra", "-Werror")
    assert proc.returncode == 0, proc.stderr


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
    # every FullParams field is covered by the comparison, but `exact`: the engine's numerics, not a
    # whisper_full_params field (patch 0007's switch, set on the state)
    assert set(theirs) == {f for f in FullParams.__dataclass_fields__} - {"exact"}


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
