"""Each version branch of compat.py, with fakes shaped like the library versions it serves, so that
every branch is proven on a machine that has one transformers (or none) installed."""
import sys
import types
import unittest
from unittest import mock

from captionfn_export import compat
from tests.tooling import REQUIRED, missing, needs

HAVE_TORCH = not missing("torch")


class VersionTest(unittest.TestCase):
    def test_versions_compare_as_numbers_and_ignore_local_tags(self):
        self.assertEqual((2, 13, 0), compat.version_tuple("2.13.0+cpu"))
        self.assertEqual((5, 18, 0), compat.version_tuple("5.18.0"))
        self.assertEqual((4, 57, 0), compat.version_tuple("4.57"))
        self.assertTrue(compat.version_tuple("4.57.6") < compat.version_tuple("5.0.0.dev0"))

    def test_from_pretrained_takes_torch_dtype_up_to_4_55_and_dtype_from_4_56(self):
        self.assertEqual("torch_dtype", compat.dtype_keyword((4, 46, 0)))
        self.assertEqual("torch_dtype", compat.dtype_keyword((4, 55, 4)))
        self.assertEqual("dtype", compat.dtype_keyword((4, 56, 0)))
        self.assertEqual("dtype", compat.dtype_keyword((5, 18, 0)))


class BertTokenizer457:
    def __init__(self, vocab_file=None, tokenizer_file=None, do_lower_case=True, **kwargs):
        pass


class BertTokenizer5:
    def __init__(self, vocab=None, do_lower_case=True, **kwargs):
        pass


class TokenizerAndProcessorTest(unittest.TestCase):
    def test_a_bert_vocab_file_is_vocab_file_up_to_4_57(self):
        self.assertEqual({"vocab_file": "v.txt"}, compat.bert_vocabulary_argument(BertTokenizer457, "v.txt"))

    def test_a_bert_vocab_file_is_vocab_in_5_which_ignores_vocab_file(self):
        self.assertEqual({"vocab": "v.txt"}, compat.bert_vocabulary_argument(BertTokenizer5, "v.txt"))

    def test_the_pil_image_processor_is_5s_blip_image_processor_pil_else_4s_blip_image_processor(self):
        v5 = types.SimpleNamespace(BlipImageProcessorPil="pil", BlipImageProcessor="torchvision-or-pil")
        v4 = types.SimpleNamespace(BlipImageProcessor="pil-4")
        with mock.patch.dict(sys.modules, {"transformers": v5}):
            self.assertEqual("pil", compat.pil_image_processor_class())
        with mock.patch.dict(sys.modules, {"transformers": v4}):
            self.assertEqual("pil-4", compat.pil_image_processor_class())

    def test_pil_resampling_is_recognised_by_the_image_processors_class(self):
        pil5, torchvision5 = type("BlipImageProcessorPil", (), {})(), type("BlipImageProcessor", (), {})()
        fast4, slow4 = type("BlipImageProcessorFast", (), {})(), type("BlipImageProcessor", (), {})()
        with mock.patch.object(compat, "transformers_version", return_value=(5, 18, 0)):
            self.assertTrue(compat.resamples_with_pil(pil5))
            self.assertFalse(compat.resamples_with_pil(torchvision5))
        with mock.patch.object(compat, "transformers_version", return_value=(4, 57, 6)):
            self.assertTrue(compat.resamples_with_pil(slow4))
            self.assertFalse(compat.resamples_with_pil(fast4))

    def test_processors_from_4_47_splice_image_tokens_and_4_46_does_not(self):
        class Processor447:
            def __init__(self, image_processor, tokenizer, qformer_tokenizer, num_query_tokens=None, **kwargs):
                pass

        class Processor446:
            def __init__(self, image_processor, tokenizer, qformer_tokenizer, **kwargs):
                pass
        self.assertTrue(compat.processor_splices_image_tokens(Processor447))
        self.assertFalse(compat.processor_splices_image_tokens(Processor446))

    def test_the_config_names_the_image_token_index_by_argument_or_by_5s_declared_fields(self):
        class Config457:
            def __init__(self, vision_config=None, image_token_index=None, **kwargs):
                pass

        class Config5:
            image_token_index: int = None

            def __init__(self, *args, **kwargs):
                pass

        class Config446:
            def __init__(self, vision_config=None, **kwargs):
                pass
        self.assertEqual("image_token_index", compat.image_token_config_name(Config457))
        self.assertEqual("image_token_index", compat.image_token_config_name(Config5))
        self.assertIsNone(compat.image_token_config_name(Config446))


