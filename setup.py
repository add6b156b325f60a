# The native module is built by build_native.py (CMake + cffi); everything else is in pyproject.toml.
from setuptools import setup

setup(cffi_modules=["build_native.py:make_ffi"])
