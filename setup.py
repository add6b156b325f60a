# The native module is built by build_native.py (CMake + cffi); everything else is in pyproject.toml.
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_native  # noqa: E402


class BuildNativeFirst(build_ext):
    """CMake-build libwhisper/ggml (incrementally) before cffi compiles and links the module."""

    def run(self):
        src, bdir, _opts = build_native.build_libraries()
        for ext in self.extensions:
            if ext.name == build_native.MODULE_NAME:
                ext.extra_link_args = build_native.link_args(bdir)
                ext.include_dirs = build_native.include_dirs(src)  # the patched headers
        super().run()
        if self.inplace:  # editable install: a module left by `python build_native.py` would shadow this one
            built = Path(self.get_ext_fullpath(build_native.MODULE_NAME)).resolve()
            for other in built.parent.glob("_whisper_cffi*.so"):
                if other.resolve() != built:
                    other.unlink()


setup(cffi_modules=["build_native.py:make_ffi"], cmdclass={"build_ext": BuildNativeFirst})