class FakeTokenizer:
    unk_token_id = 0

    def __init__(self, vocab):
        self.vocab = vocab

    def convert_tokens_to_ids(self, token):
        return self.vocab.get(token, self.unk_token_id)


class ImageTokenIdTest(unittest.TestCase):
    def test_the_processors_placeholder_is_read_from_its_tokenizer(self):
        processor = types.SimpleNamespace(num_query_tokens=32, image_token=types.SimpleNamespace(content="<image>"),
                                          tokenizer=FakeTokenizer({"<image>": 32001}))
        self.assertEqual(32001, compat.image_token_id(processor, types.SimpleNamespace(image_token_index=7)))

    def test_without_num_query_tokens_the_processor_puts_no_placeholder(self):
        processor = types.SimpleNamespace(num_query_tokens=None, image_token="<image>",
                                          tokenizer=FakeTokenizer({"<image>": 32001}))
        self.assertIsNone(compat.image_token_id(processor, types.SimpleNamespace(image_token_index=32001)))

    def test_a_4_46_processor_has_neither_and_gets_none(self):
        processor = types.SimpleNamespace(tokenizer=FakeTokenizer({}))
        self.assertIsNone(compat.image_token_id(processor, types.SimpleNamespace()))

    def test_an_unknown_placeholder_falls_back_to_the_configs_index(self):
        processor = types.SimpleNamespace(num_query_tokens=8, image_token="<image>", tokenizer=FakeTokenizer({}))
        self.assertEqual(50265, compat.image_token_id(processor, types.SimpleNamespace(image_token_id=50265)))


class StripPromptTest(unittest.TestCase):
    def test_from_4_47_generate_returns_the_prompt_ids_image_tokens_included(self):
        prompt = [32001] * 4 + [2, 14350, 263]
        self.assertEqual([263, 29889, 2], compat.strip_prompt(prompt + [263, 29889, 2], prompt, {2}))

    def test_4_46_prepends_one_bos(self):
        self.assertEqual([2, 5], compat.strip_prompt([1, 2, 5], [9, 9, 9], {2, 1}))


class LogitsToKeepTest(unittest.TestCase):
    def test_4_50_and_later_take_logits_to_keep(self):
        def forward(inputs_embeds=None, logits_to_keep=0, **kwargs):
            pass
        self.assertEqual({"logits_to_keep": 1}, compat.logits_to_keep_options(forward, 1))

    def test_4_45_to_4_49_take_num_logits_to_keep(self):
        def forward(inputs_embeds=None, num_logits_to_keep=0, **kwargs):
            pass
        self.assertEqual({"num_logits_to_keep": 1}, compat.logits_to_keep_options(forward, 1))

    def test_older_models_and_a_request_for_all_positions_pass_nothing(self):
        def forward(inputs_embeds=None, **kwargs):
            pass
        self.assertEqual({}, compat.logits_to_keep_options(forward, 1))
        self.assertEqual({}, compat.logits_to_keep_options(lambda logits_to_keep=0: None, 0))


class CacheTest(unittest.TestCase):
    def test_legacy_tuples_are_read_per_layer(self):
        self.assertEqual([("k0", "v0"), ("k1", "v1")], compat.cache_out((("k0", "v0"), ("k1", "v1"))))

    def test_4_56_and_later_caches_are_read_from_layers(self):
        cache = types.SimpleNamespace(layers=[types.SimpleNamespace(keys="k0", values="v0")])
        self.assertEqual([("k0", "v0")], compat.cache_out(cache))

    def test_4_36_to_4_55_caches_are_read_from_key_cache_and_value_cache(self):
        cache = types.SimpleNamespace(key_cache=["k0", "k1"], value_cache=["v0", "v1"])
        self.assertEqual([("k0", "v0"), ("k1", "v1")], compat.cache_out(cache))

    def test_without_a_cache_class_pasts_go_in_as_tuples(self):
        with mock.patch.dict(sys.modules, {"transformers.cache_utils": None}):
            self.assertEqual((("k", "v"),), compat.cache_in([("k", "v")]))

    def test_a_dynamic_cache_is_filled_layer_by_layer(self):
        updates = []

        class DynamicCache:
            def update(self, k, v, i):
                updates.append((k, v, i))
        with mock.patch.dict(sys.modules, {"transformers.cache_utils": types.SimpleNamespace(DynamicCache=DynamicCache)}):
            self.assertIsInstance(compat.cache_in([("k0", "v0"), ("k1", "v1")]), DynamicCache)
        self.assertEqual([("k0", "v0", 0), ("k1", "v1", 1)], updates)


