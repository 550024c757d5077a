"""Reference decoding over the PyTorch model, in both conventions a model.json may name, and the
parity fixtures (reference.json) that the Java tests reproduce.

The model runs through the wrappers the export traces (graphs.VisionGraph, EmbedGraph,
DecoderGraph) as the server runs the ONNX graphs: the language embeddings and the prompt are
prefilled, then one token per running row with the KV cache fed back (reordered by row).

- "lavis": HF beam search as transformers <= 4.33 ran it for LAVIS (inputs_embeds only, so the
  repetition penalty sees generated tokens only, a finished hypothesis is divided by the number of
  tokens before EOS, and the done check compares with this step's best candidate over the length
  before it). Ported from the Python reference that made the project's first fixtures, which the
  Java BeamSearch reproduces.
- "transformers": transformers 4.57 / 5.x `_beam_search` (generation/utils.py: `_get_top_k_continuations`,
  `_get_running_beams_for_next_iteration`, `_update_finished_beams`, `_check_early_stop_heuristic`,
  `_beam_search_has_unfinished_sequences`), with the same tensor operations in the same order, so
  that it gives HF generate's ids exactly; the repetition penalty also covers the language model's
  prompt ids (the processor's image placeholders, BOS and the prompt).

write_fixture asserts that the transformers mode equals HF generate on every case, greedy and
beam: that is what makes the lavis mode, which shares everything else with it, credible.
"""
import functools
import json
import math
import os

import torch

from . import compat, graphs, manifest
from .token_ids import until_eos

CONVENTIONS = ("lavis", "transformers")
FILLER_BEAM_SCORE = -1e9  # HF's score for the copies of the one prefilled row


# --- the model, as the server runs it -----------------------------------------------------------

class TorchRunner:
    """The three wrappers over one HF model: language embeddings of an image, then decodings."""

    def __init__(self, model, model_json, device="cpu"):
        self.model_json, self.device = model_json, device
        layers = model_json["llm"]["layers"]
        self.vision = graphs.VisionGraph(model, model_json["family"] == "instructblip").eval()
        self.embed = graphs.EmbedGraph(model).eval()
        # HF generate computes the LM head on the last position only; so does this (same numbers).
        self.decoder = graphs.DecoderGraph(model, layers, logits_to_keep=1).eval()

    def language_embeds(self, pixel_values, qformer_input_ids=None, qformer_attention_mask=None):
        with torch.no_grad():
            if self.model_json["family"] == "instructblip":
                return self.vision(pixel_values, qformer_input_ids, qformer_attention_mask)
            return self.vision(pixel_values)

    def decoding(self, language_embeds, prompt_ids):
        return Decoding(self, language_embeds, prompt_ids)


class Decoding:
    """One image's decoding: prefill(rows) once, then step(tokens, sources) per generated token,
    where sources[i] is the row of the previous step that row i continues (the KV cache follows)."""

    def __init__(self, runner, language_embeds, prompt_ids):
        self.r = runner
        self.language_embeds, self.prompt_ids = language_embeds, list(prompt_ids)
        self.past, self.total = None, 0

    def _run(self, embeds, positions):
        rows = embeds.shape[0]
        mask = torch.ones(rows, self.total, dtype=torch.long, device=embeds.device)
        with torch.no_grad():
            out = self.r.decoder(embeds, mask, positions, *self.past)
        self.past = list(out[1:])
        return out[0][:, -1].float()

    def prefill(self, rows=1):
        """Logits [rows, V] after the language embeddings and the prompt. HF expands its input to
        num_beams identical rows before prefilling; so does this, for the same numbers."""
        llm = self.r.model_json["llm"]
        device = self.language_embeds.device
        with torch.no_grad():
            prompt = self.r.embed(torch.tensor([self.prompt_ids], dtype=torch.long, device=device))
        embeds = torch.cat([self.language_embeds, prompt], dim=1).repeat(rows, 1, 1)
        self.total = embeds.shape[1]
        self.past = [torch.zeros(rows, llm["kv_heads"], 0, llm["head_size"], device=device)
                     for _ in range(2 * llm["layers"])]
        positions = torch.arange(self.total, device=device)[None].repeat(rows, 1)
        return self._run(embeds, positions)

    def step(self, tokens, sources):
        device = self.language_embeds.device
        index = torch.tensor(sources, dtype=torch.long, device=device)
        self.past = [p.index_select(0, index) for p in self.past]
        with torch.no_grad():
            embeds = self.r.embed(torch.tensor(tokens, dtype=torch.long, device=device)[:, None])
        positions = torch.full((len(tokens), 1), self.total, dtype=torch.long, device=device)
        self.total += 1
        return self._run(embeds, positions)


