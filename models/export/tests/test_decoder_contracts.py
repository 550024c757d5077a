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
        vocab = manifest.read(v1_dir)["llm"]["vocab_size"]
        found = replay.compare(v1, v2, reference, vocab)
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
                self.assertEqual(0, cli.main(["--tiny-random", family, "--seed", seed, "--kv-dtype", "float16",
                                              "--out", half, "--quiet"]))
                self.assertEqual((2, "float16"), manifest.decoder_contract(manifest.read(half)))
                reference = read_reference(os.path.join(HF, family, "reference.json"))
                found = self.assert_same_ids_as_v1(reference, v2_dir, half)
                self.assertEqual(0.0, found["prefill_max_abs_logit_difference"])


if __name__ == "__main__":
    unittest.main()
