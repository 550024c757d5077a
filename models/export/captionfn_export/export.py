"""The export, step by step: load the checkpoint (or build --tiny-random), write the tokenizers,
export the three graphs, quantise if asked, write model.json with every file's sha256, verify."""
import dataclasses
import json
import os
import sys
import time

import torch

from . import compat, graphs, manifest, precision, tokenizer_files, verify
from .verify import VerificationFailed  # noqa: F401  (the CLI catches it from here)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))  # the repository


def log(message):
    print(message, file=sys.stderr, flush=True)


def _model_class(model_type):
    import transformers
    classes = {"instructblip": "InstructBlipForConditionalGeneration", "blip-2": "Blip2ForConditionalGeneration"}
    if model_type not in classes:
        raise SystemExit(f"{model_type} checkpoints are not supported (InstructBLIP and BLIP-2 are)")
    return getattr(transformers, classes[model_type])


def load_checkpoint(args, dtype):
    """(model, processor, Q-Former tokenizer) from a hub id or a directory saved with save_pretrained."""
    from transformers import AutoConfig, AutoProcessor
    config = AutoConfig.from_pretrained(args.checkpoint, revision=args.revision)
    cls = _model_class(config.model_type)
    # Eager attention traces to plain MatMul/Softmax for every opset and ONNX Runtime provider.
    kwargs = {"revision": args.revision, compat.dtype_keyword(compat.transformers_version()): dtype,
              "attn_implementation": "eager"}
    model = cls.from_pretrained(args.checkpoint, **kwargs).to(args.device).eval()
    processor = AutoProcessor.from_pretrained(args.checkpoint, revision=args.revision)
    qformer_tokenizer = getattr(processor, "qformer_tokenizer", None)
    if qformer_tokenizer is None:
        qformer_tokenizer = _blip2_qformer_tokenizer()
    return model, processor, qformer_tokenizer


def _blip2_qformer_tokenizer():
    """BLIP-2 checkpoints ship no Q-Former tokenizer (its Q-Former reads no text), but the model
    directory names one: LAVIS's, bert-base-uncased plus [DEC]; the project's copy when it is
    there (no download), else the hub's."""
    from transformers import BertTokenizerFast
    from . import tiny_random
    if os.path.isfile(tiny_random.BERT_VOCAB):
        tok = BertTokenizerFast(do_lower_case=True, truncation_side="left",
                                **compat.bert_vocabulary_argument(BertTokenizerFast, tiny_random.BERT_VOCAB))
    else:
        tok = BertTokenizerFast.from_pretrained("bert-base-uncased", truncation_side="left")
    tok.add_special_tokens({"bos_token": "[DEC]"})
    return tok


def write_tokenizers(out_dir, processor, qformer_tokenizer, recipe, head_rows):
    """Writes both tokenizer.json files; returns the LLM's special ids, checked against HF's tokenizer,
    and the vocab_size model.json records for an LM head of head_rows."""
    qformer, _ = tokenizer_files.qformer_tokenizer(json.loads(qformer_tokenizer.backend_tokenizer.to_str()))
    tokenizer_files.save(qformer, os.path.join(out_dir, manifest.QFORMER_TOKENIZER))
    hf = processor.tokenizer
    if not hasattr(hf, "backend_tokenizer"):
        raise SystemExit("the checkpoint's LLM tokenizer has no fast (tokenizer.json) form; install "
                         "sentencepiece and protobuf so that transformers can convert it")
    llm = tokenizer_files.llm_tokenizer(json.loads(hf.backend_tokenizer.to_str()))
    tokenizer_files.save(llm, os.path.join(out_dir, manifest.LLM_TOKENIZER))
    ids = tokenizer_files.llm_ids(llm, recipe)
    for text, token in zip(recipe.eos_tokens, ids["eos_ids"]):
        if hf(text, add_special_tokens=False).input_ids != [token]:
            raise SystemExit(f"the tokenizer.json gives {token} for EOS {text!r}, HF's tokenizer "
                             f"{hf(text, add_special_tokens=False).input_ids}")
    ids["vocab_size"] = tokenizer_files.generated_vocab_size(llm, head_rows)
    return ids


def _model_id(args):
    if args.id:
        return args.id
    base = f"tiny-random-{args.tiny_random}" if args.tiny_random else os.path.basename(args.checkpoint.rstrip("/"))
    if args.tiny_random and args.random_size != "tiny":
        base += f"-{args.random_size}"
    return f"{base.lower()}-{args.precision}"