class CausalLmTest(unittest.TestCase):
    def test_a_language_model_with_its_head_is_used_as_it_is(self):
        lm = types.SimpleNamespace(lm_head=object())
        self.assertIs(lm, compat.causal_lm(types.SimpleNamespace(language_model=lm, lm_head=object())))

    @unittest.skipUnless(HAVE_TORCH or REQUIRED, "needs torch")
    def test_a_bare_decoder_is_wrapped_with_the_models_head(self):
        import torch
        head = torch.nn.Linear(2, 3)

        class Decoder(torch.nn.Module):
            def forward(self, **kwargs):
                return types.SimpleNamespace(last_hidden_state=torch.ones(1, 1, 2))
        decoder = Decoder()
        wrapped = compat.causal_lm(types.SimpleNamespace(language_model=decoder, lm_head=head))
        self.assertEqual((1, 1, 3), tuple(wrapped().logits.shape))


class MaskRegistryTest(unittest.TestCase):
    def test_before_4_53_there_is_no_registry_to_patch(self):
        with mock.patch.dict(sys.modules, {"transformers": types.ModuleType("transformers"),
                                           "transformers.masking_utils": None}):
            self.assertIsNone(compat.mask_registry())

    def test_from_4_53_the_registry_and_the_original_builders_are_returned(self):
        utils = types.SimpleNamespace(ALL_MASK_ATTENTION_FUNCTIONS="registry", eager_mask="eager", sdpa_mask="sdpa")
        package = types.ModuleType("transformers")
        package.masking_utils = utils
        with mock.patch.dict(sys.modules, {"transformers": package, "transformers.masking_utils": utils}):
            self.assertEqual(("registry", {"eager": "eager", "sdpa": "sdpa"}), compat.mask_registry())


@needs("torch")
class MaskWithoutVmapTest(unittest.TestCase):
    """The same mask from the two generations of mask-builder arguments."""

    def setUp(self):
        import torch
        self.torch = torch
        # two rows, past 2, new 2; row 0's first position is padding
        self.attention = torch.tensor([[0, 1, 1, 1], [1, 1, 1, 1]])
        self.expected_row0 = [[False, True, True, False], [False, True, True, True]]
        self.expected_row1 = [[True, True, True, False], [True, True, True, True]]

    def test_4_53_to_4_57_pass_cache_position(self):
        allowed = compat.mask_without_vmap(batch_size=2, cache_position=self.torch.tensor([2, 3]), kv_length=4,
                                           attention_mask=self.attention)
        self.assertEqual((2, 1, 2, 4), tuple(allowed.shape))
        self.assertEqual(self.expected_row0, allowed[0, 0].tolist())
        self.assertEqual(self.expected_row1, allowed[1, 0].tolist())

    def test_5_passes_q_length_and_q_offset(self):
        allowed = compat.mask_without_vmap(batch_size=2, q_length=2, q_offset=2, kv_length=4, kv_offset=0,
                                           attention_mask=self.attention, device="cpu", mask_function=None,
                                           allow_is_causal_skip=True, use_vmap=False)
        self.assertEqual(self.expected_row0, allowed[0, 0].tolist())
        self.assertEqual(self.expected_row1, allowed[1, 0].tolist())

    def test_neither_generation_of_arguments_is_refused(self):
        with self.assertRaisesRegex(TypeError, "neither cache_position"):
            compat.mask_without_vmap(batch_size=1, kv_length=4)

    def test_the_eager_form_is_additive_in_the_asked_dtype(self):
        torch = self.torch
        additive = compat.eager_mask_without_vmap(batch_size=2, q_length=2, q_offset=2, kv_length=4,
                                                  attention_mask=self.attention, dtype=torch.float16)
        self.assertEqual(torch.float16, additive.dtype)
        low = torch.finfo(torch.float16).min
        self.assertEqual([low, 0.0, 0.0, low], additive[0, 0, 0].tolist())