# --- logits processors, in HF's order -----------------------------------------------------------

class Processors:
    """Repetition penalty (over penalised_prefix + the generated tokens, each distinct id once),
    min-new-tokens EOS ban (generated tokens only), and the mask on logit columns past the
    tokenizer's vocabulary. The lavis convention has no prefix; the transformers one has the
    language model's prompt ids."""

    def __init__(self, vocab_size, eos_ids, repetition_penalty, min_new_tokens, penalised_prefix=()):
        self.vocab_size, self.eos_ids = vocab_size, list(eos_ids)
        self.penalty, self.min_new = repetition_penalty, min_new_tokens
        self.prefix = list(penalised_prefix)

    def __call__(self, generated, scores):
        """scores: one row [W]; returns a processed copy."""
        scores = scores.clone()
        width = scores.shape[-1]
        seen = sorted({i for i in self.prefix + list(generated) if i < width})
        if self.penalty != 1.0 and seen:
            ids = torch.tensor(seen, dtype=torch.long, device=scores.device)
            s = scores[ids]
            scores[ids] = torch.where(s < 0, s * self.penalty, s / self.penalty)
        if len(generated) < self.min_new:
            scores[self.eos_ids] = -math.inf
        if width > self.vocab_size:
            scores[self.vocab_size:] = -math.inf
        return scores

    def rows(self, sequences, scores):
        return torch.stack([self(seq, scores[r]) for r, seq in enumerate(sequences)])


# --- greedy (both conventions: only the processors' prefix differs) -----------------------------

def greedy(decoding, processors, max_new_tokens, eos_ids):
    """Processors on the raw logits, then the first maximum; EOS kept when it ends the sequence."""
    logits = decoding.prefill(1)
    out = []
    while True:
        token = int(torch.argmax(processors(out, logits[0])))
        out.append(token)
        if token in eos_ids or len(out) >= max_new_tokens:
            return out
        logits = decoding.step([token], [0])


# --- beam search, lavis (transformers <= 4.33 as LAVIS runs it) ---------------------------------

class LavisHypotheses:
    """transformers <= 4.33's BeamHypotheses: the n best finished hypotheses, Python floats."""

    def __init__(self, num_beams, length_penalty):
        self.num_beams, self.length_penalty = num_beams, length_penalty
        self.beams, self.worst_score = [], 1e9

    def add(self, tokens, sum_logprobs):
        score = sum_logprobs / (len(tokens) ** self.length_penalty)
        if len(self.beams) < self.num_beams or score > self.worst_score:
            self.beams.append((score, list(tokens)))
            if len(self.beams) > self.num_beams:
                ranked = sorted((s, i) for i, (s, _) in enumerate(self.beams))  # among equals the earliest goes
                del self.beams[ranked[0][1]]
                self.worst_score = ranked[1][0]
            else:
                self.worst_score = min(score, self.worst_score)

    def is_done(self, best_sum_logprobs, cur_len, early_stopping):
        if len(self.beams) < self.num_beams:
            return False
        if early_stopping:
            return True
        return self.worst_score >= best_sum_logprobs / (cur_len ** self.length_penalty)

    def best(self):
        # finalize() sorted by score and popped the last: among equals, the one added last
        return sorted(self.beams, key=lambda h: h[0])[-1][1]