def _versions():
    import onnx
    import transformers
    out = {"transformers": transformers.__version__, "torch": torch.__version__, "onnx": onnx.__version__}
    try:
        import onnxruntime
        out["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        pass
    return out


def _checkpoint_name(args):
    if args.tiny_random:
        size = f" --random-size {args.random_size}" if args.random_size != "tiny" else ""
        return f"--tiny-random {args.tiny_random}{size} --seed {args.seed}"
    if os.path.isdir(args.checkpoint):
        return os.path.relpath(os.path.abspath(args.checkpoint), ROOT) if _inside(args.checkpoint, ROOT) \
            else os.path.abspath(args.checkpoint)
    return args.checkpoint


def _inside(path, root):
    return os.path.abspath(path).startswith(os.path.abspath(root) + os.sep)


def source_of(args) -> dict:
    """model.json's "source": how the directory was made, enough to make it again."""
    source = {"checkpoint": _checkpoint_name(args), "revision": args.revision, "precision": args.precision,
              "opset": args.opset, **_versions()}
    if args.precision in ("int8", "int4"):
        source["quantization"] = {"method": "MatMulNBits weight-only, symmetric", "bits": 8 if args.precision == "int8" else 4,
                                  "block_size": args.block_size, "accuracy_level": args.accuracy_level,
                                  "graphs": list(args.quantize_graphs)}
    return {k: v for k, v in source.items() if v is not None}


def load(args, dtype):
    if args.tiny_random:
        from . import tiny_random
        log(f"building a tiny random {args.tiny_random} ({args.random_size}, seed {args.seed})")
        model, processor, qformer_tokenizer = tiny_random.build(args.tiny_random, args.seed, args.random_size)
        log(f"{tiny_random.parameters(model) / 1e6:.1f}M parameters")
        return model.to(device=args.device, dtype=dtype), processor, qformer_tokenizer
    log(f"loading {args.checkpoint} ({dtype}) on {args.device}")
    return load_checkpoint(args, dtype)


def run(args):
    started = time.monotonic()
    show = not args.quiet
    dtype = torch.float16 if args.precision == "fp16" else torch.float32
    model, processor, qformer_tokenizer = load(args, dtype)
    config = model.config
    recipe = manifest.recipe_for(config.model_type, config.text_config.model_type)
    os.makedirs(args.out, exist_ok=True)

    ids = write_tokenizers(args.out, processor, qformer_tokenizer, recipe,
                           model.get_output_embeddings().weight.shape[0])
    ids["image_token_id"] = compat.image_token_id(processor, config)

    log(f"exporting the graphs (opset {args.opset})")
    log(f"decoder contract {args.decoder_contract}, {args.kv_dtype} KV")
    data = graphs.export_all(model, recipe.family, args.out, args.opset, args.device, show,
                             contract=args.decoder_contract, kv_dtype=args.kv_dtype)
    if args.precision in ("int8", "int4"):
        bits = 8 if args.precision == "int8" else 4
        files = {name: manifest.GRAPH_FILES[name] for name in args.quantize_graphs}
        data.update(precision.quantize_graphs(args.out, files, bits, args.block_size, args.accuracy_level, show))

    hidden, layers, kv_heads, head_size = graphs.llm_shape(model)
    source = source_of(args)
    generation = recipe.generation
    if args.convention:
        generation = dataclasses.replace(generation, convention=args.convention)
    spec = manifest.ModelSpec(
        id=_model_id(args), family=recipe.family,
        description=f"{source['checkpoint']} exported by models/export/export_model.py ({args.precision})",
        image_size=config.vision_config.image_size, qformer_max_length=recipe.qformer_max_length,
        query_tokens=config.num_query_tokens,
        llm=manifest.LlmSpec(hidden_size=hidden, layers=layers, kv_heads=kv_heads, head_size=head_size, **ids),
        prompt=recipe.prompt, generation=generation,
        graph_data={k: tuple(v) for k, v in data.items() if v}, source=source,
        decoder_contract=args.decoder_contract, kv_dtype=args.kv_dtype)
    manifest.write(spec, args.out, show_progress=show)
    log(f"wrote {args.out} in {time.monotonic() - started:.0f} s")

    if args.verify:
        log(f"verifying on {len(args.images)} images")
        verify.run(model, processor, args.out, args.images, args.precision, args.verify_tokens, args.device, log=log)
        log("verification passed")
    if args.reference_out:
        write_reference(model, processor, args)


def write_reference(model, processor, args):
    """--reference-out: reference.json over the --images with the recipe's prompt (reference_search)."""
    from . import reference_search
    prompt = manifest.read(args.out)["prompt"]
    resources = os.path.join(ROOT, "src", "test", "resources")
    cases = [{"image": reference_search.resource_name(p, resources), "path": p, "instruction": prompt}
             for p in args.images]
    try:
        reference_search.write_fixture(model, processor, args.out, cases, args.reference_out, args.device, log=log)
    except reference_search.ParityFailure as e:
        raise verify.VerificationFailed(str(e)) from e
