"""Replays a reference.json fixture through model directories' ONNX graphs (onnx_run, either
decoder contract) with the reference search, and compares the directories with the first one:
which id sequences differ, where they first differ, and how far the logits drift while their
inputs are still the same. How the decoder contract v2 is checked against v1, and how much a
float16 KV cache changes:

    models/export/venv.sh python -m captionfn_export.replay \\
        --reference src/test/resources/tiny-reference/reference.json \\
        models/tiny/model models/tiny/model-v2 models/tiny/model-v2-fp16kv

(run from models/export, or with models/export on PYTHONPATH). The pixels are model.json's
preprocessing done here with PIL (convert RGB, bicubic resize, rescale, normalise), the Q-Former
and prompt ids are the fixture's, and the search options are the fixture's "generation": greedy
and beam, in both conventions, as the Java parity tests replay it.
"""
import argparse
import json
import os
import sys

import numpy as np

from . import manifest, onnx_run, reference_search

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
RESOURCES = os.path.join(ROOT, "src", "test", "resources")
MODES = ("greedy", "beam")


def pixel_values(path, model_json):
    """model.json's image preprocessing: [1, 3, H, W] float32."""
    from PIL import Image
    spec = model_json["image"]
    if spec["resample"] != "bicubic":
        raise ValueError(f"resample {spec['resample']!r} is not bicubic")
    with Image.open(path) as image:
        image = image.convert("RGB").resize((spec["width"], spec["height"]), Image.BICUBIC)
        x = np.asarray(image, dtype=np.float64) * spec["rescale"]
    x = (x - np.asarray(spec["mean"])) / np.asarray(spec["std"])
    return x.transpose(2, 0, 1)[None].astype(np.float32)


class Recording(onnx_run.OnnxDecoding):
    """An OnnxDecoding that keeps every run's logits, to compare directories step by step."""

    def __init__(self, *args):
        super().__init__(*args)
        self.logits, self.prefill_presents = [], None

    def prefill(self, rows=1):
        out = super().prefill(rows)
        self.logits.append(out.numpy())
        self.prefill_presents = [p.astype(np.float32) for p in self.past]
        return out

    def step(self, tokens, sources):
        out = super().step(tokens, sources)
        self.logits.append(out.numpy())
        return out


def replay_case(model, case, generation, resources=RESOURCES):
    """{(convention, mode): (ids, [logits per run], the prefill's presents as float32)} for one
    reference.json case."""
    m = model.m
    q_ids = case.get("qformer_input_ids")
    q = (None, None) if q_ids is None else (np.asarray([q_ids]), np.ones((1, len(q_ids)), dtype=np.int64))
    lang = model.vision(pixel_values(os.path.join(resources, case["image"]), m), *q)
    prompt_ids = case["llm_prompt_ids"]
    out = {}
    for convention in reference_search.CONVENTIONS:
        for mode in MODES:
            decoding = Recording(model, lang, prompt_ids)
            options = {k: generation[mode][k] for k in ("num_beams", "max_new_tokens", "min_new_tokens",
                                                        "repetition_penalty", "length_penalty", "early_stopping")}
            ids = reference_search.search(decoding, m, convention,
                                          lm_prompt_ids=reference_search.lm_prompt_ids(m, prompt_ids), **options)
            out[(convention, mode)] = (ids, decoding.logits, decoding.prefill_presents)
    return out


def replay(model_dir, reference, limit=None, resources=RESOURCES, threads=1):
    """[replay_case result] for the first `limit` cases (all when None) of a reference.json object."""
    model = onnx_run.OnnxModel(model_dir, threads=threads)
    cases = reference["cases"][:limit]
    return [replay_case(model, c, reference["generation"], resources) for c in cases]