def beam_lavis(decoding, processors, num_beams, max_new_tokens, length_penalty, early_stopping, eos_ids):
    """inputs_embeds only, so HF's input_ids hold generated tokens: an EOS among the first
    num_beams candidates finishes the tokens before it, scored sum_logprobs / len ** lp; done once
    num_beams are finished and the worst is at least this step's best candidate / cur_len ** lp
    (cur_len: tokens before this step); at max_new_tokens the running beams are added too."""
    nb = num_beams
    logits = decoding.prefill(nb)
    seqs = [[] for _ in range(nb)]
    beam_scores = torch.tensor([0.0] + [FILLER_BEAM_SCORE] * (nb - 1))
    hyps = LavisHypotheses(nb, length_penalty)
    width = logits.shape[-1]
    keep = max(2, 1 + len(eos_ids)) * nb
    while True:
        cur_len = len(seqs[0])
        logp = processors.rows(seqs, torch.log_softmax(logits.float(), dim=-1))
        scores = (logp + beam_scores[:, None]).reshape(-1)
        top_scores, top_idx = torch.topk(scores, keep, largest=True, sorted=True)
        next_scores, next_tokens, next_rows = [], [], []
        for rank, (score, index) in enumerate(zip(top_scores.tolist(), top_idx.tolist())):
            row, token = index // width, index % width
            if token in eos_ids:
                if rank < nb:
                    hyps.add(seqs[row], score)
            else:
                next_scores.append(score)
                next_tokens.append(token)
                next_rows.append(row)
            if len(next_tokens) == nb:
                break
        done = hyps.is_done(top_scores[0].item(), cur_len, early_stopping)
        seqs = [seqs[r] + [t] for r, t in zip(next_rows, next_tokens)]
        beam_scores = torch.tensor(next_scores)
        if done or len(seqs[0]) >= max_new_tokens:
            break
        logits = decoding.step(next_tokens, next_rows)
    if not done:
        for r in range(nb):
            hyps.add(seqs[r], beam_scores[r].item())
    best = hyps.best()
    # finalize() wrote eos_token_id[0] after a hypothesis shorter than the maximum length
    return best + [eos_ids[0]] if len(best) < max_new_tokens else best


# --- beam search, transformers 4.57 / 5.x -------------------------------------------------------

