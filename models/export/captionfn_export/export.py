"""The export, step by step: load the checkpoint (or build --tiny-random), write the tokenizers,
export the three graphs, quantise if asked, write model.json with every file's sha256, verify."""
import json
import os
import sys
import time

import torch

from . import graphs, manifest, precision, tokenizer_files, verify
from .verify import VerificationFailed  # noqa: F401  (the CLI catches it from here)


def log(message):
    print(message, file=sys.stderr, flush=True)


def _model_class(model_type):
    import transformers
    classes = {"instructblip": "InstructBlipForConditionalGeneration", "blip-2": "Blip2ForConditionalGeneration"}
    if model_type not in classes:
        raise SystemExit(f"{model_type} checkpoints are not supported (InstructBLIP and BLIP-2 are)")
    return getattr(transformers, classes[model_type])


def load_checkpoint(args, dtype):
    from transformers import AutoConfig, AutoProcessor, BertTokenizerFast
    config = AutoConfig.from_pretrained(args.checkpoint, revision=args.revision)
    cls = _model_class(config.model_type)
    # Eager attention traces to plain MatMul/Softmax for every opset and ONNX Runtime provider.
    kwargs = {"revision": args.revision, "torch_dtype": dtype, "attn_implementation": "eager"}
    model = cls.from_pretrained(args.checkpoint, **kwargs).to(args.device).eval()
    processor = AutoProcessor.from_pretrained(args.checkpoint, revision=args.revision)
    qformer_tokenizer = getattr(processor, "qformer_tokenizer", None)
    if qformer_tokenizer is None:
        # BLIP-2 checkpoints ship no Q-Former tokenizer (its Q-Former reads no text), but the model
        # directory names one: LAVIS's, bert-base-uncased plus [DEC].
        qformer_tokenizer = BertTokenizerFast.from_pretrained("bert-base-uncased", truncation_side="left")
        qformer_tokenizer.add_special_tokens({"bos_token": "[DEC]"})
    return model, processor, qformer_tokenizer


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


def run(args):
    started = time.monotonic()
    show = not args.quiet
    dtype = torch.float16 if args.precision == "fp16" else torch.float32
    if args.tiny_random:
        from . import tiny_random
        log(f"building a tiny random {args.tiny_random} (seed {args.seed})")
        model, processor, qformer_tokenizer = tiny_random.build(args.tiny_random, args.seed)
        model = model.to(device=args.device, dtype=dtype)
    else:
        log(f"loading {args.checkpoint} ({dtype}) on {args.device}")
        model, processor, qformer_tokenizer = load_checkpoint(args, dtype)
    config = model.config
    recipe = manifest.recipe_for(config.model_type, config.text_config.model_type)
    os.makedirs(args.out, exist_ok=True)

    ids = write_tokenizers(args.out, processor, qformer_tokenizer, recipe,
                           model.get_output_embeddings().weight.shape[0])

    log(f"exporting the graphs (opset {args.opset})")
    data = graphs.export_all(model, recipe.family, args.out, args.opset, args.device, show)
    if args.precision in ("int8", "int4"):
        bits = 8 if args.precision == "int8" else 4
        data = precision.quantize_graphs(args.out, manifest.GRAPH_FILES, bits, args.block_size, show)

    hidden, layers, kv_heads, head_size = graphs.llm_shape(model)
    source = {"checkpoint": args.checkpoint or f"--tiny-random {args.tiny_random} --seed {args.seed}",
              "revision": args.revision, "precision": args.precision, "opset": args.opset, **_versions()}
    if args.precision in ("int8", "int4"):
        source["block_size"] = args.block_size
    spec = manifest.ModelSpec(
        id=_model_id(args), family=recipe.family,
        description=f"{source['checkpoint']} exported by models/export/export_model.py ({args.precision})",
        image_size=config.vision_config.image_size, qformer_max_length=recipe.qformer_max_length,
        query_tokens=config.num_query_tokens,
        llm=manifest.LlmSpec(hidden_size=hidden, layers=layers, kv_heads=kv_heads, head_size=head_size, **ids),
        prompt=recipe.prompt, generation=recipe.generation,
        graph_data={k: tuple(v) for k, v in data.items() if v},
        source={k: v for k, v in source.items() if v is not None})
    manifest.write(spec, args.out, show_progress=show)
    log(f"wrote {args.out} in {time.monotonic() - started:.0f} s")

    if args.verify:
        log(f"verifying on {len(args.images)} images")
        verify.run(model, processor, args.out, args.images, args.precision, args.verify_tokens, args.device,
                   args.reference_out, log=log)
        log("verification passed")
