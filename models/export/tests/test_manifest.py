"""model.json writing and hashing: what the export records is what the server's loader reads."""
import dataclasses
import hashlib
import json
import os
import re
import shutil
import tempfile
import unittest

from captionfn_export import manifest
from captionfn_export.manifest import Generation, LlmSpec, ModelSpec

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TINY_DIRS = os.path.join(ROOT, "models", "tiny")
TINY = os.path.join(TINY_DIRS, "model")
JAVA_READER = os.path.join(ROOT, "src", "main", "java", "dev", "captionfn", "modeldir", "ManifestReader.java")


def java_reader_formats(text=None):
    """The formats the server's reader accepts, from its source, the one place they are stated:
    every `static final int FORMAT<suffix> = <n>;` (FORMAT = 1 for the decoder contract v1,
    FORMAT_V2 = 2 for v2) and the members of a `FORMATS = Set.of(...)` (numbers, or those constants)."""
    if text is None:
        with open(JAVA_READER, encoding="utf-8") as f:
            text = f.read()
    constants = {name: int(value) for name, value in re.findall(r"static final int (FORMAT\w*)\s*=\s*(\d+)\s*;", text)}
    found = set(constants.values())
    for members in re.findall(r"\bFORMATS\s*=\s*(?:Set|List)\.of\(([^)]*)\)", text):
        for member in (m.strip() for m in members.split(",") if m.strip()):
            if not (member.isdigit() or member in constants):
                raise AssertionError(f"{JAVA_READER}: FORMATS names {member!r}, neither a number nor a FORMAT constant")
            found.add(int(member) if member.isdigit() else constants[member])
    if constants.get("FORMAT") != manifest.FORMAT:
        raise AssertionError(f"{JAVA_READER}: expected 'public static final int FORMAT = {manifest.FORMAT};' (the "
                             f"contract v1's format), found {constants}")
    return found


def committed_model_dirs():
    """The model directories the repository carries: the default model, its v2 siblings and the
    test fixtures."""
    found = [TINY] + sorted(os.path.join(TINY_DIRS, d) for d in os.listdir(TINY_DIRS)
                            if os.path.join(TINY_DIRS, d) != TINY
                            and os.path.isfile(os.path.join(TINY_DIRS, d, manifest.FILE_NAME)))
    resources = os.path.join(ROOT, "src", "test", "resources")
    for parent, _dirs, files in os.walk(resources):
        if manifest.FILE_NAME in files and os.path.isfile(os.path.join(parent, "vision.onnx")):
            found.append(parent)
    return found


def tiny_spec(**changes):
    values = dict(
        id="captionfn-tiny-instructblip", family="instructblip",
        description="InstructBLIP in small, trained on drawn shapes by models/tiny/make_tiny_model.py",
        image_size=64, qformer_max_length=32, query_tokens=8,
        llm=LlmSpec(bos_id=2, eos_ids=(2,), pad_id=0, vocab_size=46, hidden_size=64, layers=2, kv_heads=2, head_size=16),
        prompt="Write a short description for the image.", generation=Generation())
    values.update(changes)
    return ModelSpec(**values)


class ModelDir:
    """A throwaway model directory with small stand-in files."""

    def __init__(self, *extra):
        self.path = tempfile.mkdtemp(prefix="captionfn-export-test-")
        for rel in [manifest.QFORMER_TOKENIZER, manifest.LLM_TOKENIZER, *manifest.GRAPH_FILES.values(), *extra]:
            self.write(rel, rel.encode())

    def write(self, rel, data: bytes):
        full = os.path.join(self.path, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.path)


