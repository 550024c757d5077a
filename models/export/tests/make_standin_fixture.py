#!/usr/bin/env python3
"""Writes src/test/resources/export-standin/: a model directory exported by captionfn_export's own
graph export and model.json writer from the stand-in model (tests/standin.py), with its decoder's
weights in external data, and reference.json: the pixel values, ids and the greedy tokens PyTorch
gives for them. The Java test ExportedGraphsParityTest loads the directory and must reproduce the
tokens exactly, so what the exporter writes is proven loadable and faithful on the server side.

    /usr/bin/python3 models/export/tests/make_standin_fixture.py     # Debian's python3-torch, python3-onnx
"""
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import torch  # noqa: E402

from captionfn_export import graphs, manifest, tokenizer_files  # noqa: E402
from tests.standin import stand_in  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
OUT = os.path.join(ROOT, "src", "test", "resources", "export-standin")
TINY = os.path.join(ROOT, "models", "tiny", "model")
MAX_NEW = 8
SEED = 7


def greedy(model, pixels, q_ids, prompt_ids, vocab, eos):
    """Greedy decoding in PyTorch through the same wrappers the export traces, with the server's
    processors for these options: logits past the vocabulary masked, EOS banned at the first step."""
    vision, embed, decoder = graphs.VisionGraph(model, True), graphs.EmbedGraph(model), graphs.DecoderGraph(model, 1)
    with torch.no_grad():
        lang = vision(pixels, q_ids, torch.ones_like(q_ids))
        x = torch.cat([lang, embed(torch.tensor([prompt_ids]))], dim=1)
        past = [torch.zeros(1, 2, 0, 6), torch.zeros(1, 2, 0, 6)]
        total, tokens, margins = x.shape[1], [], []
        positions = torch.arange(total)[None]
        while len(tokens) < MAX_NEW:
            logits, *past = decoder(x, torch.ones(1, total, dtype=torch.long), positions, *past)
            scores = logits[0, -1, :vocab].clone()
            if not tokens:
                scores[eos] = float("-inf")
            top = torch.topk(scores, 2)
            margins.append(float(top.values[0] - top.values[1]))
            token = int(top.indices[0])
            tokens.append(token)
            if token == eos:
                break
            x = embed(torch.tensor([[token]]))
            positions = torch.tensor([[total]])
            total += 1
    return tokens, min(margins)


def main():
    torch.manual_seed(SEED)
    qformer, _ = tokenizer_files.qformer_tokenizer(tokenizer_files.load(os.path.join(TINY, manifest.QFORMER_TOKENIZER)))
    llm = tokenizer_files.llm_tokenizer(tokenizer_files.load(os.path.join(TINY, manifest.LLM_TOKENIZER)))
    q_vocab, vocab = tokenizer_files.vocab_size(qformer), tokenizer_files.vocab_size(llm)
    model = stand_in(qformer_vocab=q_vocab, llm_vocab=vocab, head_rows=vocab + 2, image_size=32)
    with torch.no_grad():  # a hotter LM head, so that greedy tokens vary and win by clear margins
        model.language_model.lm_head.weight.mul_(8)
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    tokenizer_files.save(qformer, os.path.join(OUT, manifest.QFORMER_TOKENIZER))
    tokenizer_files.save(llm, os.path.join(OUT, manifest.LLM_TOKENIZER))
    saved = graphs.EXTERNAL_DATA_BYTES
    graphs.EXTERNAL_DATA_BYTES = 0  # every graph's weights in external data, as a 7B export's are
    try:
        data = graphs.export_all(model, "instructblip", OUT, 17, "cpu", show_progress=False)
    finally:
        graphs.EXTERNAL_DATA_BYTES = saved
    spec = manifest.ModelSpec(
        id="export-standin", family="instructblip",
        description="the stand-in model of models/export/tests/standin.py, exported by captionfn_export",
        image_size=32, qformer_max_length=16, query_tokens=4,
        llm=manifest.LlmSpec(bos_id=2, eos_ids=(2,), pad_id=0, vocab_size=vocab, hidden_size=12, layers=1,
                             kv_heads=2, head_size=6),
        prompt="Write a short description for the image.", generation=manifest.Generation(),
        graph_data={k: tuple(v) for k, v in data.items() if v},
        source={"checkpoint": "models/export/tests/standin.py", "seed": SEED})
    manifest.write(spec, OUT)
    cases = []
    for i, (q_ids, prompt_ids) in enumerate([([2, 5, 6, 7, 3], [2, 5, 6, 7]), ([2, 9, 3], [2, 9, 11, 12, 13, 14])]):
        pixels = torch.randn(1, 3, 32, 32)
        tokens, margin = greedy(model, pixels, torch.tensor([q_ids]), prompt_ids, vocab, 2)
        print(f"case {i}: tokens {tokens}, smallest top-2 margin {margin:.3f}")
        cases.append({"pixel_values": [round(float(v), 6) for v in pixels.flatten()], "qformer_input_ids": q_ids,
                      "prompt_ids": prompt_ids, "max_new_tokens": MAX_NEW, "greedy_ids": tokens})
    # The pixels are rounded to 6 decimals in the JSON; PyTorch decoded the unrounded ones, so check
    # that rounding changes no token.
    for c in cases:
        px = torch.tensor(c["pixel_values"]).view(1, 3, 32, 32)
        again, _ = greedy(model, px, torch.tensor([c["qformer_input_ids"]]), c["prompt_ids"], vocab, 2)
        assert again == c["greedy_ids"], (again, c["greedy_ids"])
    with open(os.path.join(OUT, "reference.json"), "w", encoding="utf-8") as f:
        json.dump({"cases": cases}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
