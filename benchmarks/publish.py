"""Re-render the benchmark numbers quoted in README.md and the docs.

    python -m benchmarks.publish          # rewrite every generated block
    python -m benchmarks.publish --check  # exit 1 if a page is out of date

The numbers come from docs/*_results.json, written by the benchmark scripts
(see benchmarks/_report.py).
"""

from __future__ import annotations

import argparse
import sys

from benchmarks._report import publish_docs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="report stale pages, write nothing"
    )
    args = parser.parse_args(argv)
    changed = publish_docs(write=not args.check)
    for page, stale in changed.items():
        state = ("out of date" if args.check else "updated") if stale else "current"
        print(f"{page}: {state}")
    return 1 if args.check and any(changed.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
