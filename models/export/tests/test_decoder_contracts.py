"""The decoder contract v2 against v1 on the committed fixtures, through onnxruntime: every
reference.json case replayed (greedy and 5 beams, both conventions) through the v1 directory and
its v2 sibling gives the same ids, the fixture's; a float16 KV cache (models/tiny/model-v2-fp16kv,
and the tiny-random fixtures exported again with --kv-dtype float16) changes none of them here,
and leaves the prefill's logits exactly as they are. models/README.md gives the numbers."""
import json
import os
import tempfile
import unittest

from captionfn_export import cli, manifest
from tests.tooling import EXPORT_TOOLING, needs

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
RESOURCES = os.path.join(ROOT, "src", "test", "resources")
TINY = os.path.join(ROOT, "models", "tiny")
HF = os.path.join(RESOURCES, "hf-tiny-random")
IMAGES = [os.path.join(RESOURCES, "images", "photos", name) for name in ("bird.JPEG", "dog.jpg")]


def setUpModule():
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


def read_reference(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@needs(*EXPORT_TOOLING)
class DecoderContractParityTest(unittest.TestCase):
    replays = {}  # (model directory, model id of the reference) -> replay: model-v2 serves two tests

    def replay(self, model_dir, reference):
        from captionfn_export import replay
        key = (model_dir, reference["model"])
        if key not in self.replays:
            self.replays[key] = replay.replay(model_dir, reference)
        return self.replays[key]

    def assert_same_ids_as_v1(self, reference, v1_dir, v2_dir):
        from captionfn_export import replay
        v1, v2 = self.replay(v1_dir, reference), self.replay(v2_dir, reference)
        found = replay.compare(v1, v2, reference, manifest.read(v1_dir))
        self.assertEqual(4 * len(reference["cases"]), found["sequences"])
        self.assertEqual(0, found["differing"], found)
        self.assertEqual(found["sequences"], found["equal_to_reference_json"], found)
        self.assertLess(found["prefill_max_abs_logit_difference"], 1e-5, found)
        return found

    def test_the_default_models_v2_gives_v1s_ids_on_every_case_of_tiny_reference(self):
        reference = read_reference(os.path.join(RESOURCES, "tiny-reference", "reference.json"))
        self.assert_same_ids_as_v1(reference, os.path.join(TINY, "model"), os.path.join(TINY, "model-v2"))

    def test_the_hf_tiny_random_v2_fixtures_give_v1s_ids_on_every_case(self):
        for family in ("instructblip", "blip2"):
            with self.subTest(family=family):
                reference = read_reference(os.path.join(HF, family, "reference.json"))
                self.assert_same_ids_as_v1(reference, os.path.join(HF, family), os.path.join(HF, family + "-v2"))

    def test_a_float16_kv_changes_no_ids_of_tiny_reference_and_no_prefill_logit(self):
        reference = read_reference(os.path.join(RESOURCES, "tiny-reference", "reference.json"))
        found = self.assert_same_ids_as_v1(reference, os.path.join(TINY, "model-v2"),
                                           os.path.join(TINY, "model-v2-fp16kv"))
        self.assertEqual(0.0, found["prefill_max_abs_logit_difference"])  # the prefill reads an empty cache
        # the cache as stored: float16's rounding, at most 2^-11 of the largest value
        self.assertLess(found["prefill_presents_max_relative_difference"], 2 ** -11)
        self.assertGreater(found["greedy_steps_max_abs_logit_difference"], 0.0)

    def test_a_float16_kv_export_of_the_hf_tiny_random_fixtures_changes_no_ids(self):
        for family in ("instructblip", "blip2"):
            with self.subTest(family=family):
                v2_dir = os.path.join(HF, family + "-v2")
                seed = manifest.read(v2_dir)["source"]["checkpoint"].split("--seed ")[1]
                half = os.path.join(tempfile.mkdtemp(prefix="captionfn-fp16kv-"), family)
                # --verify: ONNX Runtime's first greedy token must be HF generate's (later ones are reported)
                self.assertEqual(0, cli.main(["--tiny-random", family, "--seed", seed, "--kv-dtype", "float16",
                                              "--out", half, "--quiet", "--verify", "--images", *IMAGES]))
                self.assertEqual((2, "float16"), manifest.decoder_contract(manifest.read(half)))
                reference = read_reference(os.path.join(HF, family, "reference.json"))
                found = self.assert_same_ids_as_v1(reference, v2_dir, half)
                self.assertEqual(0.0, found["prefill_max_abs_logit_difference"])


    def test_the_committed_v2_graphs_reorder_1_to_5_to_3_rows_as_v1_does_with_gathered_pasts(self):
        import numpy as np
        from captionfn_export import onnx_run
        pairs = [(os.path.join(TINY, "model"), os.path.join(TINY, "model-v2"))]
        pairs += [(os.path.join(HF, f), os.path.join(HF, f + "-v2")) for f in ("instructblip", "blip2")]
        for v1_dir, v2_dir in pairs:
            with self.subTest(model_dir=os.path.relpath(v2_dir, ROOT)):
                v1, v2 = onnx_run.OnnxModel(v1_dir, threads=1), onnx_run.OnnxModel(v2_dir, threads=1)
                rng = np.random.default_rng(0)
                hidden = v2.m["llm"]["hidden_size"]
                embeds = rng.standard_normal((1, 7, hidden)).astype(np.float32)
                (l1, p1), (l2, p2) = v1.decode(embeds, v1.empty_past(1), 7), v2.decode(embeds, v2.empty_past(1), 7)
                np.testing.assert_allclose(l1, l2, rtol=1e-5, atol=1e-5)
                total = 7
                # one row to 5 beams, 5 to 3 (rows repeated and dropped), 3 reordered, 3 to 1
                for sources in ([0, 0, 0, 0, 0], [4, 1, 1], [2, 0, 1], [1]):
                    total += 1
                    embeds = rng.standard_normal((len(sources), 1, hidden)).astype(np.float32)
                    (l1, p1), (l2, p2) = v1.decode(embeds, p1, total, sources), v2.decode(embeds, p2, total, sources)
                    self.assertEqual((len(sources), len(sources)), (l2.shape[0], p2[0].shape[0]))
                    np.testing.assert_allclose(l1, l2, rtol=1e-5, atol=1e-5)
                    for a, b in zip(p1, p2):
                        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)

    def test_a_contract_1_export_writes_the_committed_format_1_directory_again_byte_for_byte(self):
        committed = os.path.join(HF, "blip2")
        seed = manifest.read(committed)["source"]["checkpoint"].split("--seed ")[1]
        out = os.path.join(tempfile.mkdtemp(prefix="captionfn-v1-"), "blip2")
        self.assertEqual(0, cli.main(["--tiny-random", "blip2", "--seed", seed, "--decoder-contract", "1",
                                      "--out", out, "--quiet", "--verify", "--images", *IMAGES]))
        with open(os.path.join(committed, manifest.FILE_NAME), "rb") as a, \
                open(os.path.join(out, manifest.FILE_NAME), "rb") as b:
            self.assertEqual(a.read(), b.read())  # the sha256 of every graph and tokenizer included


if __name__ == "__main__":
    unittest.main()