def beam_transformers(decoding, processors, num_beams, max_new_tokens, length_penalty, early_stopping, eos_ids):
    """transformers' _beam_search for one input row, the same tensor operations in the same order.
    A candidate hits when its token is EOS or it reaches max_new_tokens; hitting candidates among
    the first num_beams become finished hypotheses with the token (EOS counted in the length)."""
    nb = num_beams
    keep = max(2, 1 + len(eos_ids)) * nb
    top_num_beam_mask = torch.cat((torch.ones(nb, dtype=torch.bool), torch.zeros(keep - nb, dtype=torch.bool)))
    logits = decoding.prefill(nb)
    width = logits.shape[-1]
    eos = torch.tensor(list(eos_ids), dtype=torch.long)

    running = [[] for _ in range(nb)]
    running_scores = torch.zeros((1, nb), dtype=torch.float)
    running_scores[:, 1:] = FILLER_BEAM_SCORE
    finished = [[] for _ in range(nb)]
    finished_scores = torch.full((1, nb), fill_value=FILLER_BEAM_SCORE, dtype=torch.float)
    is_finished = torch.zeros((1, nb), dtype=torch.bool)
    improvable = torch.ones((1, 1), dtype=torch.bool)
    gen = 0
    while True:
        # b. log-probs, processors, plus the running scores
        log_probs = processors.rows(running, torch.log_softmax(logits.float(), dim=-1))
        log_probs = (log_probs[None] + running_scores[:, :, None]).reshape(1, -1)
        # c. top-K continuations
        topk_log_probs, topk_indices = torch.topk(log_probs, k=keep)
        rows = (topk_indices // width)[0].tolist()
        tokens = (topk_indices % width)[0].tolist()
        candidates = [running[r] + [t] for r, t in zip(rows, tokens)]
        # d. which candidates hit a stopping criterion (EOS, or the maximum length)
        hits = torch.isin(torch.tensor(tokens), eos) | torch.tensor([gen + 1 >= max_new_tokens] * keep)
        hits = hits[None]
        # e. the next running beams: the best candidates that do not hit
        topk_running_log_probs = topk_log_probs + hits.to(torch.float32) * -1.0e9
        next_index = torch.topk(topk_running_log_probs, k=nb)[1]
        next_running = [candidates[i] for i in next_index[0].tolist()]
        next_sources = [rows[i] for i in next_index[0].tolist()]
        running_scores = torch.take_along_dim(topk_running_log_probs, next_index, dim=1)
        # f. finished hypotheses: hitting candidates among the first num_beams, divided by the new length
        just_finished = hits & top_num_beam_mask[None, :]
        scores = topk_log_probs / ((gen + 1) ** length_penalty)
        full = torch.all(is_finished, dim=-1, keepdim=True) & (early_stopping is True)
        scores += full.to(torch.float32) * -1.0e9
        scores += (~improvable).to(torch.float32) * -1.0e9
        scores += (~just_finished) * -1.0e9
        merged = finished + candidates
        merged_scores = torch.cat((finished_scores, scores), dim=1)
        merged_finished = torch.cat((is_finished, just_finished), dim=1)
        best_index = torch.topk(merged_scores, k=nb)[1]
        finished = [merged[i] for i in best_index[0].tolist()]
        finished_scores = torch.take_along_dim(merged_scores, best_index, dim=1)
        is_finished = torch.take_along_dim(merged_finished, best_index, dim=1)
        # g. can the running beams still beat the worst finished one?
        gen += 1
        best_possible = running_scores[:, :1] / (gen ** length_penalty)
        worst = torch.where(is_finished, torch.min(finished_scores, dim=1, keepdim=True)[0], -1.0e9)
        improvable = improvable & torch.any(best_possible > worst, dim=-1, keepdim=True)
        open_beam = ~(torch.all(is_finished) & (early_stopping is True))
        if not bool(torch.any(improvable) & open_beam & ~torch.all(hits)):
            break
        running = next_running
        logits = decoding.step([seq[-1] for seq in running], next_sources)
    return until_eos(finished[0], eos_ids)


# --- one entry point ----------------------------------------------------------------------------

def search(decoding, model_json, convention, num_beams, max_new_tokens, min_new_tokens=1,
           repetition_penalty=1.0, length_penalty=1.0, early_stopping=False, lm_prompt_ids=()):
    """Generated ids (EOS included when the sequence ended on it) for one image's decoding.
    lm_prompt_ids: what the transformers convention's repetition penalty covers besides the
    generated tokens (see lm_prompt_ids())."""
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, was {convention!r}")
    llm = model_json["llm"]
    eos_ids = list(llm["eos_ids"])
    prefix = list(lm_prompt_ids) if convention == "transformers" else []
    processors = Processors(llm["vocab_size"], eos_ids, repetition_penalty, min_new_tokens, prefix)
    if num_beams == 1:
        return greedy(decoding, processors, max_new_tokens, eos_ids)
    beam = beam_lavis if convention == "lavis" else beam_transformers
    return beam(decoding, processors, num_beams, max_new_tokens, length_penalty, early_stopping, eos_ids)


def llm_prompt_ids(tokenizer, model_json, prompt):
    """The LLM prompt ids as the server builds them: model.json's BOS, then the text without the
    tokenizer's own special tokens."""
    ids = tokenizer(prompt, add_special_tokens=False).input_ids
    bos = model_json["llm"]["bos_id"]
    return ([bos] if bos is not None else []) + list(ids)


def lm_prompt_ids(model_json, prompt_ids):
    """The ids HF generate hands the language model (transformers >= 4.47): query_tokens image
    placeholders, when model.json names one, then the LLM prompt ids."""
    image = model_json["llm"].get("image_token_id")
    placeholders = [image] * model_json["qformer"]["query_tokens"] if image is not None else []
    return placeholders + list(prompt_ids)


# --- HF generate --------------------------------------------------------------------------------

def suppressed_columns(model, model_json):
    """LM-head rows past the tokenizer's vocabulary (OPT pads its table): the server masks them, so
    HF generate is asked to suppress them, which is the same -inf after log-softmax."""
    rows = model.get_output_embeddings().weight.shape[0]
    return list(range(model_json["llm"]["vocab_size"], rows))


def hf_generate(model, inputs, model_json, **options):
    """HF generate's new ids (cut after the first EOS) for one processed input, eager and greedy
    or beam as the options say."""
    suppress = suppressed_columns(model, model_json)
    if suppress:
        options["suppress_tokens"] = suppress
    with torch.no_grad():
        out = model.generate(**inputs, do_sample=False, eos_token_id=list(model_json["llm"]["eos_ids"]),
                             pad_token_id=model_json["llm"]["pad_id"], **options)
    prefix = [int(i) for i in inputs["input_ids"][0].tolist()]
    bos_ids = {model_json["llm"]["bos_id"], model.config.text_config.bos_token_id} - {None}
    ids = compat.strip_prompt([int(i) for i in out[0].tolist()], prefix, bos_ids)
    return until_eos(ids, model_json["llm"]["eos_ids"])


def generation_options(model_json):
    """{"beam": ..., "greedy": ...}: the decoding options of model.json, as reference.json records them."""
    g = {k: v for k, v in model_json["generation"].items() if k != "convention"}
    return {"beam": g, "greedy": dict(g, num_beams=1)}


def _hf_options(options):
    keys = ["num_beams", "max_new_tokens", "min_new_tokens", "repetition_penalty"]
    if options["num_beams"] > 1:
        keys += ["length_penalty", "early_stopping"]
    return {k: options[k] for k in keys}


def _search_options(options):
    return {k: options[k] for k in ("num_beams", "max_new_tokens", "min_new_tokens", "repetition_penalty",
                                    "length_penalty", "early_stopping")}


# --- the fixture ---------------------------------------------------------------------------------

class ParityFailure(AssertionError):
    """The reference search's transformers mode did not give HF generate's ids."""


def processor_inputs(processor, image, instruction, device, dtype):
    inputs = processor(images=image, text=instruction, return_tensors="pt")
    return {k: v.to(device, dtype) if v.is_floating_point() else v.to(device) for k, v in inputs.items()}


def check_lm_prompt(inputs, expected, name):
    """The processor's input_ids (what HF generate hands the language model) must be the ids the
    server would build from model.json; else the transformers convention could not be reproduced."""
    actual = [int(i) for i in inputs["input_ids"][0].tolist()]
    if actual != list(expected):
        raise ParityFailure(f"{name}: the HF processor's input_ids {actual} are not model.json's convention "
                            f"{list(expected)} (llm.image_token_id, qformer.query_tokens, llm.bos_id)")


def _check_tokenizer_file(model_dir, model_json, prompt, prompt_ids, name):
    """The shipped llm/tokenizer.json must give the prompt the ids HF's tokenizer gave."""
    try:
        from tokenizers import Tokenizer
    except ImportError:
        return
    tok = Tokenizer.from_file(os.path.join(model_dir, model_json["llm"]["tokenizer"]["file"]))
    ids = tok.encode(prompt, add_special_tokens=False).ids
    bos = model_json["llm"]["bos_id"]
    if ([bos] if bos is not None else []) + ids != list(prompt_ids):
        raise ParityFailure(f"{name}: llm/tokenizer.json encodes the prompt as {ids}, HF's tokenizer as {prompt_ids}")


def caption_text(tokenizer, model_json, ids):
    """The caption as LAVIS and the server decode it: BOS, EOS and pad ids dropped, special tokens
    skipped, stripped. The drop matters where the tokenizer does not mark "</s>" special (the
    project's LLaMA tokenizer.json does not); Vicuna's does, so LAVIS's skip_special_tokens drops it."""
    llm = model_json["llm"]
    dropped = {llm["bos_id"], llm["pad_id"], *llm["eos_ids"]} - {None}
    return tokenizer.decode([i for i in ids if i not in dropped], skip_special_tokens=True).strip()


def reference_case(model, processor, runner, model_dir, model_json, case, device="cpu"):
    """One case of reference.json: HF generate's ids (transformers), the reference search's in both
    conventions; raises ParityFailure when the search's transformers mode is not HF's."""
    from PIL import Image
    options = generation_options(model_json)
    name, instruction = case["image"], case["instruction"]
    image = Image.open(case["path"]).convert("RGB")
    inputs = processor_inputs(processor, image, instruction, device, next(model.parameters()).dtype)
    prompt_ids = llm_prompt_ids(processor.tokenizer, model_json, instruction)
    lm_ids = lm_prompt_ids(model_json, prompt_ids)
    check_lm_prompt(inputs, lm_ids, name)
    _check_tokenizer_file(model_dir, model_json, instruction, prompt_ids, name)
    lang = runner.language_embeds(inputs["pixel_values"].float(), inputs.get("qformer_input_ids"),
                                  inputs.get("qformer_attention_mask"))
    result = {"image": name, "instruction": instruction}
    if "qformer_input_ids" in inputs:
        result["qformer_input_ids"] = [int(i) for i in inputs["qformer_input_ids"][0].tolist()]
    result["llm_prompt_ids"] = prompt_ids
    if case.get("expected") is not None:
        result["expected"] = case["expected"]
    decode = functools.partial(caption_text, processor.tokenizer, model_json)
    for convention in CONVENTIONS:
        ids = {}
        for mode in ("greedy", "beam"):
            ids[mode] = search(runner.decoding(lang, prompt_ids), model_json, convention,
                               lm_prompt_ids=lm_ids, **_search_options(options[mode]))
            if convention == "transformers":
                theirs = hf_generate(model, inputs, model_json, **_hf_options(options[mode]))
                if theirs != ids[mode]:
                    raise ParityFailure(f"{name}: {mode}: the reference search's transformers mode gives {ids[mode]}, "
                                        f"HF generate {theirs}")
        result[convention] = {"greedy_ids": ids["greedy"], "greedy_text": decode(ids["greedy"]),
                              "beam_ids": ids["beam"], "beam_text": decode(ids["beam"])}
    return result


def _versions():
    import transformers
    return {"transformers": transformers.__version__, "torch": torch.__version__}


def write_fixture(model, processor, model_dir, cases, path, device="cpu", log=print) -> dict:
    """Writes reference.json for the model directory model_dir (exported from model) to path and
    returns it. cases: [{"image": classpath resource name, "path": file, "instruction": str,
    optional "expected": str}]. Per case: HF generate's greedy and beam ids ("transformers") and
    the reference search's lavis ids, with the Q-Former and LLM prompt ids and the decoded texts;
    the generation options are model.json's. Raises ParityFailure unless the reference search's
    transformers mode equals HF generate on every case."""
    with open(os.path.join(model_dir, manifest.FILE_NAME), encoding="utf-8") as f:
        model_json = json.load(f)
    runner = TorchRunner(model, model_json, device)
    if not compat.resamples_with_pil(processor.image_processor):
        log(f"warning: {type(processor.image_processor).__name__} does not resize with PIL, so these pixels are "
            "not the server's: build the processor with compat.pil_image_processor_class() (or uninstall torchvision)")
    out = []
    for case in cases:
        c = reference_case(model, processor, runner, model_dir, model_json, case, device)
        out.append(c)
        differ = [m for m in ("greedy", "beam") if c["lavis"][f"{m}_ids"] != c["transformers"][f"{m}_ids"]]
        log(f"{c['image']}: greedy {len(c['transformers']['greedy_ids'])} tokens, beam "
            f"{len(c['transformers']['beam_ids'])}; transformers mode = HF generate; "
            f"{'lavis differs in ' + ' and '.join(differ) if differ else 'lavis agrees'}")
    doc = {"model": model_json["id"], "versions": _versions(), "generation": generation_options(model_json),
           "cases": out}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    log(f"wrote {path}: {len(out)} cases, {count_differing(doc)} where the lavis and transformers ids differ")
    return doc


def count_differing(doc):
    """Cases of a reference.json whose lavis and transformers ids differ (greedy or beam)."""
    return sum(1 for c in doc["cases"]
               if any(c["lavis"][f"{m}_ids"] != c["transformers"][f"{m}_ids"] for m in ("greedy", "beam")))


def resource_name(path, resources_dir):
    """The classpath resource name of an image file: its path under resources_dir, else its name."""
    full, root = os.path.abspath(path), os.path.abspath(resources_dir)
    if full.startswith(root + os.sep):
        return os.path.relpath(full, root).replace(os.sep, "/")
    return os.path.basename(path)
