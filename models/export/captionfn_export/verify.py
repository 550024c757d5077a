"""--verify: ONNX Runtime against PyTorch on sample images, and HF generate's token ids.

For each image: the vision output and the first decoder step's logits (the prefill over the query
embeddings and the prompt) must agree within the precision's tolerance, and greedy decoding with
ONNX Runtime (as the server does it: left-to-right, KV cache fed back, logits past the tokenizer's
vocabulary masked) must give HF generate's tokens. Quantised graphs are not PyTorch's numbers, so
for int8/int4 only the first token must agree; later differences are reported.
"""
import json
import os

from . import manifest

try:  # the helpers below strip_prompt are tested where only the standard library is
    import numpy as np
    import torch

    from . import graphs
except ImportError:
    np = torch = graphs = None

# max |ONNX - PyTorch| / (1 + max |PyTorch|), per precision
TOLERANCE = {"fp32": 1e-3, "fp16": 3e-2, "int8": 0.15, "int4": 0.3}
STRICT_TOKENS = {"fp32", "fp16"}


class VerificationFailed(Exception):
    pass


def _sessions(out_dir, device):
    import onnxruntime as ort
    providers = ["CPUExecutionProvider"]
    if device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    return {name: ort.InferenceSession(os.path.join(out_dir, file), providers=providers)
            for name, file in manifest.GRAPH_FILES.items()}


def strip_prompt(generated, prompt_ids, bos_ids):
    """HF's generated ids without what precedes the new tokens: the prompt ids (transformers >= 4.47
    passes input_ids, image tokens included, to the language model's generate) or one BOS (older
    versions generate from embeddings and prepend text_config.bos_token_id, which need not be the
    tokenizer's)."""
    ids = list(generated)
    if prompt_ids and ids[: len(prompt_ids)] == list(prompt_ids):
        return ids[len(prompt_ids):]
    if ids[:1] and ids[0] in bos_ids:
        return ids[1:]
    return ids


def until_eos(ids, eos_ids):
    out = []
    for i in ids:
        out.append(int(i))
        if i in eos_ids:
            break
    return out