class ModelJsonTest(unittest.TestCase):
    def test_the_committed_default_model_json_is_what_the_writer_makes_of_its_spec_and_files(self):
        # Generic over whichever model models/tiny/model holds: the spec read back from its
        # model.json, written again over its files (hashed afresh), must give the same model.json.
        committed = manifest.read(TINY)
        self.assertEqual(committed, manifest.to_json(manifest.spec_from_json(committed), TINY))

    def test_every_committed_model_directory_round_trips_through_its_spec(self):
        for model_dir in committed_model_dirs():
            with self.subTest(model_dir=os.path.relpath(model_dir, ROOT)):
                committed = manifest.read(model_dir)
                self.assertEqual(committed, manifest.to_json(manifest.spec_from_json(committed), model_dir))

    def test_every_committed_model_json_is_byte_for_byte_what_the_writer_writes(self):
        # The embedded default model's model.json is written by export_model.py (which
        # make_tiny_model.py runs), through manifest.write: nothing else writes one.
        for model_dir in committed_model_dirs():
            with self.subTest(model_dir=os.path.relpath(model_dir, ROOT)):
                with open(os.path.join(model_dir, manifest.FILE_NAME), "rb") as f:
                    committed = f.read()
                spec = manifest.spec_from_json(manifest.read(model_dir))
                self.assertEqual(committed, manifest.dumps(manifest.to_json(spec, model_dir)).encode("utf-8"))

    def test_write_puts_exactly_dumps_text_in_the_file(self):
        with ModelDir() as d:
            written = manifest.write(tiny_spec(description="ünïcode stays as it is"), d.path)
            with open(os.path.join(d.path, manifest.FILE_NAME), "rb") as f:
                self.assertEqual(manifest.dumps(written).encode("utf-8"), f.read())
            self.assertFalse(os.path.exists(os.path.join(d.path, manifest.FILE_NAME + ".tmp")))

    def test_the_writer_writes_the_formats_the_java_reader_reads(self):
        # FORMAT (1, the decoder contract v1) and FORMAT_V2 (2) must be what ManifestReader reads:
        # its FORMAT = 1 and FORMAT_V2 = 2 constants, or a FORMATS = Set.of(1, 2).
        self.assertEqual(set(manifest.FORMATS), java_reader_formats())
        with ModelDir() as d:
            for contract in manifest.CONTRACTS:
                self.assertIn(manifest.to_json(tiny_spec(decoder_contract=contract), d.path)["format"],
                              java_reader_formats())
        for model_dir in committed_model_dirs():
            with self.subTest(model_dir=os.path.relpath(model_dir, ROOT)):
                self.assertIn(manifest.read(model_dir)["format"], java_reader_formats())

    def test_the_java_formats_are_read_from_constants_or_from_a_set(self):
        v1 = "public static final int FORMAT = 1;"
        self.assertEqual({1}, java_reader_formats(v1))
        self.assertEqual({1, 2}, java_reader_formats(v1 + "\n    public static final int FORMAT_V2 = 2;"))
        self.assertEqual({1, 2}, java_reader_formats(v1 + " static final Set<Integer> FORMATS = Set.of(FORMAT, 2);"))
        with self.assertRaisesRegex(AssertionError, "expected 'public static final int FORMAT = 1;'"):
            java_reader_formats("public static final Set<Integer> FORMATS = Set.of(1, 2);")

    def test_a_spec_round_trips_through_json(self):
        with ModelDir("decoder.onnx.data") as d:
            spec = tiny_spec(graph_data={"decoder": ("decoder.onnx.data",)}, source={"precision": "int8"},
                             llm=dataclasses.replace(tiny_spec().llm, image_token_id=45),
                             generation=Generation(convention="transformers"))
            self.assertEqual(spec, manifest.spec_from_json(manifest.write(spec, d.path)))

    def test_a_contract_2_spec_round_trips_through_format_2(self):
        with ModelDir() as d:
            for kv_dtype in manifest.KV_DTYPES:
                with self.subTest(kv_dtype=kv_dtype):
                    spec = tiny_spec(decoder_contract=2, kv_dtype=kv_dtype, source={"precision": "fp32"})
                    written = manifest.write(spec, d.path)
                    self.assertEqual(2, written["format"])
                    self.assertEqual(spec, manifest.spec_from_json(manifest.read(d.path)))
                    self.assertEqual((2, kv_dtype), manifest.decoder_contract(written))

    def test_format_2_names_the_kv_dtype_and_the_beam_idx_input_of_the_decoder_only(self):
        with ModelDir() as d:
            v2 = manifest.to_json(tiny_spec(decoder_contract=2, kv_dtype="float16"), d.path)
            v1 = manifest.to_json(tiny_spec(), d.path)
        decoder = v2["graphs"]["decoder"]
        self.assertEqual("float16", decoder["kv_dtype"])
        self.assertEqual(["inputs_embeds", "attention_mask", "position_ids", "beam_idx", "past_key", "past_value"],
                         list(decoder["inputs"]))
        self.assertEqual("beam_idx", decoder["inputs"]["beam_idx"])
        self.assertEqual(v1["graphs"]["decoder"]["outputs"], decoder["outputs"])
        # everything else is format 1's, key for key
        self.assertEqual({k: v for k, v in v1.items() if k not in ("format", "graphs")},
                         {k: v for k, v in v2.items() if k not in ("format", "graphs")})
        self.assertEqual({k: v1["graphs"][k] for k in ("vision", "embed")}, {k: v2["graphs"][k] for k in ("vision", "embed")})

    def test_format_1_has_no_kv_dtype_and_no_beam_idx(self):
        with ModelDir() as d:
            v1 = manifest.to_json(tiny_spec(), d.path)
        self.assertEqual(1, v1["format"])
        self.assertNotIn("kv_dtype", v1["graphs"]["decoder"])
        self.assertNotIn("beam_idx", v1["graphs"]["decoder"]["inputs"])
        self.assertEqual((1, "float32"), manifest.decoder_contract(v1))

    def test_the_committed_v2_directories_are_their_v1_siblings_with_the_contract_2_decoder(self):
        # Exported from the same source as the v1 directory beside them: the same weights (the
        # vision and embed graphs and the tokenizers hash alike), only the decoder differs.
        pairs = [(os.path.join(TINY_DIRS, "model-v2"), TINY, "float32"),
                 (os.path.join(TINY_DIRS, "model-v2-fp16kv"), TINY, "float16")]
        for family in ("instructblip", "blip2"):
            fixtures = os.path.join(ROOT, "src", "test", "resources", "hf-tiny-random")
            pairs.append((os.path.join(fixtures, family + "-v2"), os.path.join(fixtures, family), "float32"))
        for v2_dir, v1_dir, kv_dtype in pairs:
            with self.subTest(model_dir=os.path.relpath(v2_dir, ROOT)):
                v1, v2 = manifest.read(v1_dir), manifest.read(v2_dir)
                self.assertEqual((2, kv_dtype), manifest.decoder_contract(v2))
                self.assertEqual(dataclasses.replace(manifest.spec_from_json(v1), decoder_contract=2, kv_dtype=kv_dtype),
                                 manifest.spec_from_json(v2))
                for name in ("vision", "embed"):
                    self.assertEqual(v1["graphs"][name]["sha256"], v2["graphs"][name]["sha256"], name)
                for part in ("qformer", "llm"):
                    self.assertEqual(v1[part]["tokenizer"], v2[part]["tokenizer"], part)

    def test_a_float16_kv_needs_the_contract_2(self):
        with self.assertRaisesRegex(ValueError, "kv_dtype float16 needs the decoder contract 2"):
            tiny_spec(kv_dtype="float16")
        with self.assertRaisesRegex(ValueError, "kv_dtype must be one of"):
            tiny_spec(decoder_contract=2, kv_dtype="bfloat16")
        with self.assertRaisesRegex(ValueError, "decoder_contract must be one of"):
            tiny_spec(decoder_contract=3)

    def test_an_unknown_format_or_kv_dtype_is_refused_by_the_runners_reading(self):
        with self.assertRaisesRegex(ValueError, "format 3 is not one this exporter knows"):
            manifest.decoder_contract({"format": 3})
        with self.assertRaisesRegex(ValueError, "kv_dtype 'int8' is not one of"):
            manifest.decoder_contract({"format": 2, "graphs": {"decoder": {"kv_dtype": "int8"}}})

    def test_the_image_token_and_the_convention_are_written_when_known_and_left_out_when_not(self):
        with ModelDir() as d:
            plain = manifest.to_json(tiny_spec(), d.path)
            self.assertNotIn("image_token_id", plain["llm"])
            self.assertNotIn("convention", plain["generation"])
            known = manifest.to_json(tiny_spec(llm=dataclasses.replace(tiny_spec().llm, image_token_id=45),
                                               generation=Generation(convention="lavis")), d.path)
            self.assertEqual(45, known["llm"]["image_token_id"])
            self.assertEqual("lavis", known["generation"]["convention"])

    def test_every_file_is_named_with_the_sha256_of_its_bytes(self):
        with ModelDir() as d:
            written = manifest.write(tiny_spec(), d.path)
            refs = manifest.files_of(written)
            self.assertEqual(5, len(refs))
            for ref in refs:
                self.assertEqual(hashlib.sha256(ref["file"].encode()).hexdigest(), ref["sha256"])
            with open(os.path.join(d.path, "model.json"), encoding="utf-8") as f:
                self.assertEqual(written, json.load(f))
            self.assertEqual([], manifest.check_files(d.path))

    def test_external_data_files_are_listed_and_hashed_under_their_graph(self):
        with ModelDir("decoder.onnx.data", "vision.onnx.data") as d:
            spec = tiny_spec(graph_data={"decoder": ("decoder.onnx.data",), "vision": ("vision.onnx.data",)})
            written = manifest.write(spec, d.path)
            self.assertEqual([{"file": "decoder.onnx.data",
                               "sha256": hashlib.sha256(b"decoder.onnx.data").hexdigest()}],
                             written["graphs"]["decoder"]["data"])
            self.assertNotIn("data", written["graphs"]["embed"])
            self.assertEqual(7, len(manifest.files_of(written)))

    def test_a_data_file_away_from_its_graph_is_refused(self):
        with ModelDir("weights/decoder.onnx.data") as d:
            spec = tiny_spec(graph_data={"decoder": ("weights/decoder.onnx.data",)})
            with self.assertRaisesRegex(ValueError, "must sit beside its graph"):
                manifest.to_json(spec, d.path)

    def test_a_missing_file_is_named(self):
        with ModelDir() as d:
            os.remove(os.path.join(d.path, "embed.onnx"))
            with self.assertRaisesRegex(FileNotFoundError, "embed.onnx: missing"):
                manifest.to_json(tiny_spec(), d.path)

    def test_a_path_outside_the_directory_is_refused(self):
        with ModelDir() as d:
            spec = tiny_spec(graph_data={"decoder": ("../decoder.onnx.data",)})
            with self.assertRaisesRegex(ValueError, "not a path inside the model directory"):
                manifest.to_json(spec, d.path)

    def test_check_files_reports_a_changed_file_and_a_missing_one(self):
        with ModelDir("decoder.onnx.data") as d:
            manifest.write(tiny_spec(graph_data={"decoder": ("decoder.onnx.data",)}), d.path)
            d.write("decoder.onnx.data", b"changed")
            os.remove(os.path.join(d.path, "vision.onnx"))
            problems = manifest.check_files(d.path)
            self.assertEqual(2, len(problems), problems)
            self.assertIn("decoder.onnx.data: sha256 mismatch", problems[1])
            self.assertIn("vision.onnx: missing", problems[0])

    def test_blip2_vision_graph_takes_only_pixels(self):
        with ModelDir() as d:
            written = manifest.to_json(tiny_spec(family="blip2"), d.path)
            self.assertEqual({"pixel_values": "pixel_values"}, written["graphs"]["vision"]["inputs"])

    def test_the_source_is_recorded_when_given(self):
        with ModelDir() as d:
            source = {"checkpoint": "Salesforce/instructblip-vicuna-7b", "precision": "fp16"}
            self.assertEqual(source, manifest.to_json(tiny_spec(source=source), d.path)["source"])


