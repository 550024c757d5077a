"""The whole export on the real architectures in small (--tiny-random), in every CPU precision,
verified against HF generate, and the reference search's transformers mode proven equal to HF
generate. Needs the packages of requirements-pinned.txt; CI runs it in .ci/run's virtual
environment, where a missing package fails it (tests/tooling.py)."""
import json
import os
import tempfile
import unittest

from captionfn_export import cli, manifest
from tests.tooling import EXPORT_TOOLING, needs

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
RESOURCES = os.path.join(ROOT, "src", "test", "resources")
PHOTOS = os.path.join(RESOURCES, "images", "photos")
IMAGES = [os.path.join(PHOTOS, name) for name in ("bird.JPEG", "dog.jpg")]
FIXTURES = os.path.join(RESOURCES, "hf-tiny-random")


def setUpModule():
    """One torch thread: the tiny models' operations take microseconds, and a second thread's
    start-up and spinning made these tests 7x slower on a busy 2-core machine (same numbers)."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


def export(family, *extra):
    """Runs the CLI as a user would; returns (model directory, model.json)."""
    out = os.path.join(tempfile.mkdtemp(prefix="captionfn-tiny-"), family)
    code = cli.main(["--out", out, "--verify", "--quiet", "--images", *IMAGES, *extra]
                    + ([] if "--checkpoint" in extra else ["--tiny-random", family]))
    if code != 0:
        raise AssertionError(f"export_model.py {family} {' '.join(extra)} exited with {code}")
    return out, manifest.read(out)


class ExportAssertions(unittest.TestCase):
    def assert_exported(self, out, model_json, family):
        self.assertEqual([], manifest.check_files(out))
        self.assertEqual(family, model_json["family"])
        self.assertEqual("lavis", model_json["generation"]["convention"])
        image_token = model_json["llm"]["image_token_id"]
        self.assertIsInstance(image_token, int, "transformers >= 4.47 processors put an <image> placeholder")


@needs(*EXPORT_TOOLING)
class Fp32ExportTest(ExportAssertions):
    """fp32 with --verify (ONNX Runtime gives HF generate's greedy tokens) and --reference-out (the
    reference search's transformers mode gives HF generate's greedy and beam ids, or the export fails)."""

    def export_with_reference(self, family):
        reference = os.path.join(tempfile.mkdtemp(), "reference.json")
        out, model_json = export(family, "--reference-out", reference)
        with open(reference, encoding="utf-8") as f:
            return out, model_json, json.load(f)

    def test_instructblip_exports_verifies_and_the_reference_search_matches_hf_generate(self):
        out, model_json, reference = self.export_with_reference("instructblip")
        self.assert_exported(out, model_json, "instructblip")
        self.assertEqual(2, model_json["llm"]["bos_id"])
        self.assertEqual(["images/photos/bird.JPEG", "images/photos/dog.jpg"], [c["image"] for c in reference["cases"]])
        case = reference["cases"][0]
        self.assertEqual(2, case["llm_prompt_ids"][0])
        self.assertEqual(101, case["qformer_input_ids"][0])
        for convention in ("lavis", "transformers"):
            self.assertTrue(case[convention]["greedy_ids"] and case[convention]["beam_ids"], convention)

    def test_blip2_exports_stopping_on_newline_and_the_reference_search_matches_hf_generate(self):
        out, model_json, reference = self.export_with_reference("blip2")
        self.assert_exported(out, model_json, "blip2")
        self.assertEqual({"pixel_values": "pixel_values"}, model_json["graphs"]["vision"]["inputs"])
        self.assertEqual(1, len(model_json["llm"]["eos_ids"]))
        self.assertNotIn("qformer_input_ids", reference["cases"][0])
        self.assertEqual(1.0, reference["generation"]["beam"]["repetition_penalty"])


@needs(*EXPORT_TOOLING)
class QuantisedExportTest(ExportAssertions):
    """int8 and int4 MatMulNBits with --verify: the first greedy token and the tolerances hold."""

    def check(self, family, precision):
        out, model_json = export(family, "--precision", precision)
        self.assert_exported(out, model_json, family)
        q = model_json["source"]["quantization"]
        expected = (8, 128) if precision == "int8" else (4, 32)  # the defaults precision.py justifies
        self.assertEqual((*expected, 4, ["vision", "decoder"]),
                         (q["bits"], q["block_size"], q["accuracy_level"], q["graphs"]))
        return out

    def test_instructblip_int8(self):
        out = self.check("instructblip", "int8")
        self.assertEqual({4}, matmul_nbits_accuracy_levels(os.path.join(out, "decoder.onnx")))

    def test_instructblip_int4(self):
        self.check("instructblip", "int4")

    def test_blip2_int8(self):
        self.check("blip2", "int8")

    def test_blip2_int4(self):
        self.check("blip2", "int4")


def matmul_nbits_accuracy_levels(path):
    import onnx
    graph = onnx.load(path).graph
    return {a.i for n in graph.node if n.op_type == "MatMulNBits" for a in n.attribute if a.name == "accuracy_level"}


@needs(*EXPORT_TOOLING)
class CheckpointExportTest(ExportAssertions):
    """--checkpoint on a directory saved with save_pretrained: the path a trained model takes."""

    def test_a_saved_instructblip_exports_and_records_its_checkpoint(self):
        from captionfn_export import tiny_random
        checkpoint = tempfile.mkdtemp(prefix="captionfn-checkpoint-")
        model, processor, _ = tiny_random.build("instructblip", seed=3)
        model.save_pretrained(checkpoint)
        processor.save_pretrained(checkpoint)
        out, model_json = export("instructblip", "--checkpoint", checkpoint, "--id", "saved-instructblip")
        self.assert_exported(out, model_json, "instructblip")
        self.assertEqual(("saved-instructblip", os.path.abspath(checkpoint)),
                         (model_json["id"], model_json["source"]["checkpoint"]))


@needs(*EXPORT_TOOLING)
class CommittedFixtureTest(unittest.TestCase):
    """src/test/resources/hf-tiny-random holds what this exporter and transformers make today: the
    first case of each reference.json is made again from the seed its model.json records."""

    def test_each_fixtures_first_case_is_reproduced(self):
        from captionfn_export import reference_search, tiny_random
        for family in ("instructblip", "blip2"):
            with self.subTest(family=family):
                model_dir = os.path.join(FIXTURES, family)
                model_json = manifest.read(model_dir)
                with open(os.path.join(model_dir, "reference.json"), encoding="utf-8") as f:
                    committed = json.load(f)
                seed = int(model_json["source"]["checkpoint"].split("--seed ")[1])
                model, processor, _ = tiny_random.build(family, seed)
                case = committed["cases"][0]
                runner = reference_search.TorchRunner(model, model_json)
                again = reference_search.reference_case(
                    model, processor, runner, model_dir, model_json,
                    {"image": case["image"], "path": os.path.join(RESOURCES, case["image"]),
                     "instruction": case["instruction"]})
                self.assertEqual(case, again)


@needs(*EXPORT_TOOLING)
class SizesTest(unittest.TestCase):
    def test_the_cli_offers_the_sizes_tiny_random_builds(self):
        from captionfn_export import tiny_random
        self.assertEqual(set(cli.RANDOM_SIZES), set(tiny_random.SIZES))


if __name__ == "__main__":
    unittest.main()
