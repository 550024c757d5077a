"""Tokenizer files as the export writes them, checked on the real bert-base-uncased and LLaMA files."""
import os
import tempfile
import unittest

from captionfn_export import manifest, tokenizer_files

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TOKENIZERS = os.path.join(ROOT, "src", "test", "resources", "tokenizers")
BERT = os.path.join(TOKENIZERS, "bert-base-uncased", "tokenizer.json")
LLAMA = os.path.join(TOKENIZERS, "llama", "phi3-tokenizer.json")  # ids 0-31999 are LLaMA's


def opt_like():
    """An OPT/GPT-2 style byte-level BPE tokenizer.json, cut down to the pieces that matter."""
    return {"version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [{"id": i, "content": c, "special": True, "single_word": False, "lstrip": False,
                              "rstrip": False, "normalized": True} for i, c in ((0, "<s>"), (1, "<pad>"), (2, "</s>"), (3, "<unk>"))],
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            "post_processor": {"type": "RobertaProcessing"}, "decoder": {"type": "ByteLevel"},
            "model": {"type": "BPE", "vocab": {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "Ġa": 10, "Ċ": 50118,
                                               "ĊĊ": 50140}, "merges": []}}


class QFormerTokenizerTest(unittest.TestCase):
    def test_dec_is_added_after_bert_base_uncased_vocabulary_as_a_special_token(self):
        bert = tokenizer_files.load(BERT)
        tok, dec = tokenizer_files.qformer_tokenizer(bert)
        self.assertEqual(30522, dec)
        self.assertEqual(30523, tokenizer_files.vocab_size(tok))
        added = [a for a in tok["added_tokens"] if a["content"] == "[DEC]"]
        self.assertEqual([True], [a["special"] for a in added])
        self.assertIsNone(tokenizer_files.token_id(bert, "[DEC]"), "the input must not be changed")

    def test_adding_dec_twice_keeps_one(self):
        tok, _ = tokenizer_files.qformer_tokenizer(tokenizer_files.load(BERT))
        again, dec = tokenizer_files.qformer_tokenizer(tok)
        self.assertEqual(30522, dec)
        self.assertEqual(1, sum(a["content"] == "[DEC]" for a in again["added_tokens"]))

    def test_truncation_and_padding_are_left_to_the_server(self):
        bert = tokenizer_files.load(BERT)
        bert["truncation"] = {"direction": "Right", "max_length": 512, "strategy": "LongestFirst", "stride": 0}
        tok, _ = tokenizer_files.qformer_tokenizer(bert)
        self.assertIsNone(tok["truncation"])
        self.assertIsNone(tok["padding"])

    def test_a_tokenizer_without_cls_and_sep_is_refused(self):
        bert = tokenizer_files.load(BERT)
        bert["post_processor"] = None
        with self.assertRaisesRegex(ValueError, r"must put \[CLS\] before and \[SEP\] after"):
            tokenizer_files.qformer_tokenizer(bert)

    def test_bert_processing_counts_as_cls_and_sep(self):
        self.assertTrue(tokenizer_files.wraps_in_cls_sep(
            {"post_processor": {"type": "BertProcessing", "cls": ["[CLS]", 101], "sep": ["[SEP]", 102]}}))

    def test_the_saved_file_reads_back_the_same(self):
        tok, _ = tokenizer_files.qformer_tokenizer(tokenizer_files.load(BERT))
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, manifest.QFORMER_TOKENIZER)
            tokenizer_files.save(tok, path)
            self.assertEqual(tok, tokenizer_files.load(path))


class LlmTokenizerTest(unittest.TestCase):
    def test_vicuna_gets_lavis_conventions_from_the_llama_vocabulary(self):
        tok = tokenizer_files.load(LLAMA)
        ids = tokenizer_files.llm_ids(tok, manifest.RECIPES["instructblip-vicuna"])
        self.assertEqual(2, ids["bos_id"], "LAVIS puts </s> before Vicuna prompts")
        self.assertEqual((2,), ids["eos_ids"])
        self.assertEqual(0, ids["pad_id"], "LAVIS maps <unk> (0) to </s> before decoding")
        self.assertEqual(32011, ids["vocab_size"])

    def test_instructblip_vicuna_pad_token_is_an_added_id_past_llama(self):
        tok, pad = tokenizer_files.with_special_token(tokenizer_files.load(LLAMA), "[PAD]")
        self.assertEqual(32011, pad)
        self.assertEqual(32012, tokenizer_files.vocab_size(tok))

    def test_a_processor_image_token_past_the_lm_head_is_never_generated(self):
        tok, image = tokenizer_files.with_special_token(tokenizer_files.load(LLAMA), "<image>")
        self.assertEqual(32011, tokenizer_files.generated_vocab_size(tok, 32011))
        self.assertEqual(32012, tokenizer_files.generated_vocab_size(tok, 32064), "a padded head keeps the tokenizer's size")

    def test_ordinary_tokens_past_the_lm_head_are_refused(self):
        with self.assertRaisesRegex(ValueError, "ordinary tokens past them"):
            tokenizer_files.generated_vocab_size(tokenizer_files.load(LLAMA), 31990)

    def test_a_newline_is_a_byte_fallback_piece_in_llama(self):
        self.assertEqual(13, tokenizer_files.text_token_id(tokenizer_files.load(LLAMA), "\n"))

    def test_opt_stops_on_the_byte_level_newline_piece(self):
        ids = tokenizer_files.llm_ids(opt_like(), manifest.RECIPES["blip2-opt"])
        self.assertEqual({"bos_id": 2, "eos_ids": (50118,), "pad_id": 1, "vocab_size": 50141}, ids)

    def test_a_text_of_several_tokens_is_refused_as_eos(self):
        recipe = manifest.Recipe(family="blip2", prompt="p", generation=manifest.Generation(), qformer_max_length=8,
                                 bos_token=None, eos_tokens=("\n\n\n",), pad_token="<pad>")
        with self.assertRaisesRegex(ValueError, "no single token for EOS"):
            tokenizer_files.llm_ids(opt_like(), recipe)

    def test_gpt2_byte_table_maps_newline_and_space(self):
        self.assertEqual("Ċ", tokenizer_files._BYTE_CHARS[10])
        self.assertEqual("Ġ", tokenizer_files._BYTE_CHARS[32])
        self.assertEqual(256, len(set(tokenizer_files._BYTE_CHARS.values())))

    def test_a_file_that_is_not_a_tokenizer_is_refused(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write('{"vocab": {}}')
        try:
            with self.assertRaisesRegex(ValueError, "not a HuggingFace tokenizer.json"):
                tokenizer_files.load(f.name)
        finally:
            os.remove(f.name)


if __name__ == "__main__":
    unittest.main()
