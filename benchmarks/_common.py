"""What the benchmark scripts share: the CPU's name and their sections of RESULTS.md."""

from __future__ import annotations

import platform
from pathlib import Path

#: The results file every script writes its own section of.
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def cpu() -> str:
    """The CPU's model name (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write_section(section: str, text: str, path: Path = RESULTS) -> None:
    """Replace (or append) the section headed ``section`` of ``path`` with ``text``,
    leaving the other sections as they are."""
    current = path.read_text() if path.exists() else "# Benchmark results\n"
    start = current.find(section)
    if start == -1:
        current = current.rstrip("\n") + "\n\n" + text
    else:
        end = current.find("\n## ", start + len(section))
        tail = "" if end == -1 else current[end:]
        current = current[:start] + text.rstrip("\n") + "\n" + tail
    path.write_text(current)