class OnnxExportTest(unittest.TestCase):
    def test_torch_with_a_dynamo_switch_is_asked_for_the_torchscript_exporter(self):
        self.assertEqual({"dynamo": False}, compat.onnx_export_options(lambda model, args, f, dynamo=None: None))

    def test_older_torch_gets_no_switch(self):
        self.assertEqual({}, compat.onnx_export_options(lambda model, args, f: None))


def _modules_for_quantizer(nbits=None, fourbits=None):
    """sys.modules entries for onnxruntime's quantiser modules: a module, or an ImportError to raise."""
    entries = {"onnxruntime": types.ModuleType("onnxruntime"),
               "onnxruntime.quantization": types.ModuleType("onnxruntime.quantization")}
    entries["onnxruntime.quantization.matmul_nbits_quantizer"] = nbits
    entries["onnxruntime.quantization.matmul_4bits_quantizer"] = fourbits
    return entries


class Recorder:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


class QuantizerTest(unittest.TestCase):
    def test_1_22_and_later_get_matmul_nbits_with_bits_and_accuracy_level(self):
        nbits = types.SimpleNamespace(DefaultWeightOnlyQuantConfig=Recorder,
                                      MatMulNBitsQuantizer=lambda model, **kw: Recorder(model=model, **kw))
        with mock.patch.dict(sys.modules, _modules_for_quantizer(nbits=nbits)):
            q = compat.weight_only_quantizer("graph", 8, 32, accuracy_level=4, nodes_to_exclude=("lm_head",))
        config = q.kwargs["algo_config"].kwargs
        self.assertEqual((8, 32, 4, True), (config["bits"], config["block_size"], config["accuracy_level"],
                                            config["is_symmetric"]))
        self.assertEqual(["lm_head"], q.kwargs["nodes_to_exclude"])

    def test_before_1_22_int4_falls_back_to_matmul_4bits(self):
        fourbits = types.SimpleNamespace(DefaultWeightOnlyQuantConfig=Recorder,
                                         MatMul4BitsQuantizer=lambda model, **kw: Recorder(model=model, **kw))
        with mock.patch.dict(sys.modules, _modules_for_quantizer(nbits=None, fourbits=fourbits)):
            q = compat.weight_only_quantizer("graph", 4, 32, accuracy_level=4)
        self.assertEqual(32, q.kwargs["algo_config"].kwargs["block_size"])

    def test_before_1_22_int8_is_refused_with_the_upgrade_to_make(self):
        with mock.patch.dict(sys.modules, _modules_for_quantizer(nbits=None)):
            with self.assertRaisesRegex(RuntimeError, r"int8 weight-only quantisation needs onnxruntime >= 1.22"):
                compat.weight_only_quantizer("graph", 8, 32)

    def test_a_missing_dependency_of_the_quantiser_is_named_with_its_pip_command(self):
        real_import = __import__

        def fake_import(name, *args, **kwargs):
            if name == "onnxruntime.quantization.matmul_nbits_quantizer":
                raise ModuleNotFoundError("No module named 'onnx_ir'", name="onnx_ir")
            return real_import(name, *args, **kwargs)
        with mock.patch("builtins.__import__", fake_import):
            with self.assertRaises(RuntimeError) as caught:
                compat.weight_only_quantizer("graph", 8, 32)
        self.assertIn("needs the Python module 'onnx_ir'", str(caught.exception))
        self.assertIn("pip install onnx-ir", str(caught.exception))
        self.assertNotIn("onnxruntime >= 1.22", str(caught.exception))


class MissingModuleTest(unittest.TestCase):
    def test_the_message_names_the_module_and_its_distribution(self):
        message = str(compat.missing_module(ModuleNotFoundError("x", name="PIL.Image"), "verification"))
        self.assertIn("'PIL'", message)
        self.assertIn("pip install pillow", message)

    def test_an_error_without_a_name_is_reported_as_it_is(self):
        self.assertIn("boom", str(compat.missing_module(ImportError("boom"), "the export")))


if __name__ == "__main__":
    unittest.main()