class HashingTest(unittest.TestCase):
    def test_sha256_of_a_file_larger_than_one_read_matches_hashlib(self):
        data = os.urandom(9 << 20)
        with tempfile.NamedTemporaryFile(delete=False) as f:
            f.write(data)
        try:
            self.assertEqual(hashlib.sha256(data).hexdigest(), manifest.sha256_file(f.name))
        finally:
            os.remove(f.name)

    def test_an_empty_file_has_the_empty_digest(self):
        with tempfile.NamedTemporaryFile(delete=False) as f:
            pass
        try:
            self.assertEqual("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                             manifest.sha256_file(f.name))
        finally:
            os.remove(f.name)


class RecipeTest(unittest.TestCase):
    def test_instructblip_vicuna_follows_lavis_and_the_mmpretrain_caption_config(self):
        r = manifest.recipe_for("instructblip", "llama")
        self.assertEqual(("instructblip", "Write a short description for the image.", 128),
                         (r.family, r.prompt, r.qformer_max_length))
        self.assertEqual(Generation(num_beams=5, max_new_tokens=30, min_new_tokens=1,
                                    repetition_penalty=1.5, length_penalty=1.0, early_stopping=False, convention="lavis"),
                         r.generation)
        self.assertEqual(("</s>", ("</s>",)), (r.bos_token, r.eos_tokens))

    def test_blip2_opt_stops_on_a_newline(self):
        r = manifest.recipe_for("blip-2", "opt")
        self.assertEqual("blip2", r.family)
        self.assertEqual(("\n",), r.eos_tokens)

    def test_both_recipes_follow_lavis_the_reference_of_the_published_captions(self):
        for key in ("instructblip-vicuna", "blip2-opt"):
            self.assertEqual("lavis", manifest.RECIPES[key].generation.convention, key)

    def test_an_unsupported_pairing_is_refused_with_what_is_supported(self):
        with self.assertRaisesRegex(ValueError, "supported: InstructBLIP with LLaMA/Vicuna, BLIP-2 with OPT"):
            manifest.recipe_for("instructblip", "t5")


class ValidationTest(unittest.TestCase):
    def test_generation_options_are_checked(self):
        with self.assertRaisesRegex(ValueError, "num_beams"):
            Generation(num_beams=0)
        with self.assertRaisesRegex(ValueError, "min_new_tokens must not exceed"):
            Generation(min_new_tokens=31, max_new_tokens=30)

    def test_special_ids_must_lie_in_the_vocabulary(self):
        with self.assertRaisesRegex(ValueError, r"llm.eos_ids 50 is outside the vocabulary of 46"):
            LlmSpec(bos_id=2, eos_ids=(50,), pad_id=0, vocab_size=46, hidden_size=64, layers=2, kv_heads=2, head_size=16)

    def test_an_unknown_convention_is_refused(self):
        with self.assertRaisesRegex(ValueError, "generation.convention must be one of"):
            Generation(convention="lavis-4.33")

    def test_a_negative_image_token_is_refused(self):
        with self.assertRaisesRegex(ValueError, "llm.image_token_id must be a non-negative integer"):
            dataclasses.replace(tiny_spec().llm, image_token_id=-1)

    def test_an_unknown_family_is_refused(self):
        with self.assertRaisesRegex(ValueError, "family must be one of"):
            tiny_spec(family="flant5")


if __name__ == "__main__":
    unittest.main()
