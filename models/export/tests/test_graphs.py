"""The graph export's mechanics (wrappers, tensor names, dynamic axes, external data) on a stand-in
model with HF's InstructBLIP interface. Needs torch and onnx (Debian's python3-torch and
python3-onnx will do); skipped without them. With transformers installed, test_tiny_random.py
exports the real architectures."""
import os
import tempfile
import unittest

try:
    import numpy as np
    import onnx
    import torch
except ImportError:  # CI runs the tests that need neither
    torch = onnx = np = None

from captionfn_export import manifest
from tests.tooling import needs

if torch is not None:
    from captionfn_export import graphs
    from tests.standin import stand_in


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


@needs("torch", "onnx")
class GraphExportTest(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.out = tempfile.mkdtemp(prefix="captionfn-graphs-test-")

    def load(self, name, external_data=True):
        return onnx.load(os.path.join(self.out, manifest.GRAPH_FILES[name]), load_external_data=external_data)

    def test_the_graphs_carry_the_contract_tensor_names_and_dynamic_axes(self):
        data = graphs.export_all(stand_in(), "instructblip", self.out, 17, "cpu", show_progress=False)
        self.assertEqual({"vision": [], "embed": [], "decoder": []}, data)
        self.assertEqual(sorted(manifest.GRAPH_FILES.values()), sorted(os.listdir(self.out)))
        vision = self.load("vision").graph
        self.assertEqual(list(manifest.VISION_INPUTS.values()), [i.name for i in vision.input])
        self.assertEqual([["batch", 3, 32, 32], ["batch", "text"], ["batch", "text"]], [dims(i) for i in vision.input])
        out = dims(vision.output[0])  # the query axis is a slice of the Q-Former's output: symbolic, 4 at run time
        self.assertEqual(("batch", 12), (out[0], out[2]))
        decoder = self.load("decoder").graph
        self.assertEqual(["inputs_embeds", "attention_mask", "position_ids", "past_key_values.0.key",
                          "past_key_values.0.value"], [i.name for i in decoder.input])
        self.assertEqual(["logits", "present.0.key", "present.0.value"], [o.name for o in decoder.output])
        self.assertEqual(["batch", 2, "past", 6], dims(decoder.input[3]))
        self.assertEqual(["batch", "sequence", 48], dims(decoder.output[0]))
        for graph in (vision, decoder, self.load("embed").graph):
            for tensor in [*graph.input, *graph.output]:
                if tensor.type.tensor_type.elem_type not in (onnx.TensorProto.INT64,):
                    self.assertEqual(onnx.TensorProto.FLOAT, tensor.type.tensor_type.elem_type, tensor.name)

    def test_the_v2_decoder_takes_beam_idx_and_pasts_of_their_own_batch_and_gives_one_position(self):
        for kv_dtype, elem in (("float32", onnx.TensorProto.FLOAT), ("float16", onnx.TensorProto.FLOAT16)):
            with self.subTest(kv_dtype=kv_dtype):
                graphs.export_all(stand_in(), "instructblip", self.out, 17, "cpu", show_progress=False, contract=2,
                                  kv_dtype=kv_dtype)
                decoder = self.load("decoder").graph
                self.assertEqual(["inputs_embeds", "attention_mask", "position_ids", "beam_idx",
                                  "past_key_values.0.key", "past_key_values.0.value"], [i.name for i in decoder.input])
                self.assertEqual(["logits", "present.0.key", "present.0.value"], [o.name for o in decoder.output])
                self.assertEqual((["batch"], onnx.TensorProto.INT64),
                                 (dims(decoder.input[3]), decoder.input[3].type.tensor_type.elem_type))
                self.assertEqual(["past_batch", 2, "past", 6], dims(decoder.input[4]))
                self.assertEqual(["batch", 1, 48], dims(decoder.output[0]))
                self.assertEqual(["batch", 2, "total", 6], dims(decoder.output[1]))
                self.assertEqual([elem] * 4, [t.type.tensor_type.elem_type
                                              for t in [*decoder.input[4:], *decoder.output[1:]]])
                self.assertEqual(onnx.TensorProto.FLOAT, decoder.output[0].type.tensor_type.elem_type)

    def test_blip2_vision_graph_has_only_pixel_values(self):
        graphs.export_all(stand_in(), "blip2", self.out, 17, "cpu", show_progress=False)
        self.assertEqual(["pixel_values"], [i.name for i in self.load("vision").graph.input])

    def test_large_graphs_keep_their_weights_in_one_data_file_beside_them(self):
        saved = graphs.EXTERNAL_DATA_BYTES
        graphs.EXTERNAL_DATA_BYTES = 0
        try:
            data = graphs.export_all(stand_in(), "instructblip", self.out, 17, "cpu", show_progress=False)
        finally:
            graphs.EXTERNAL_DATA_BYTES = saved
        self.assertEqual(["decoder.onnx.data"], data["decoder"])
        self.assertEqual(sorted([*manifest.GRAPH_FILES.values(), "vision.onnx.data", "embed.onnx.data",
                                 "decoder.onnx.data"]), sorted(os.listdir(self.out)))
        model = self.load("decoder", external_data=False)
        locations = {e.value for t in model.graph.initializer for e in t.external_data if e.key == "location"}
        self.assertEqual({"decoder.onnx.data"}, locations)

    def test_the_decoder_wrapper_feeds_pasts_and_returns_float_presents(self):
        model = stand_in()
        wrapper = graphs.DecoderGraph(model, 1)
        past = [torch.randn(1, 2, 3, 6), torch.randn(1, 2, 3, 6)]
        logits, key, value = wrapper(torch.randn(1, 2, 12), torch.ones(1, 5, dtype=torch.long),
                                     torch.tensor([[3, 4]]), *past)
        self.assertEqual((1, 2, 48), tuple(logits.shape))
        self.assertEqual((1, 2, 5, 6), tuple(key.shape))
        self.assertTrue(torch.equal(past[0], key[:, :, :3]))

    def test_the_v2_wrapper_gathers_its_pasts_by_beam_idx_and_keeps_the_last_position(self):
        model = stand_in()
        v1, v2 = graphs.DecoderGraph(model, 1).eval(), graphs.DecoderGraphV2(model, 1).eval()
        past = [torch.randn(3, 2, 4, 6), torch.randn(3, 2, 4, 6)]
        embeds, mask, positions = torch.randn(5, 2, 12), torch.ones(5, 6, dtype=torch.long), torch.tensor([[4, 5]] * 5)
        beam_idx = torch.tensor([2, 2, 0, 1, 0])  # rows repeated and reordered, 3 past rows -> 5
        with torch.no_grad():
            expected = v1(embeds, mask, positions, *[p[beam_idx] for p in past])
            got = v2(embeds, mask, positions, beam_idx, *past)
        self.assertEqual((5, 1, 48), tuple(got[0].shape))
        self.assertTrue(torch.equal(expected[0][:, -1:], got[0]))
        for e, g in zip(expected[1:], got[1:]):
            self.assertTrue(torch.equal(e, g))

    def test_a_float16_kv_wrapper_returns_float16_presents_of_the_float32_ones_rounded(self):
        model = stand_in()
        v2, v2_half = graphs.DecoderGraphV2(model, 1).eval(), graphs.DecoderGraphV2(model, 1, "float16").eval()
        past = [torch.randn(1, 2, 3, 6), torch.randn(1, 2, 3, 6)]
        args = (torch.randn(1, 1, 12), torch.ones(1, 4, dtype=torch.long), torch.tensor([[3]]), torch.tensor([0]))
        with torch.no_grad():
            full = v2(*args, *past)
            half = v2_half(*args, *[p.half() for p in past])
        self.assertEqual([torch.float32, torch.float16, torch.float16], [t.dtype for t in half])
        for f, h in zip(full[1:], half[1:]):
            self.assertTrue(torch.allclose(f, h.float(), rtol=1e-3, atol=1e-3))
        self.assertTrue(torch.allclose(full[0], half[0], rtol=1e-2, atol=1e-2))

    def test_the_contract_1_wrapper_takes_no_float16_kv(self):
        with self.assertRaisesRegex(ValueError, "kv_dtype float16 needs the decoder contract 2"):
            graphs.decoder_graph(stand_in(), 1, contract=1, kv_dtype="float16")

    def test_the_mask_built_without_vmap_is_causal_over_absolute_positions_and_hides_padding(self):
        # two rows, past 2, new 2; row 0's first position is padding
        attention = torch.tensor([[0, 1, 1, 1], [1, 1, 1, 1]])
        allowed = graphs.mask_without_vmap(batch_size=2, cache_position=torch.tensor([2, 3]), kv_length=4,
                                           attention_mask=attention)
        self.assertEqual((2, 1, 2, 4), tuple(allowed.shape))
        self.assertEqual([[False, True, True, False], [False, True, True, True]], allowed[0, 0].tolist())
        self.assertEqual([[True, True, True, False], [True, True, True, True]], allowed[1, 0].tolist())
        additive = graphs.eager_mask_without_vmap(batch_size=2, cache_position=torch.tensor([2, 3]), kv_length=4,
                                                  attention_mask=attention, dtype=torch.float16)
        self.assertEqual(torch.float16, additive.dtype)
        self.assertEqual([torch.finfo(torch.float16).min, 0.0, 0.0, torch.finfo(torch.float16).min],
                         additive[0, 0, 0].tolist())

    def test_without_masking_utils_the_mask_swap_changes_nothing(self):
        with graphs.traceable_masks():
            pass

    def test_a_language_model_without_position_ids_is_refused(self):
        model = stand_in()
        model.language_model.forward = lambda inputs_embeds, attention_mask, past_key_values: None
        with self.assertRaisesRegex(RuntimeError, "takes no position_ids"):
            graphs.DecoderGraph(model, 1)


if __name__ == "__main__":
    unittest.main()


@needs("torch", "onnx", "onnxruntime", "numpy")
class DecoderContractsThroughOnnxRuntimeTest(unittest.TestCase):
    """The stand-in's decoder exported under both contracts and run by onnxruntime: v2 with beam_idx
    gives v1's last-position logits and presents for v1's pasts gathered by the caller, whether
    the reorder keeps, repeats or drops rows, and whatever the past's batch."""

    @classmethod
    def setUpClass(cls):
        import onnxruntime as ort
        torch.manual_seed(0)
        model = stand_in()
        cls.sessions = {}
        for contract, kv_dtype in ((1, "float32"), (2, "float32"), (2, "float16")):
            out = tempfile.mkdtemp(prefix="captionfn-contracts-test-")
            graphs.export_all(model, "instructblip", out, 17, "cpu", show_progress=False, contract=contract,
                              kv_dtype=kv_dtype)
            cls.sessions[(contract, kv_dtype)] = ort.InferenceSession(os.path.join(out, "decoder.onnx"),
                                                                      providers=["CPUExecutionProvider"])

    def run_decoder(self, key, embeds, past, beam_idx=None):
        rows, seq = embeds.shape[:2]
        total = past[0].shape[2] + seq
        feeds = {"inputs_embeds": embeds, "attention_mask": np.ones((rows, total), dtype=np.int64),
                 "position_ids": np.arange(total - seq, total, dtype=np.int64)[None].repeat(rows, 0),
                 "past_key_values.0.key": past[0], "past_key_values.0.value": past[1]}
        if beam_idx is not None:
            feeds["beam_idx"] = np.asarray(beam_idx, dtype=np.int64)
        return self.sessions[key].run(None, feeds)

    def test_prefill_then_reorders_give_v1s_logits_and_presents(self):
        rng = np.random.default_rng(0)
        empty = [np.zeros((1, 2, 0, 6), dtype=np.float32)] * 2
        prompt = rng.standard_normal((1, 5, 12)).astype(np.float32)
        v1 = self.run_decoder((1, "float32"), prompt, empty)
        v2 = self.run_decoder((2, "float32"), prompt, empty, [0])
        np.testing.assert_allclose(v1[0][:, -1:], v2[0], rtol=1e-5, atol=1e-6)
        past1, past2 = v1[1:], v2[1:]
        # past batch 1 -> 5 beams, 5 -> 3 (repeats, drops, reorders), 3 -> 3 in place
        for beam_idx in ([0, 0, 0, 0, 0], [4, 1, 1], [2, 0, 1]):
            step = rng.standard_normal((len(beam_idx), 1, 12)).astype(np.float32)
            v1 = self.run_decoder((1, "float32"), step, [p[beam_idx] for p in past1])
            v2 = self.run_decoder((2, "float32"), step, past2, beam_idx)
            self.assertEqual((len(beam_idx), 1, 48), v2[0].shape)
            np.testing.assert_allclose(v1[0][:, -1:], v2[0], rtol=1e-5, atol=1e-6)
            for a, b in zip(v1[1:], v2[1:]):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
            # each row's new position comes from its own random embedding: the rows differ for the next reorder
            past1, past2 = v1[1:], v2[1:]

    def test_a_float16_kv_stores_the_float32_kv_rounded_to_half_precision(self):
        rng = np.random.default_rng(1)
        prompt = rng.standard_normal((1, 5, 12)).astype(np.float32)
        full = self.run_decoder((2, "float32"), prompt, [np.zeros((1, 2, 0, 6), dtype=np.float32)] * 2, [0])
        half = self.run_decoder((2, "float16"), prompt, [np.zeros((1, 2, 0, 6), dtype=np.float16)] * 2, [0])
        np.testing.assert_array_equal(full[0], half[0])  # the prefill reads no cache
        for f, h in zip(full[1:], half[1:]):
            self.assertEqual(np.float16, h.dtype)
            np.testing.assert_array_equal(f.astype(np.float16), h)
        step = rng.standard_normal((3, 1, 12)).astype(np.float32)
        full = self.run_decoder((2, "float32"), step, full[1:], [0, 0, 0])
        half = self.run_decoder((2, "float16"), step, half[1:], [0, 0, 0])
        np.testing.assert_allclose(full[0], half[0], rtol=1e-2, atol=1e-2)
