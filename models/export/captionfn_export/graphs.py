"""The three graphs of the model-directory contract, cut out of an HF InstructBLIP / BLIP-2 model
and traced with torch.onnx.export (TorchScript exporter).

The wrappers call the HF submodules the way HF's own generate() does (vision_model → its
post-LayerNorm output → Q-Former with the learned queries, the instruction for InstructBLIP →
the first num_query_tokens outputs → language_projection), so that they hold across transformers
versions whose generate() differs in how it splices the queries into the prompt. Inputs and
outputs are float32 whatever the weights are (the server feeds float32), apart from the decoder
contract v2's pasts and presents, which are its kv_dtype; fp16 graphs cast inside.
"""
import contextlib
import glob
import inspect
import os
import shutil

import torch

from . import compat, manifest, progress
# the version-specific pieces the wrappers use, under the names the tests know them by
from .compat import cache_in, cache_out, causal_lm, eager_mask_without_vmap, mask_without_vmap  # noqa: F401

# Above this, the graph's weights go to one external data file beside it (protobuf's 2 GB limit).
EXTERNAL_DATA_BYTES = 1 << 30


def _dtype(module):
    return next(module.parameters()).dtype


class VisionGraph(torch.nn.Module):
    def __init__(self, model, reads_instruction: bool):
        super().__init__()
        self.vision_model = model.vision_model
        self.qformer = model.qformer
        self.query_tokens = model.query_tokens
        self.projection = model.language_projection
        self.reads_instruction = reads_instruction

    def forward(self, pixel_values, qformer_input_ids=None, qformer_attention_mask=None):
        image = self.vision_model(pixel_values=pixel_values.to(_dtype(self.vision_model)),
                                  return_dict=True).last_hidden_state
        # Newer transformers keep the Q-Former (and the queries) in fp32 inside an fp16 model.
        image = image.to(_dtype(self.qformer))
        image_mask = torch.ones(image.shape[:-1], dtype=torch.long, device=image.device)
        queries = self.query_tokens.to(image.dtype).expand(image.shape[0], -1, -1)
        if self.reads_instruction:
            query_mask = torch.ones(queries.shape[:-1], dtype=torch.long, device=image.device)
            out = self.qformer(input_ids=qformer_input_ids,
                               attention_mask=torch.cat([query_mask, qformer_attention_mask], dim=1),
                               query_embeds=queries, encoder_hidden_states=image,
                               encoder_attention_mask=image_mask, return_dict=True)
        else:
            out = self.qformer(query_embeds=queries, encoder_hidden_states=image,
                               encoder_attention_mask=image_mask, return_dict=True)
        query_output = out.last_hidden_state[:, : queries.shape[1], :]
        return self.projection(query_output.to(self.projection.weight.dtype)).float()


