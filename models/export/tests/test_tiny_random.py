"""The whole export on the real architectures in small (--tiny-random), verified against HF
generate. Needs requirements.txt's packages (transformers, torch, onnx, onnxruntime); skipped
without them, so it runs on a model-tooling machine, not in the project's CI."""
import importlib.util
import json
import os
import tempfile
import unittest

from captionfn_export import cli, manifest

HAVE_TOOLING = all(importlib.util.find_spec(m) for m in ("transformers", "torch", "onnx", "onnxruntime", "PIL"))


@unittest.skipUnless(HAVE_TOOLING, "needs transformers, torch, onnx, onnxruntime and pillow")
class TinyRandomExportTest(unittest.TestCase):
    def export(self, family, *extra):
        out = os.path.join(tempfile.mkdtemp(), family)
        self.assertEqual(0, cli.main(["--tiny-random", family, "--out", out, "--verify", "--quiet", *extra]))
        with open(os.path.join(out, manifest.FILE_NAME), encoding="utf-8") as f:
            return out, json.load(f)

    def test_instructblip_exports_and_onnx_runtime_gives_hf_greedy_tokens(self):
        out, model_json = self.export("instructblip")
        self.assertEqual("instructblip", model_json["family"])
        self.assertEqual(2, model_json["llm"]["bos_id"])
        self.assertEqual([], manifest.check_files(out))

    def test_blip2_exports_stopping_on_newline(self):
        out, model_json = self.export("blip2")
        self.assertEqual({"pixel_values": "pixel_values"}, model_json["graphs"]["vision"]["inputs"])
        self.assertEqual(1, len(model_json["llm"]["eos_ids"]))

    def test_int4_weight_only_exports_and_keeps_the_first_token(self):
        self.export("instructblip", "--precision", "int4", "--block-size", "16")


if __name__ == "__main__":
    unittest.main()
