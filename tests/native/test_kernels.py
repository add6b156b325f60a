"""Our ggml kernels against ggml's own, bit for bit, in the static libraries the module links.

``benchmarks/check_fa_rows.c`` runs ggml's flash attention for the decoder's few queries through
patch 0012's kernel and through ggml's reference kernel (``cplan.use_ref``) and compares the bits;
its ``expf`` mode checks the kernel's vector expf against the C library on every negative float.
``benchmarks/check_tiled_stream.c`` compares the tiled sgemm's few-column products (patch 0014's
prefetching loop) with the same columns of wide products (tinyBLAS's own loop).
``benchmarks/check_fa_bf16.c`` holds the encoder's flash attention with bf16 tiles (patch 0017, not
bit-identical by design) to attention computed in double precision from bf16-rounded inputs.
``benchmarks/check_vexpf.c`` checks the sampling's vector expf (patches 0004 and 0025) against the C
library on every negative float above -88.
``benchmarks/check_packed_bf16.c`` holds patch 0021's products from packed bf16 weights (not
bit-identical by design) to the double-precision product of the same bf16 operands.
``benchmarks/check_im2col.c`` compares patch 0019's im2col with a plain loop element by element; its
``round`` mode checks the vector f32-to-f16 rounding it uses against ggml's on every non-NaN float.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import ROOT, load_build_native


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


_FLAGS = _cpu_flags()
pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="the checks are C programs built with gcc")
needs_bf16 = pytest.mark.skipif("avx512_bf16" not in _FLAGS, reason="patch 0017's kernel needs AVX512-BF16")
needs_avx512 = pytest.mark.skipif("avx512f" not in _FLAGS, reason="patch 0019's vector conversion is AVX-512's")
needs_0012 = pytest.mark.skipif(
    "avx512f" not in _FLAGS or "avx512_fp16" in _FLAGS,
    reason="patch 0012's kernel is built for AVX-512 without AVX512-FP16 only",
)


@pytest.fixture(scope="module")
def build_native():
    return load_build_native()


@pytest.fixture(scope="module")
def patched_build(build_native) -> Path:
    """The build directory of the module's own static libraries (``./dev`` built them)."""
    src = build_native.patched_source(build_native.source_dir())
    return build_native.build_dir(src, build_native.cmake_options(engine=True))


def _checker(name: str, build_native, patched_build: Path, tmp_path_factory) -> Path:
    """``benchmarks/<name>.c`` built against the patched headers and the module's static libraries."""
    exe = tmp_path_factory.mktemp("kernels") / name
    include = build_native.patched_source(build_native.source_dir()) / "ggml" / "include"
    subprocess.run(
        ["gcc", "-O2", "-march=native", "-Wall", "-Werror", str(ROOT / "benchmarks" / f"{name}.c"),
         "-I", str(include), *build_native.link_args(patched_build), "-o", str(exe)],
        check=True,
    )
    return exe


def _run_check(exe: Path, *args: str, timeout_s: int = 300) -> str:
    """The checker's stdout, once it has exited with 0 (its output is the assertion's message otherwise)."""
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=timeout_s)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def check_fa_rows(build_native, patched_build, tmp_path_factory) -> Path:
    return _checker("check_fa_rows", build_native, patched_build, tmp_path_factory)


@pytest.fixture(scope="module")
def check_fa_bf16(build_native, patched_build, tmp_path_factory) -> Path:
    return _checker("check_fa_bf16", build_native, patched_build, tmp_path_factory)


@pytest.fixture(scope="module")
def check_im2col(build_native, patched_build, tmp_path_factory) -> Path:
    return _checker("check_im2col", build_native, patched_build, tmp_path_factory)


@pytest.fixture(scope="module")
def check_packed_bf16(build_native, patched_build, tmp_path_factory) -> Path:
    return _checker("check_packed_bf16", build_native, patched_build, tmp_path_factory)


@pytest.fixture(scope="module")
def check_tiled_stream(build_native, patched_build, tmp_path_factory) -> Path:
    return _checker("check_tiled_stream", build_native, patched_build, tmp_path_factory)


def test_few_column_tiled_products_are_bit_identical_to_wide_ones(check_tiled_stream):
    out = _run_check(check_tiled_stream)
    assert "308 of 308 products bit-identical" in out


def test_im2col_in_tiles_is_bit_identical_to_a_plain_loop(check_im2col):
    out = _run_check(check_im2col)
    assert "27 of 27 im2col runs bit-identical" in out


@needs_avx512
@pytest.mark.slow
def test_vector_f16_rounding_matches_ggml_on_every_float_but_nan(check_im2col):
    out = _run_check(check_im2col, "round", timeout_s=600)
    assert out.startswith("4278190082 floats (all but NaNs): 0 differ")


@needs_bf16
def test_encoder_flash_attention_in_bf16_is_within_rounding_of_the_exact_result(check_fa_bf16):
    out = _run_check(check_fa_bf16)
    assert "54 of 54 shapes within 0.004 of the bf16-rounded reference" in out


@needs_bf16
def test_products_from_packed_bf16_weights_are_within_the_f32_summation_bound(check_packed_bf16):
    out = _run_check(check_packed_bf16)
    assert "30 of 30 products within the f32 summation bound" in out


@pytest.mark.slow
def test_sampling_vector_expf_equals_the_c_library_on_every_negative_float(tmp_path):
    """Patches 0004 (AVX2) and 0025 (AVX-512): the sampling's exponentials, all 1.1e9 inputs."""
    exe = tmp_path / "check_vexpf"
    subprocess.run(["gcc", "-O2", "-Wall", "-Werror", str(ROOT / "benchmarks" / "check_vexpf.c"), "-lm", "-o", str(exe)],
                   check=True)
    out = _run_check(exe, timeout_s=600)
    kernels = [line for line in out.splitlines() if ": checked " in line]
    assert kernels or "nothing to check" in out
    assert all(line.endswith(" 0 mismatches") for line in kernels), out


@needs_0012
def test_the_kernel_is_in_the_library(patched_build):
    symbols = subprocess.run(["nm", "-C", str(patched_build / "ggml" / "src" / "libggml-cpu.a")],
                             capture_output=True, text=True, check=True).stdout
    assert "fa_rows_exact_group<5>" in symbols


@needs_0012
def test_few_query_flash_attention_is_bit_identical_to_ggml(check_fa_rows):
    out = _run_check(check_fa_rows)
    assert "288 of 288 shapes bit-identical" in out


@needs_0012
@pytest.mark.slow
def test_vector_expf_matches_the_c_library_on_every_negative_float(check_fa_rows):
    out = _run_check(check_fa_rows, "expf", timeout_s=600)
    assert out.startswith("2147483648 negative floats: 0 differ")
