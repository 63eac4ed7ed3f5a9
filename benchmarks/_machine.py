"""What the benchmarks print at the top: the CPU model and the BLAS kernel NumPy runs."""

import os
import platform


def cpu_model() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), and the number of CPUs."""
    name = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{name or platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"


def blas() -> str:
    """The BLAS library, version, kernel (architecture) and threads (threadpoolctl)."""
    try:
        import threadpoolctl
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    import numpy  # noqa: F401  (loads the BLAS threadpoolctl reports)
    return ", ".join(f"{i.get('internal_api')} {i.get('version')} kernel "
                     f"{i.get('architecture')} x{i.get('num_threads')}"
                     for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas")