def relative_error(ours, reference):
    ours, reference = np.asarray(ours, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    return float(np.max(np.abs(ours - reference)) / (1.0 + np.max(np.abs(reference))))


class OnnxGreedy:
    """Greedy decoding over the three graphs, as the server runs them for one image."""

    def __init__(self, sessions, model_json):
        self.s, self.m = sessions, model_json
        self.layers = model_json["llm"]["layers"]
        self.vocab = model_json["llm"]["vocab_size"]

    def vision(self, pixel_values, q_ids, q_mask):
        feeds = {"pixel_values": pixel_values.astype(np.float32)}
        if self.m["family"] == "instructblip":
            feeds.update(qformer_input_ids=q_ids.astype(np.int64), qformer_attention_mask=q_mask.astype(np.int64))
        return self.s["vision"].run(None, feeds)[0]

    def embed(self, ids):
        return self.s["embed"].run(None, {"input_ids": np.asarray(ids, dtype=np.int64)})[0]

    def step(self, embeds, past, total):
        b, n = embeds.shape[:2]
        feeds = {"inputs_embeds": embeds, "attention_mask": np.ones((b, total), dtype=np.int64),
                 "position_ids": np.arange(total - n, total, dtype=np.int64)[None].repeat(b, 0)}
        names, _ = graphs.decoder_names(self.layers)
        feeds.update(dict(zip(names[3:], past)))
        out = self.s["decoder"].run(None, feeds)
        return out[0], out[1:]

    def empty_past(self, b):
        llm = self.m["llm"]
        return [np.zeros((b, llm["kv_heads"], 0, llm["head_size"]), dtype=np.float32) for _ in range(2 * self.layers)]

    def prefill(self, language_embeds, prompt_ids):
        embeds = np.concatenate([language_embeds, self.embed([prompt_ids])], axis=1)
        return self.step(embeds, self.empty_past(1), embeds.shape[1])

    def greedy(self, language_embeds, prompt_ids, max_new, eos_ids):
        logits, past = self.prefill(language_embeds, prompt_ids)
        total = language_embeds.shape[1] + len(prompt_ids)
        tokens = []
        for _ in range(max_new):
            token = int(np.argmax(logits[0, -1, : self.vocab]))
            tokens.append(token)
            if token in eos_ids:
                break
            total += 1
            logits, past = self.step(self.embed([[token]]), past, total)
        return tokens


def _prompt_ids(processor, model_json, prompt):
    """The LLM prompt ids as the server builds them: model.json's BOS, then the text without the
    tokenizer's own special tokens."""
    ids = processor.tokenizer(prompt, add_special_tokens=False).input_ids
    bos = model_json["llm"]["bos_id"]
    return ([bos] if bos is not None else []) + list(ids)


def _hf_inputs(processor, image, prompt, device, dtype):
    """The processor's tensors on the device, pixels in the model's dtype (as HF's examples pass them)."""
    inputs = processor(images=image, text=prompt, return_tensors="pt")
    return {k: v.to(device, dtype) if v.is_floating_point() else v.to(device) for k, v in inputs.items()}


def _check_prompt_convention(processor, model_json, inputs, prompt_ids, image_token_id):
    """HF's processor and model.json must agree on the prompt ids (BOS convention included)."""
    hf_ids = [int(i) for i in inputs["input_ids"][0].tolist() if i != image_token_id]
    if hf_ids != prompt_ids:
        raise VerificationFailed(f"the HF processor's prompt ids {hf_ids} differ from model.json's convention "
                                 f"{prompt_ids} (llm.bos_id {model_json['llm']['bos_id']})")


def hf_generate(model, inputs, prompt_ids, model_json, **options):
    with torch.no_grad():
        out = model.generate(**inputs, do_sample=False, eos_token_id=list(model_json["llm"]["eos_ids"]),
                             pad_token_id=model_json["llm"]["pad_id"], **options)
    prefix = [int(i) for i in inputs["input_ids"][0].tolist()]
    bos_ids = {model_json["llm"]["bos_id"], model.config.text_config.bos_token_id} - {None}
    ids = strip_prompt([int(i) for i in out[0].tolist()], prefix, bos_ids)
    return until_eos(ids, model_json["llm"]["eos_ids"])


def run(model, processor, out_dir, images, precision, max_tokens, device, reference_out=None, log=print):
    from PIL import Image
    with open(os.path.join(out_dir, manifest.FILE_NAME), encoding="utf-8") as f:
        model_json = json.load(f)
    sessions = _sessions(out_dir, device)
    onnx_model = OnnxGreedy(sessions, model_json)
    family = model_json["family"]
    prompt = model_json["prompt"]
    eos_ids = model_json["llm"]["eos_ids"]
    layers = model_json["llm"]["layers"]
    image_token_id = getattr(model.config, "image_token_index", None) or getattr(model.config, "image_token_id", None)
    vision_t = graphs.VisionGraph(model, family == "instructblip").eval()
    decoder_t = graphs.DecoderGraph(model, layers).eval()
    embed_t = graphs.EmbedGraph(model).eval()
    tolerance = TOLERANCE[precision]
    prompt_ids = _prompt_ids(processor, model_json, prompt)
    failures, report, references = [], [], []
    for path in images:
        name = os.path.basename(path)
        image = Image.open(path).convert("RGB")
        inputs = _hf_inputs(processor, image, prompt, device, next(model.parameters()).dtype)
        _check_prompt_convention(processor, model_json, inputs, prompt_ids, image_token_id)
        pixels = inputs["pixel_values"].float()
        q_ids, q_mask = inputs.get("qformer_input_ids"), inputs.get("qformer_attention_mask")
        with torch.no_grad():
            lang_t = vision_t(pixels, q_ids, q_mask) if family == "instructblip" else vision_t(pixels)
            embeds = torch.cat([lang_t, embed_t(torch.tensor([prompt_ids], device=device))], dim=1)
            n = embeds.shape[1]
            shape = (1, model_json["llm"]["kv_heads"], 0, model_json["llm"]["head_size"])
            empty = [torch.zeros(shape, device=device) for _ in range(2 * layers)]
            logits_t = decoder_t(embeds, torch.ones(1, n, dtype=torch.long, device=device),
                                 torch.arange(n, device=device)[None], *empty)[0]
        lang_o = onnx_model.vision(pixels.cpu().numpy(), None if q_ids is None else q_ids.cpu().numpy(),
                                   None if q_mask is None else q_mask.cpu().numpy())
        logits_o, _ = onnx_model.prefill(lang_o, prompt_ids)
        vision_error = relative_error(lang_o, lang_t.cpu().numpy())
        logits_error = relative_error(logits_o[0, -1], logits_t[0, -1].cpu().numpy())
        ours = onnx_model.greedy(lang_o, prompt_ids, max_tokens, eos_ids)
        theirs = hf_generate(model, inputs, prompt_ids, model_json, num_beams=1, max_new_tokens=max_tokens,
                             repetition_penalty=1.0)
        line = (f"{name}: vision {vision_error:.2e}, first-step logits {logits_error:.2e} (tolerance {tolerance:g}); "
                f"greedy tokens {'identical' if ours == theirs else 'DIFFER'} ({len(ours)})")
        report.append(line)
        log(line)
        if vision_error > tolerance or logits_error > tolerance:
            failures.append(f"{name}: ONNX Runtime drifts from PyTorch beyond {tolerance:g} "
                            f"(vision {vision_error:.3g}, logits {logits_error:.3g})")
        if precision in STRICT_TOKENS and ours != theirs:
            failures.append(f"{name}: greedy tokens differ: ONNX Runtime {ours}, HF generate {theirs}")
        elif ours[:1] != theirs[:1]:
            failures.append(f"{name}: the first greedy token differs: ONNX Runtime {ours[:1]}, HF generate {theirs[:1]}")
        if reference_out:
            references.append(_reference_case(model, processor, inputs, prompt_ids, model_json, name, prompt, ours, theirs))
    if reference_out:
        _write_references(reference_out, model_json, references)
    if failures:
        raise VerificationFailed("; ".join(failures))
    return report


def _reference_case(model, processor, inputs, prompt_ids, model_json, name, prompt, onnx_greedy, hf_greedy):
    g = model_json["generation"]
    beam = hf_generate(model, inputs, prompt_ids, model_json, num_beams=g["num_beams"],
                       max_new_tokens=g["max_new_tokens"], min_new_tokens=g["min_new_tokens"],
                       repetition_penalty=g["repetition_penalty"], length_penalty=g["length_penalty"],
                       early_stopping=g["early_stopping"])
    greedy = hf_generate(model, inputs, prompt_ids, model_json, num_beams=1, max_new_tokens=g["max_new_tokens"],
                         min_new_tokens=g["min_new_tokens"], repetition_penalty=g["repetition_penalty"])
    decode = lambda ids: processor.tokenizer.decode(ids, skip_special_tokens=True).strip()  # noqa: E731
    case = {"image": name, "instruction": prompt, "llm_prompt_ids": prompt_ids,
            "greedy_ids": greedy, "greedy_text": decode(greedy), "beam_ids": beam, "beam_text": decode(beam)}
    if "qformer_input_ids" in inputs:
        case["qformer_input_ids"] = [int(i) for i in inputs["qformer_input_ids"][0].tolist()]
    return case


def _write_references(path, model_json, cases):
    g = model_json["generation"]
    doc = {"model": model_json["id"],
           "generation": {"beam": g, "greedy": dict(g, num_beams=1)},
           "cases": cases}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
