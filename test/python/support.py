"""Puts the shipped sandbox package on sys.path for the unit tests (they run outside any sandbox)."""
import os
import sys

PYTHON_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..', 'src', 'execution', 'runner',
                                           'python'))
PACKAGE_DIR = os.path.join(PYTHON_DIR, 'pyexec_sandbox')
if PYTHON_DIR not in sys.path:
    sys.path.insert(0, PYTHON_DIR)
