"""build_native.py: the pinned source fetch refuses bad input and never leaves half a tree."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import ROOT, load_build_native


@pytest.fixture(scope="module")
def build_native():
    return load_build_native("build_native_under_test")


def _pin_dir(tmp_path, **overrides):
    pin = json.loads((ROOT / "whisper.cpp" / "pin.json").read_text())
    pin.update(overrides)
    d = tmp_path / "whisper.cpp"
    d.mkdir()
    (d / "pin.json").write_text(json.dumps(pin))
    (d / "README.md").write_text("pin readme\n")
    return d


def test_integrity_mismatch_is_refused_before_extraction(build_native, tmp_path):
    bad = "sha512-" + "A" * 86 + "=="
    d = _pin_dir(tmp_path, integrity=bad)
    (d / "leftover.txt").write_text("from an interrupted run")
    with pytest.raises(build_native.BuildError, match="integrity mismatch for nodejs-whisper@0.3.1"):
        build_native.populate_pinned_source(d)
    assert sorted(p.name for p in d.iterdir()) == ["README.md", "pin.json"]


def test_pinned_source_populates_once(build_native, tmp_path):
    d = _pin_dir(tmp_path)
    build_native.populate_pinned_source(d)
    assert (d / "include" / "whisper.h").is_file()
    assert (d / "samples" / "jfk.wav").stat().st_size == 352078
    assert (d / "README.md").read_text() == "pin readme\n"  # upstream's README does not replace the pin's
    assert (d / "README.upstream.md").is_file()
    marker = (d / ".populated").stat().st_mtime_ns
    build_native.populate_pinned_source(d)  # complete: nothing fetched again
    assert (d / ".populated").stat().st_mtime_ns == marker


def test_missing_npm_is_a_clear_error(build_native, tmp_path, monkeypatch):
    d = _pin_dir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(build_native.BuildError, match="npm is needed .* or set WHISPER_CPP_DIR"):
        build_native.populate_pinned_source(d)
    assert sorted(p.name for p in d.iterdir()) == ["README.md", "pin.json"]


def test_whisper_cpp_dir_must_be_a_source_tree(build_native, tmp_path, monkeypatch):
    (tmp_path / "include").mkdir()
    monkeypatch.setenv("WHISPER_CPP_DIR", str(tmp_path))
    with pytest.raises(build_native.BuildError, match="is not a whisper.cpp source tree .*src/whisper.cpp"):
        build_native.source_dir()


def test_whisper_cpp_dir_is_used_as_is(build_native, monkeypatch):
    monkeypatch.setenv("WHISPER_CPP_DIR", str(ROOT / "whisper.cpp"))
    assert build_native.source_dir() == (ROOT / "whisper.cpp").resolve()


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, ["-DGGML_NATIVE=ON", "-DGGML_OPENMP=ON"]),
        ({"WHISPERCLI_NATIVE": "0"}, ["-DGGML_NATIVE=OFF"]),
        ({"WHISPERCLI_OPENMP": "off"}, ["-DGGML_OPENMP=OFF"]),
        ({"WHISPERCLI_OPENBLAS": "1"}, ["-DGGML_BLAS=ON", "-DGGML_BLAS_VENDOR=OpenBLAS"]),
        ({"WHISPERCLI_CUDA": "1"}, ["-DGGML_CUDA=ON"]),
        ({"WHISPERCLI_VULKAN": "1"}, ["-DGGML_VULKAN=ON"]),
        ({"WHISPERCLI_CMAKE_ARGS": "-DFOO=1 '-DBAR=a b'"}, ["-DFOO=1", "-DBAR=a b"]),
    ],
)
def test_build_switches_reach_cmake(build_native, monkeypatch, env, expected):
    for name in ("WHISPERCLI_NATIVE", "WHISPERCLI_OPENMP", "WHISPERCLI_OPENBLAS", "WHISPERCLI_CUDA",
                 "WHISPERCLI_VULKAN", "WHISPERCLI_CMAKE_ARGS"):
        monkeypatch.delenv(name, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    opts = build_native.cmake_options()
    for flag in expected:
        assert flag in opts
    assert "-DBUILD_SHARED_LIBS=OFF" in opts and "-DCMAKE_POSITION_INDEPENDENT_CODE=ON" in opts


def test_build_dir_is_keyed_by_options(build_native, monkeypatch):
    src = ROOT / "whisper.cpp"
    monkeypatch.delenv("WHISPERCLI_BUILD_DIR", raising=False)
    a = build_native.build_dir(src, ["-DGGML_NATIVE=ON"])
    b = build_native.build_dir(src, ["-DGGML_NATIVE=OFF"])
    assert a != b and a == build_native.build_dir(src, ["-DGGML_NATIVE=ON"])


@pytest.mark.slow
def test_whisper_cli_is_built_from_the_same_tree(build_native):
    bin_dir = build_native.whisper_cli_bin_dir()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "build_native.py"), "--whisper-cli"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (bin_dir / "whisper-cli").is_file()
    out = subprocess.run([str(bin_dir / "whisper-cli"), "--version"], capture_output=True, text=True)
    assert "1.9.1" in out.stdout + out.stderr


def test_patches_apply_to_a_copy_and_leave_the_pin_pristine(build_native):
    src = build_native.source_dir()
    patched = build_native.patched_source(src)
    if not build_native.patch_files():
        pytest.skip("no patches")
    assert patched != src and (patched / ".patched").is_file()
    original = (src / "src" / "whisper.cpp").read_text()
    changed = (patched / "src" / "whisper.cpp").read_text()
    assert "whispercli patch 0001" in changed and "whispercli patch" not in original


def test_a_patch_that_does_not_apply_is_a_clear_error(build_native, tmp_path, monkeypatch):
    bad = tmp_path / "patches"
    bad.mkdir()
    (bad / "0001-bad.patch").write_text(
        "--- a/src/whisper.cpp\n+++ b/src/whisper.cpp\n@@ -1,1 +1,1 @@\n-this line is not there\n+nor this\n"
    )
    monkeypatch.setattr(build_native, "PATCH_DIR", bad)
    monkeypatch.setattr(build_native, "ROOT", tmp_path)  # the patched copy goes to tmp_path/build
    with pytest.raises(build_native.BuildError, match="patch 0001-bad.patch does not apply"):
        build_native.patched_source(build_native.source_dir())
    assert not list((tmp_path / "build").glob("src-*"))


def test_patches_can_be_turned_off(build_native, monkeypatch):
    monkeypatch.setenv("WHISPERCLI_PATCHES", "0")
    src = build_native.source_dir()
    assert build_native.patch_files() == [] and build_native.patched_source(src) == src
