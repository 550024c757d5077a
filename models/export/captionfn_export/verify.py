"""--verify: ONNX Runtime against PyTorch on sample images, and HF generate's token ids.

For each image: the vision output and the first decoder step's logits (the prefill over the query
embeddings and the prompt) must agree within the precision's tolerance, and greedy decoding with
ONNX Runtime (as the server does it: left-to-right, KV cache fed back, logits past the tokenizer's
vocabulary masked) must give HF generate's tokens. Quantised graphs are not PyTorch's numbers, so
for int8/int4, and for a float16 KV cache (contract 2), only the first token must agree (or be a
near-tie within the graph's drift, see near_tie); later differences are reported. Both decoder
contracts run through onnx_run.OnnxModel, which reads model.json's format.
"""
import json
import os

from . import compat, manifest
from .token_ids import until_eos  # noqa: F401  (its tests know it from here)

try:  # strip_prompt, until_eos and near_tie are tested where torch is not installed
    import numpy as np
except ImportError:
    np = None
try:
    import torch

    from . import graphs, onnx_run, reference_search
except ImportError:
    torch = graphs = onnx_run = reference_search = None

# max |ONNX - PyTorch| / (1 + max |PyTorch|), per precision
TOLERANCE = {"fp32": 1e-3, "fp16": 3e-2, "int8": 0.15, "int4": 0.3}
STRICT_TOKENS = {"fp32", "fp16"}
# A float16 KV rounds every cached key and value (about 1e-3 relative), which can flip near-tied
# tokens after the first (the prefill's logits do not see it): like quantised graphs, only the
# first token must agree; later differences are reported.
STRICT_KV = {"float32"}


class VerificationFailed(Exception):
    pass


def _sessions(out_dir, model_json, device):
    import onnxruntime as ort
    providers = ["CPUExecutionProvider"]
    if device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    return onnx_run.open_sessions(out_dir, model_json, providers)


def strip_prompt(generated, prompt_ids, bos_ids):
    """compat.strip_prompt (kept here, where --verify's tests know it)."""
    return compat.strip_prompt(generated, prompt_ids, bos_ids)


def near_tie(reference_logits, our_logits, reference_token, our_token):
    """Whether a quantised graph's different first token is within its drift of PyTorch's choice:
    PyTorch prefers reference_token by no more than twice the largest logit difference between
    the two. Random weights (--tiny-random) have such near-ties everywhere; a trained model's
    first token wins by far more, and a broken graph drifts beyond the tolerance anyway."""
    reference_logits = np.asarray(reference_logits, dtype=np.float64)
    drift = float(np.max(np.abs(np.asarray(our_logits, dtype=np.float64) - reference_logits)))
    gap = float(reference_logits[reference_token] - reference_logits[our_token])
    return gap <= 2 * drift


