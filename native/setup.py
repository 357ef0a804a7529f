from setuptools import Extension, setup

# Plain C against the CPython API only (no numpy headers): bytes in, bytes out.
setup(ext_modules=[Extension("simcoach_native", ["simcoach_native.c"], extra_compile_args=["-O2"])])
