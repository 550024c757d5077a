"""The graph export's mechanics (wrappers, tensor names, dynamic axes, external data) on a stand-in
model with HF's InstructBLIP interface. Needs torch and onnx (Debian's python3-torch and
python3-onnx will do); skipped without them. With transformers installed, test_tiny_random.py
exports the real architectures."""
import os
import tempfile
import unittest

try:
    import onnx
    import torch
except ImportError:  # CI runs the tests that need neither
    torch = onnx = None

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