class EmbedGraph(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.embed = model.get_input_embeddings()

    def forward(self, input_ids):
        return self.embed(input_ids).float()


class DecoderGraph(torch.nn.Module):
    """The language model over embeddings with an explicit KV cache: the decoder contract v1.
    logits_to_keep=0 (the export) returns logits for every position, as the contract says; the
    reference search asks for the last position only, which is what HF generate computes (the same
    numbers as HF's)."""

    def __init__(self, model, layers: int, logits_to_keep: int = 0):
        super().__init__()
        self.lm = causal_lm(model)
        self.layers = layers
        if "position_ids" not in inspect.signature(self.lm.forward).parameters:
            raise RuntimeError(f"{type(self.lm).__name__}.forward takes no position_ids in this transformers "
                               "version; the server feeds them (install the versions in requirements.txt)")
        self.extra = compat.logits_to_keep_options(self.lm.forward, logits_to_keep)

    def run(self, inputs_embeds, attention_mask, position_ids, past):
        """(logits, [(key, value)] per layer) in the model's dtype, past: [(key, value)] in any dtype."""
        dtype = _dtype(self.lm)
        pairs = [(k.to(dtype), v.to(dtype)) for k, v in past]
        out = self.lm(inputs_embeds=inputs_embeds.to(dtype), attention_mask=attention_mask,
                      position_ids=position_ids, past_key_values=cache_in(pairs), use_cache=True, return_dict=True,
                      **self.extra)
        return out.logits, cache_out(out.past_key_values)

    def forward(self, inputs_embeds, attention_mask, position_ids, *past):
        pairs = [(past[2 * i], past[2 * i + 1]) for i in range(self.layers)]
        logits, presents = self.run(inputs_embeds, attention_mask, position_ids, pairs)
        return (logits.float(), *[t.float() for pair in presents for t in pair])


KV_DTYPES = {"float32": torch.float32, "float16": torch.float16}


class DecoderGraphV2(DecoderGraph):
    """The decoder contract v2 (model.json format 2). beam_idx [batch] names, for each row, the past
    row it continues: the graph gathers the pasts itself (index_select on axis 0, before the model),
    so that a beam search's reorder happens where the cache lives and the presents go back in as
    pasts untouched; the output batch is len(beam_idx), whatever the past's. Logits of the last
    position only (HF's logits_to_keep=1: the LM head no longer runs over the whole prompt at
    prefill; sliced again for language models without it). Pasts and presents are kv_dtype (float16
    halves what a GPU keeps and moves); the model computes in its own dtype."""

    def __init__(self, model, layers: int, kv_dtype: str = "float32"):
        super().__init__(model, layers, logits_to_keep=1)
        self.kv_dtype = KV_DTYPES[kv_dtype]

    def forward(self, inputs_embeds, attention_mask, position_ids, beam_idx, *past):
        pairs = [(past[2 * i].index_select(0, beam_idx), past[2 * i + 1].index_select(0, beam_idx))
                 for i in range(self.layers)]
        logits, presents = self.run(inputs_embeds, attention_mask, position_ids, pairs)
        # select-then-unsqueeze, not a slice: the graph then declares the logits [batch, 1, vocab]
        return (logits[:, -1].unsqueeze(1).float(), *[t.to(self.kv_dtype) for pair in presents for t in pair])


def decoder_graph(model, layers: int, contract: int = 1, kv_dtype: str = "float32"):
    """The wrapper for a decoder contract: DecoderGraph (1) or DecoderGraphV2 (2)."""
    if contract == 1:
        if kv_dtype != "float32":
            raise ValueError(f"kv_dtype {kv_dtype} needs the decoder contract 2 (v1's KV is float32)")
        return DecoderGraph(model, layers)
    return DecoderGraphV2(model, layers, kv_dtype)


@contextlib.contextmanager
def traceable_masks():
    """While tracing, transformers' mask builders that use vmap are replaced by the ones above;
    a no-op for versions without masking_utils (< 4.53), whose masks trace as they are."""
    found = compat.mask_registry()
    if found is None:
        yield
        return
    registry, originals = found
    registry.register("eager", eager_mask_without_vmap)
    registry.register("sdpa", mask_without_vmap)
    try:
        yield
    finally:
        for name, fn in originals.items():
            registry.register(name, fn)


def llm_shape(model):
    """(hidden_size, layers, kv_heads, head_size) of the language model, from its config."""
    text = model.config.text_config
    heads = text.num_attention_heads
    hidden = model.get_input_embeddings().weight.shape[1]
    head_size = getattr(text, "head_dim", None) or text.hidden_size // heads
    return hidden, text.num_hidden_layers, getattr(text, "num_key_value_heads", None) or heads, head_size


def decoder_names(layers, contract=1):
    """The decoder graph's input and output names, in order: the three inputs, beam_idx (contract
    2), the pasts by layer; logits, the presents by layer."""
    inputs = ["inputs_embeds", "attention_mask", "position_ids"]
    if contract == 2:
        inputs.append(manifest.DECODER_INPUTS_V2["beam_idx"])
    outputs = ["logits"]
    for i in range(layers):
        for kind in ("key", "value"):
            inputs.append(manifest.DECODER_INPUTS["past_" + kind].replace("{i}", str(i)))
            outputs.append(manifest.DECODER_OUTPUTS["present_" + kind].replace("{i}", str(i)))
    return inputs, outputs


def _export(module, args, path, input_names, output_names, dynamic_axes, opset):
    kwargs = dict(input_names=input_names, output_names=output_names, dynamic_axes=dynamic_axes,
                  opset_version=opset, do_constant_folding=True, **compat.onnx_export_options(torch.onnx.export))
    with torch.no_grad():
        torch.onnx.export(module, args, path, **kwargs)


def _finish(scratch_dir, file, out_dir):
    """Moves a graph exported into scratch_dir to out_dir: one file when small, else the graph plus
    one external data file ("<graph>.data") instead of the exporter's file per tensor. Returns the
    data files written (relative names)."""
    import onnx
    src = os.path.join(scratch_dir, file)
    size = sum(os.path.getsize(p) for p in glob.glob(os.path.join(scratch_dir, "*")))
    dst = os.path.join(out_dir, file)
    data = []
    if size <= EXTERNAL_DATA_BYTES and not os.path.exists(os.path.join(scratch_dir, file + ".data")) \
            and len(os.listdir(scratch_dir)) == 1:
        shutil.move(src, dst)
    else:
        model = onnx.load(src, load_external_data=True)
        location = file + ".data"
        if os.path.exists(os.path.join(out_dir, location)):
            os.remove(os.path.join(out_dir, location))  # onnx appends to an existing data file
        onnx.save_model(model, dst, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=location, size_threshold=1024)
        data.append(location)
    shutil.rmtree(scratch_dir)
    onnx.checker.check_model(dst)  # by path: works past 2 GB
    return data


def export_all(model, family: str, out_dir: str, opset: int, device, show_progress=True, contract=1,
               kv_dtype="float32") -> dict:
    """Writes vision.onnx, embed.onnx and decoder.onnx (of the decoder contract, 1 or 2, with a
    kv_dtype KV for 2) to out_dir; returns {graph: [data files]}."""
    reads_instruction = family == "instructblip"
    vision_cfg = model.config.vision_config
    size = vision_cfg.image_size
    hidden, layers, kv_heads, head_size = llm_shape(model)
    # distinct sizes so that no two dynamic axes are confused while tracing (pb: v2's past batch)
    b, t, p, s, pb = 2, 5, 3, 4, 7
    q_vocab = getattr(model.config.qformer_config, "vocab_size", 100)
    data = {}
    steps = ["vision", "embed", "decoder"]
    with progress.bar(len(steps), "export graphs", "graph", enabled=show_progress) as bar:
        for name in steps:
            scratch = os.path.join(out_dir, f".export-{name}")
            os.makedirs(scratch, exist_ok=True)
            path = os.path.join(scratch, manifest.GRAPH_FILES[name])
            if name == "vision":
                pixels = torch.randn(b, 3, size, size, device=device)
                if reads_instruction:
                    ids = torch.randint(0, q_vocab, (b, t), device=device)
                    args = (pixels, ids, torch.ones(b, t, dtype=torch.long, device=device))
                    names = ["pixel_values", "qformer_input_ids", "qformer_attention_mask"]
                    axes = {"pixel_values": {0: "batch"}, "qformer_input_ids": {0: "batch", 1: "text"},
                            "qformer_attention_mask": {0: "batch", 1: "text"}}
                else:
                    args, names, axes = (pixels,), ["pixel_values"], {"pixel_values": {0: "batch"}}
                axes["language_embeds"] = {0: "batch"}
                _export(VisionGraph(model, reads_instruction), args, path, names, ["language_embeds"], axes, opset)
            elif name == "embed":
                vocab = model.get_input_embeddings().weight.shape[0]
                _export(EmbedGraph(model), (torch.randint(0, vocab, (b, s), device=device),), path,
                        ["input_ids"], ["inputs_embeds"],
                        {"input_ids": {0: "batch", 1: "sequence"}, "inputs_embeds": {0: "batch", 1: "sequence"}}, opset)
            else:
                inputs, outputs = decoder_names(layers, contract)
                kv = KV_DTYPES[kv_dtype]
                if contract == 1:
                    past = [torch.randn(b, kv_heads, p, head_size, device=device) for _ in range(2 * layers)]
                    beam = ()
                else:
                    # a past of another batch than the rows, so that the two batch axes stay apart
                    past = [torch.randn(pb, kv_heads, p, head_size, device=device).to(kv) for _ in range(2 * layers)]
                    beam = (torch.tensor([pb - 1, 2], device=device),)
                args = (torch.randn(b, s, hidden, device=device),
                        torch.ones(b, p + s, dtype=torch.long, device=device),
                        torch.arange(p, p + s, device=device)[None].expand(b, -1).contiguous(), *beam, *past)
                axes = {"inputs_embeds": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "total"},
                        "position_ids": {0: "batch", 1: "sequence"},
                        "logits": {0: "batch", 1: "sequence"} if contract == 1 else {0: "batch"}}
                pasts = inputs[3 + len(beam):]
                if contract == 1:
                    axes.update({n: {0: "batch", 2: "past"} for n in pasts})
                else:
                    axes["beam_idx"] = {0: "batch"}
                    axes.update({n: {0: "past_batch", 2: "past"} for n in pasts})
                axes.update({n: {0: "batch", 2: "total"} for n in outputs[1:]})
                with traceable_masks():
                    _export(decoder_graph(model, layers, contract, kv_dtype), args, path, inputs, outputs, axes, opset)
            data[name] = _finish(scratch, manifest.GRAPH_FILES[name], out_dir)
            bar.update(1)
    return data
