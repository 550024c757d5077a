"""Which of the exporter's packages this Python has, and whether the tests that need them may be
skipped: on a developer's machine with only the standard library they are, but where CI is set
(or CAPTIONFN_EXPORT_TESTS=required, which .ci/run sets) a missing package fails them instead, so
that CI cannot pass by skipping the real export."""
import importlib.util
import os
import unittest

REQUIRED = bool(os.environ.get("CI")) or os.environ.get("CAPTIONFN_EXPORT_TESTS") == "required"
EXPORT_TOOLING = ("torch", "transformers", "onnx", "onnxruntime", "onnx_ir", "PIL", "tokenizers", "numpy")


def missing(*modules):
    return [m for m in modules if importlib.util.find_spec(m) is None]


def needs(*modules):
    """A class decorator: skip the tests without the modules, or fail them where they are required."""
    absent = missing(*modules)

    def decorate(cls):
        if not absent:
            return cls
        reason = f"needs {', '.join(absent)} (pip install -r models/export/requirements-pinned.txt)"
        if not REQUIRED:
            return unittest.skip(reason)(cls)

        def setUpClass(_cls):
            raise AssertionError(f"{reason}: required here (CI or CAPTIONFN_EXPORT_TESTS=required)")
        cls.setUpClass = classmethod(setUpClass)
        return cls
    return decorate