def first_difference(a, b):
    """The first index where two id sequences differ (the shorter one's length if one is a prefix)."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def _same_input_drift(a_ids, a_logits, b_ids, b_logits, vocab):
    """max |a - b| over the greedy runs whose inputs were the same: the prefill, and each step k
    while the first k ids agree (step k feeds the k-th id over the cache of those before)."""
    same = first_difference(a_ids, b_ids) + 1
    return max(float(np.max(np.abs(a[:, :vocab] - b[:, :vocab]))) for a, b in zip(a_logits[:same], b_logits[:same]))


def _greedy_margins(model_json, generation, case, convention, ids, logits):
    """For each greedy step: the best processed score minus the second best (what greedy decides
    on: the repetition penalty and the EOS ban applied as the search applies them)."""
    import torch
    llm = model_json["llm"]
    prefix = reference_search.lm_prompt_ids(model_json, case["llm_prompt_ids"]) if convention == "transformers" else []
    processors = reference_search.Processors(llm["vocab_size"], llm["eos_ids"], generation["repetition_penalty"],
                                             generation["min_new_tokens"], prefix)
    out = []
    for k, step in enumerate(logits[: len(ids)]):
        scores = processors(ids[:k], torch.from_numpy(step[0])).numpy()
        top = np.sort(scores)[-2:]
        out.append(float(top[1] - top[0]))
    return out


def compare(baseline, other, reference, model_json):
    """How `other`'s replay differs from `baseline`'s (both replay() results over the same cases):
    id sequences that differ and where they first do; the largest logit difference at the prefill
    and over the greedy runs whose inputs were still the same; the largest relative difference of
    the prefill's presents (the KV cache as stored); and, for scale, the baseline's largest logit
    and its smallest greedy margin (best minus second-best processed score over its greedy steps:
    a margin below the drift is a token the other directory could pick instead)."""
    vocab = model_json["llm"]["vocab_size"]
    sequences = differing = matches_reference = 0
    first_positions, where = [], []
    prefill_drift = greedy_drift = presents_drift = largest = 0.0
    smallest_gap = float("inf")
    for case, a, b in zip(reference["cases"], baseline, other):
        for key in a:
            sequences += 1
            a_ids, a_logits, a_presents = a[key]
            b_ids, b_logits, b_presents = b[key]
            if b_ids == case[key[0]][f"{key[1]}_ids"]:
                matches_reference += 1
            if a_ids != b_ids:
                differing += 1
                first_positions.append(first_difference(a_ids, b_ids))
                where.append(f"{case['image']} {key[0]} {key[1]} at {first_difference(a_ids, b_ids)}")
            prefill_drift = max(prefill_drift, float(np.max(np.abs(a_logits[0][:, :vocab] - b_logits[0][:, :vocab]))))
            presents_drift = max(presents_drift, *(float(np.max(np.abs(x - y)) / np.max(np.abs(x)))
                                                   for x, y in zip(a_presents, b_presents)))
            if key[1] == "greedy":
                greedy_drift = max(greedy_drift, _same_input_drift(a_ids, a_logits, b_ids, b_logits, vocab))
                largest = max(largest, *(float(np.max(np.abs(x[:, :vocab]))) for x in a_logits))
                smallest_gap = min(smallest_gap, *_greedy_margins(model_json, reference["generation"]["greedy"], case,
                                                                  key[0], a_ids, a_logits))
    return {"sequences": sequences, "differing": differing, "first_differing_positions": sorted(first_positions),
            "differing_sequences": where,
            "prefill_max_abs_logit_difference": prefill_drift,
            "greedy_steps_max_abs_logit_difference": greedy_drift,
            "prefill_presents_max_relative_difference": presents_drift,
            "baseline_max_abs_logit": largest, "baseline_min_greedy_margin": smallest_gap,
            "equal_to_reference_json": matches_reference}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m captionfn_export.replay", description=__doc__.split("\n\n")[0])
    p.add_argument("--reference", required=True, help="a reference.json (its images are under src/test/resources)")
    p.add_argument("--limit", type=int, help="only the first N cases")
    p.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads (default 1)")
    p.add_argument("model_dirs", nargs="+", help="model directories; each after the first is compared with it")
    args = p.parse_args(argv)
    with open(args.reference, encoding="utf-8") as f:
        reference = json.load(f)
    runs = {d: replay(d, reference, args.limit, threads=args.threads) for d in args.model_dirs}
    baseline = args.model_dirs[0]
    model_json = manifest.read(baseline)
    report = {"reference": args.reference, "cases": len(runs[baseline]), "baseline": baseline, "compared": {}}
    base_vs_reference = compare(runs[baseline], runs[baseline], reference, model_json)["equal_to_reference_json"]
    report["baseline_equal_to_reference_json"] = base_vs_reference
    for d in args.model_dirs[1:]:
        contract, kv_dtype = manifest.decoder_contract(manifest.read(d))
        report["compared"][d] = dict(compare(runs[baseline], runs[d], reference, model_json),
                                     contract=contract, kv_dtype=kv_dtype)
    json.dump(report, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
