"""A model directory's three graphs through onnxruntime, as the server runs them, for either
decoder contract that model.json's format names:

- v1 (format 1): the caller gathers the past rows a step continues (numpy indexing here), feeds
  float32 pasts, and reads the last position of logits [rows, seq, V];
- v2 (format 2): the caller feeds beam_idx (which past row each row continues) and the previous
  presents untouched, in graphs.decoder.kv_dtype; logits are [rows, 1, V].

What a caller sees is the same for both: last-position logits [rows, V] as float32 and the
presents to feed back. --verify, the fixture replay (replay.py) and the tests use it.
"""
import os

import numpy as np

from . import manifest

NUMPY_KV = {"float32": np.float32, "float16": np.float16}


def open_sessions(model_dir, model_json, providers=("CPUExecutionProvider",), threads=None):
    import onnxruntime as ort
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return {name: ort.InferenceSession(os.path.join(model_dir, graph["file"]), options, providers=list(providers))
            for name, graph in model_json["graphs"].items()}


class OnnxModel:
    """The graphs of one model directory, fed by model.json's tensor names."""

    def __init__(self, model_dir, model_json=None, sessions=None, threads=None):
        self.m = model_json if model_json is not None else manifest.read(model_dir)
        self.contract, self.kv_dtype = manifest.decoder_contract(self.m)
        self.s = sessions if sessions is not None else open_sessions(model_dir, self.m, threads=threads)
        llm = self.m["llm"]
        self.layers, self.vocab = llm["layers"], llm["vocab_size"]
        self.kv_shape = (llm["kv_heads"], llm["head_size"])
        decoder = self.m["graphs"]["decoder"]
        self.names = dict(decoder["inputs"])
        self.past_names = [self.names[f"past_{kind}"].replace("{i}", str(i))
                           for i in range(self.layers) for kind in ("key", "value")]

    def vision(self, pixel_values, qformer_input_ids=None, qformer_attention_mask=None):
        roles = self.m["graphs"]["vision"]["inputs"]
        feeds = {roles["pixel_values"]: np.asarray(pixel_values, dtype=np.float32)}
        if "qformer_input_ids" in roles:
            feeds[roles["qformer_input_ids"]] = np.asarray(qformer_input_ids, dtype=np.int64)
            feeds[roles["qformer_attention_mask"]] = np.asarray(qformer_attention_mask, dtype=np.int64)
        return self.s["vision"].run(None, feeds)[0]

    def embed(self, ids):
        name = self.m["graphs"]["embed"]["inputs"]["input_ids"]
        return self.s["embed"].run(None, {name: np.asarray(ids, dtype=np.int64)})[0]

    def empty_past(self, rows):
        """The prefill's pasts: [rows, kv_heads, 0, head_size] in the contract's KV dtype."""
        heads, size = self.kv_shape
        return [np.zeros((rows, heads, 0, size), dtype=NUMPY_KV[self.kv_dtype]) for _ in range(2 * self.layers)]

    def decode(self, embeds, past, total, sources=None):
        """One decoder run over embeds [rows, seq, D] after past; sources[i] is the past row that row
        i continues (None: row i continues row i). Returns (logits [rows, V_graph] of each row's
        last position, float32; the presents)."""
        rows, seq = embeds.shape[:2]
        index = np.arange(rows, dtype=np.int64) if sources is None else np.asarray(sources, dtype=np.int64)
        feeds = {self.names["inputs_embeds"]: np.asarray(embeds, dtype=np.float32),
                 self.names["attention_mask"]: np.ones((rows, total), dtype=np.int64),
                 self.names["position_ids"]: np.arange(total - seq, total, dtype=np.int64)[None].repeat(rows, 0)}
        if self.contract == 1:
            past = past if sources is None else [p[index] for p in past]
        else:
            feeds[self.names["beam_idx"]] = index
        feeds.update(zip(self.past_names, past))
        out = self.s["decoder"].run(None, feeds)
        return out[0][:, -1].astype(np.float32), out[1:]

    def decoding(self, language_embeds, prompt_ids):
        return OnnxDecoding(self, language_embeds, prompt_ids)


class OnnxDecoding:
    """reference_search's decoding interface over the ONNX graphs: prefill(rows), then step(tokens,
    sources) per generated token, logits as torch tensors [rows, V_graph]."""

    def __init__(self, model, language_embeds, prompt_ids):
        self.model = model
        self.language_embeds, self.prompt_ids = np.asarray(language_embeds, dtype=np.float32), list(prompt_ids)
        self.past, self.total = None, 0
        self.prefill_logits = None  # numpy, kept for comparisons between directories

    def prefill(self, rows=1):
        import torch
        embeds = np.concatenate([self.language_embeds, self.model.embed([self.prompt_ids])], axis=1)
        embeds = np.repeat(embeds, rows, axis=0)
        self.total = embeds.shape[1]
        logits, self.past = self.model.decode(embeds, self.model.empty_past(rows), self.total)
        self.prefill_logits = logits
        return torch.from_numpy(logits)

    def step(self, tokens, sources):
        import torch
        embeds = self.model.embed(np.asarray(tokens, dtype=np.int64)[:, None])
        self.total += 1
        logits, self.past = self.model.decode(embeds, self.past, self.total, sources)
        return torch.from_numpy(logits)
