"""Shared output step of the benchmark scripts."""

from __future__ import annotations


def publish(lines: list[str], path: str) -> str:
    """Join markdown ``lines``, print them and write them to ``path``."""
    text = "\n".join(lines) + "\n"
    print(text)
    with open(path, "w") as handle:
        handle.write(text)
    return text