def relative_error(ours, reference):
    ours, reference = np.asarray(ours, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    return float(np.max(np.abs(ours - reference)) / (1.0 + np.max(np.abs(reference))))


class OnnxGreedy:
    """Greedy decoding over the three graphs, as the server runs them for one image (either
    decoder contract: onnx_run.OnnxModel feeds it)."""

    def __init__(self, model: "onnx_run.OnnxModel"):
        self.model = model

    def vision(self, pixel_values, q_ids, q_mask):
        return self.model.vision(pixel_values, q_ids, q_mask)

    def prefill(self, language_embeds, prompt_ids):
        """(last-position logits [1, V], presents) after the language embeddings and the prompt."""
        embeds = np.concatenate([language_embeds, self.model.embed([prompt_ids])], axis=1)
        return self.model.decode(embeds, self.model.empty_past(1), embeds.shape[1])

    def greedy(self, language_embeds, prompt_ids, max_new, eos_ids):
        logits, past = self.prefill(language_embeds, prompt_ids)
        total = language_embeds.shape[1] + len(prompt_ids)
        tokens = []
        for _ in range(max_new):
            token = int(np.argmax(logits[0, : self.model.vocab]))
            tokens.append(token)
            if token in eos_ids:
                break
            total += 1
            logits, past = self.model.decode(self.model.embed([[token]]), past, total)
        return tokens


def _torch_prefill_logits(vision_t, embed_t, decoder_t, model_json, pixels, q_ids, q_mask, prompt_ids, device):
    """PyTorch's language embeddings and the first step's logits, through the traced wrappers."""
    layers = model_json["llm"]["layers"]
    with torch.no_grad():
        lang = vision_t(pixels, q_ids, q_mask) if model_json["family"] == "instructblip" else vision_t(pixels)
        embeds = torch.cat([lang, embed_t(torch.tensor([prompt_ids], device=device))], dim=1)
        n = embeds.shape[1]
        shape = (1, model_json["llm"]["kv_heads"], 0, model_json["llm"]["head_size"])
        empty = [torch.zeros(shape, device=device) for _ in range(2 * layers)]
        logits = decoder_t(embeds, torch.ones(1, n, dtype=torch.long, device=device),
                           torch.arange(n, device=device)[None], *empty)[0]
    return lang, logits


def run(model, processor, out_dir, images, precision, max_tokens, device, log=print):
    """Compares ONNX Runtime with PyTorch and HF generate on each image; raises VerificationFailed."""
    from PIL import Image
    with open(os.path.join(out_dir, manifest.FILE_NAME), encoding="utf-8") as f:
        model_json = json.load(f)
    onnx_model = OnnxGreedy(onnx_run.OnnxModel(out_dir, model_json, _sessions(out_dir, model_json, device)))
    _contract, kv_dtype = manifest.decoder_contract(model_json)
    prompt = model_json["prompt"]
    eos_ids = model_json["llm"]["eos_ids"]
    vision_t = graphs.VisionGraph(model, model_json["family"] == "instructblip").eval()
    decoder_t = graphs.DecoderGraph(model, model_json["llm"]["layers"]).eval()
    embed_t = graphs.EmbedGraph(model).eval()
    tolerance = TOLERANCE[precision]
    prompt_ids = reference_search.llm_prompt_ids(processor.tokenizer, model_json, prompt)
    failures, report = [], []
    for path in images:
        name = os.path.basename(path)
        image = Image.open(path).convert("RGB")
        inputs = reference_search.processor_inputs(processor, image, prompt, device, next(model.parameters()).dtype)
        try:
            reference_search.check_lm_prompt(inputs, reference_search.lm_prompt_ids(model_json, prompt_ids), name)
        except reference_search.ParityFailure as e:
            raise VerificationFailed(str(e)) from e
        pixels = inputs["pixel_values"].float()
        q_ids, q_mask = inputs.get("qformer_input_ids"), inputs.get("qformer_attention_mask")
        lang_t, logits_t = _torch_prefill_logits(vision_t, embed_t, decoder_t, model_json, pixels, q_ids, q_mask,
                                                 prompt_ids, device)
        lang_o = onnx_model.vision(pixels.cpu().numpy(), None if q_ids is None else q_ids.cpu().numpy(),
                                   None if q_mask is None else q_mask.cpu().numpy())
        logits_o, _ = onnx_model.prefill(lang_o, prompt_ids)
        vision_error = relative_error(lang_o, lang_t.cpu().numpy())
        logits_error = relative_error(logits_o[0], logits_t[0, -1].cpu().numpy())
        ours = onnx_model.greedy(lang_o, prompt_ids, max_tokens, eos_ids)
        theirs = reference_search.hf_generate(model, inputs, model_json, num_beams=1, max_new_tokens=max_tokens,
                                              repetition_penalty=1.0)
        line = (f"{name}: vision {vision_error:.2e}, first-step logits {logits_error:.2e} (tolerance {tolerance:g}); "
                f"greedy tokens {'identical' if ours == theirs else 'DIFFER'} ({len(ours)})")
        report.append(line)
        log(line)
        if vision_error > tolerance or logits_error > tolerance:
            failures.append(f"{name}: ONNX Runtime drifts from PyTorch beyond {tolerance:g} "
                            f"(vision {vision_error:.3g}, logits {logits_error:.3g})")
        if precision in STRICT_TOKENS and kv_dtype in STRICT_KV and ours != theirs:
            failures.append(f"{name}: greedy tokens differ: ONNX Runtime {ours}, HF generate {theirs}")
        elif ours[:1] != theirs[:1] and not near_tie(logits_t[0, -1].cpu().numpy(), logits_o[0], theirs[0], ours[0]):
            failures.append(f"{name}: the first greedy token differs: ONNX Runtime {ours[:1]}, HF generate {theirs[:1]}")
    if failures:
        raise VerificationFailed("; ".join(failures))
    return report
