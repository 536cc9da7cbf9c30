"""Runs jasmind.py (argv[1]) with its single-instance lock at $JASMIND_LOCK instead of the fixed
/tmp/jasmind (bin/jasmind.py of Jasmin 0.11, "Must not be executed simultaneously (c.f. #265)"),
so that the tests' Jasmin starts while another Jasmin runs on the machine. Run by Jasmin's Python.
"""

import os
import runpy
import sys

# This folder comes first on sys.path, and its jasmin.py would hide the jasmin package.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import lockfile  # noqa: E402


class OwnLock(lockfile.FileLock):
    def __init__(self, path, *args, **kwargs):
        super().__init__(os.environ["JASMIND_LOCK"], *args, **kwargs)


lockfile.FileLock = OwnLock
script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
