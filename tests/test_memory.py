"""The CLI's allocator setting: glibc keeps freed blocks, and nothing else changes."""

import platform
import subprocess
import sys

import pytest


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="mallopt is glibc's")
def test_reuse_freed_memory_takes_effect_and_numbers_stay_the_same():
    # in a child process: the setting is process-wide
    code = """
import numpy as np
from convscope._memory import reuse_freed_memory
import convscope.functional as F
x = np.random.default_rng(0).standard_normal((64, 8, 32, 32)).astype(np.float32)
w = np.random.default_rng(1).standard_normal((8, 8, 3, 3)).astype(np.float32)
before = F.conv2d(x, w, padding=1)
assert reuse_freed_memory() is True
after = F.conv2d(x, w, padding=1)
assert np.array_equal(before, after)
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
