"""Progress bars for the long steps (hashing many GB, exporting, quantising, verifying).

tqdm when it is installed (it is in requirements.txt); otherwise a plain line on stderr at each
tenth, so the script still runs where only the standard library is.
"""
import sys


class _Plain:
    def __init__(self, total, desc, unit):
        self.total, self.desc, self.unit, self.n, self._shown = total, desc, unit, 0, -1

    def update(self, n=1):
        self.n += n
        if self.total:
            tenth = min(10, int(10 * self.n / self.total))
            if tenth != self._shown:
                self._shown = tenth
                print(f"{self.desc}: {10 * tenth}% ({self.n}/{self.total} {self.unit})", file=sys.stderr, flush=True)

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def bar(total, desc, unit="it", enabled=True):
    """A context-managed bar with update(n); silent when disabled (tests, or --quiet)."""
    if not enabled:
        return _Plain(0, desc, unit)
    try:
        from tqdm import tqdm
    except ImportError:
        return _Plain(total, desc, unit)
    scale = unit == "B"
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=scale, unit_divisor=1024 if scale else 1000,
                file=sys.stderr)
