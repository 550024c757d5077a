"""Every place where the exporter meets a difference between library versions, one small function
each, named for the versions it serves, so that a new release means reading this file only.

transformers: 4.46 to 4.57 and 5.x (5.18 is what CI runs); torch: 1.13 (Debian's) to 2.13;
onnxruntime: 1.17 to 1.30. Standard library at import time: torch, transformers and onnxruntime are
imported inside the functions that need them, so tests/test_compat.py checks the branches with
fakes where those packages are missing.
"""
import inspect
import re


def version_tuple(text: str) -> tuple:
    """(major, minor, patch) of a version string such as "4.57.6", "5.18.0" or "2.13.0+cpu"."""
    numbers = [int(n) for n in re.findall(r"\d+", text.split("+")[0])[:3]]
    return tuple(numbers + [0] * (3 - len(numbers)))


def transformers_version() -> tuple:
    import transformers
    return version_tuple(transformers.__version__)


def accepts(fn, name: str) -> bool:
    """Whether fn (a function or a class's __init__) takes a parameter called name."""
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


# --- loading a checkpoint ----------------------------------------------------------------------

def dtype_keyword(version: tuple) -> str:
    """from_pretrained's dtype argument: "torch_dtype" up to 4.55, "dtype" from 4.56 (5.x warns on
    the old name)."""
    return "dtype" if version >= (4, 56) else "torch_dtype"


# --- tokenizers and image processors built by hand (--tiny-random) -----------------------------

def bert_vocabulary_argument(tokenizer_class, vocab_path) -> dict:
    """How a BertTokenizerFast is given a vocab.txt: vocab_file= up to 4.57; 5.x takes vocab= (a
    path or a dict) and silently ignores vocab_file, leaving a five-token vocabulary."""
    if accepts(tokenizer_class.__init__, "vocab_file"):
        return {"vocab_file": vocab_path}
    return {"vocab": vocab_path}


def pil_image_processor_class():
    """BLIP's image processor on PIL's resampling, which LAVIS and the server reproduce: 5.x has
    BlipImageProcessorPil (its BlipImageProcessor uses torchvision where torchvision is installed);
    4.x's BlipImageProcessor is PIL's."""
    import transformers
    return getattr(transformers, "BlipImageProcessorPil", None) or transformers.BlipImageProcessor


def resamples_with_pil(image_processor) -> bool:
    """Whether an image processor resizes with PIL, as LAVIS and the server do: 4.x's
    BlipImageProcessor and 5.x's BlipImageProcessorPil do; the Fast ones (4.x) and 5.x's
    BlipImageProcessor where torchvision is installed use torchvision, whose pixels differ."""
    name = type(image_processor).__name__
    if name.endswith("Fast"):
        return False
    return name.endswith("Pil") or transformers_version() < (5, 0)


# --- the processor's image placeholder ---------------------------------------------------------

def processor_splices_image_tokens(processor_class) -> bool:
    """transformers >= 4.47: the processor takes num_query_tokens and puts that many "<image>"
    tokens before the prompt, which generate() overwrites with the queries; 4.46 concatenates the
    queries before the prompt's embeddings instead and has no placeholder."""
    return accepts(processor_class.__init__, "num_query_tokens")


def image_token_config_name(config_class):
    """The config argument that names the placeholder's id: "image_token_index" (4.47 to 5.x; 5.x
    also answers "image_token_id" through an alias), "image_token_id" where only that exists; None
    before 4.47."""
    for name in ("image_token_index", "image_token_id"):
        if accepts(config_class.__init__, name):
            return name
    annotations = getattr(config_class, "__annotations__", {})  # 5.x configs declare their fields
    for name in ("image_token_index", "image_token_id"):
        if name in annotations:
            return name
    return None


def image_token_id(processor, config=None):
    """The id of the "<image>" placeholder that the processor puts num_query_tokens times before the
    prompt (>= 4.47), or None when it puts none (4.46, or a processor without num_query_tokens: then
    generate() passes the prompt alone). The processor's own token wins over the config's index,
    since the processor's ids are what generate() hands to the language model."""
    if getattr(processor, "num_query_tokens", None) is None:
        return None
    token = getattr(processor, "image_token", None)
    tokenizer = getattr(processor, "tokenizer", None)
    if token is not None and tokenizer is not None:
        found = tokenizer.convert_tokens_to_ids(str(getattr(token, "content", token)))
        unknown = getattr(tokenizer, "unk_token_id", None)
        if isinstance(found, int) and found != unknown:
            return found
    for name in ("image_token_index", "image_token_id"):
        value = getattr(config, name, None) if config is not None else None
        if isinstance(value, int):
            return value
    return None


# --- what generate() returns -------------------------------------------------------------------

def strip_prompt(generated, prompt_ids, bos_ids):
    """HF's generated ids without what precedes the new tokens: the prompt ids (transformers >= 4.47
    passes input_ids, image tokens included, to the language model's generate, which returns them)
    or one BOS (4.46 generates from embeddings and prepends text_config.bos_token_id, which need not
    be the tokenizer's)."""
    ids = list(generated)
    if prompt_ids and ids[: len(prompt_ids)] == list(prompt_ids):
        return ids[len(prompt_ids):]
    if ids[:1] and ids[0] in bos_ids:
        return ids[1:]
    return ids


# --- the language model inside the wrappers ----------------------------------------------------

def causal_lm(model):
    """The language model with its head. Every InstructBLIP/BLIP-2 release from 4.46 to 5.18 keeps
    the head inside model.language_model (an AutoModelForCausalLM); a model whose language_model is
    the bare decoder with model.lm_head beside it (the layout of LLaVA-style refactors) gets both
    wrapped together."""
    lm = model.language_model
    if getattr(lm, "lm_head", None) is not None or not hasattr(model, "lm_head"):
        return lm
    import torch

    class WithHead(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.decoder, self.lm_head = lm, model.lm_head

        def forward(self, **kwargs):
            out = self.decoder(**kwargs)
            out.logits = self.lm_head(out.last_hidden_state)
            return out
    return WithHead()


def cache_in(pairs):
    """Past keys and values as the language model takes them: a DynamicCache where transformers has
    one (>= 4.36; it also answers the legacy tuple indexing of older model code), else tuples."""
    try:
        from transformers.cache_utils import DynamicCache
    except ImportError:
        return tuple(pairs)
    cache = DynamicCache()
    for i, (k, v) in enumerate(pairs):
        cache.update(k, v, i)
    return cache


def cache_out(cache):
    """[(key, value)] per layer from whatever the model returned as its presents: tuples (legacy),
    cache.layers (>= 4.56), cache.key_cache/value_cache (4.36 to 4.55)."""
    if isinstance(cache, (tuple, list)):
        return [(layer[0], layer[1]) for layer in cache]
    if hasattr(cache, "layers"):
        return [(layer.keys, layer.values) for layer in cache.layers]
    if hasattr(cache, "key_cache"):
        return list(zip(cache.key_cache, cache.value_cache))
    return [(layer[0], layer[1]) for layer in cache.to_legacy_cache()]


def logits_to_keep_options(forward, count: int) -> dict:
    """Keyword arguments that limit the LM head to the last `count` positions: logits_to_keep
    (transformers >= 4.50), num_logits_to_keep (4.45-4.49), nothing where neither exists (all
    positions) or when count is 0 (all positions asked for)."""
    if not count:
        return {}
    for name in ("logits_to_keep", "num_logits_to_keep"):
        if accepts(forward, name):
            return {name: count}
    return {}


# --- attention masks that the TorchScript ONNX exporter can trace ------------------------------

def query_positions(cache_position=None, q_length=None, q_offset=0, device=None):
    """The absolute positions of the queries, from the arguments transformers hands a mask builder:
    4.53-4.57 pass cache_position (a tensor of them); 5.x pass q_length and q_offset instead."""
    if cache_position is not None:
        return cache_position
    import torch
    if q_length is None:
        raise TypeError("the mask builder got neither cache_position (transformers 4.53-4.57) nor q_length (5.x)")
    return torch.arange(q_length, device=device) + q_offset


def mask_without_vmap(batch_size, kv_length, kv_offset=0, attention_mask=None, cache_position=None,
                      q_length=None, q_offset=0, device=None, **_):
    """Causal and padding mask, True where a query may attend: what transformers' sdpa_mask builds
    for a causal LM, but with broadcasting instead of torch.vmap, which the TorchScript ONNX exporter
    cannot trace (transformers 4.53-4.57 always vmap; pytorch/pytorch#172880). optimum swaps in the
    same. Takes both generations of the mask-builder signature (see query_positions)."""
    import torch
    if device is None:
        device = cache_position.device if cache_position is not None else \
            (attention_mask.device if attention_mask is not None else "cpu")
    queries = query_positions(cache_position, q_length, q_offset, device)
    kv = torch.arange(kv_length, device=queries.device) + kv_offset
    allowed = kv[None, None, None, :] <= queries[None, None, :, None]
    if attention_mask is not None:
        allowed = allowed & attention_mask[:, None, None, kv_offset: kv_offset + kv_length].bool()
    return allowed.expand(batch_size, 1, queries.shape[0], kv_length)


def eager_mask_without_vmap(*args, dtype=None, **kwargs):
    """mask_without_vmap as the additive float mask eager attention takes."""
    import torch
    dtype = dtype or torch.float32
    allowed = mask_without_vmap(*args, **kwargs)
    return torch.where(allowed, torch.tensor(0.0, dtype=dtype, device=allowed.device), torch.finfo(dtype).min)


def mask_registry():
    """(registry, {name: original builder}) of transformers' attention-mask builders (>= 4.53,
    masking_utils.ALL_MASK_ATTENTION_FUNCTIONS), or None before 4.53, whose masks trace as they are."""
    try:
        from transformers import masking_utils
        registry = masking_utils.ALL_MASK_ATTENTION_FUNCTIONS
        return registry, {"eager": masking_utils.eager_mask, "sdpa": masking_utils.sdpa_mask}
    except (ImportError, AttributeError):
        return None


# --- torch.onnx.export -------------------------------------------------------------------------

def onnx_export_options(export_fn) -> dict:
    """torch >= 2.5 takes dynamo= (and 2.9+ defaults it to True): ask for the TorchScript exporter,
    whose dynamic axes are the ones declared and which emits opset <= 17 on torch 1.13 too."""
    return {"dynamo": False} if accepts(export_fn, "dynamo") else {}


# --- onnxruntime's weight-only quantiser -------------------------------------------------------

def weight_only_quantizer(model, bits, block_size, accuracy_level=None, nodes_to_exclude=()):
    """onnxruntime's MatMulNBits quantiser: >= 1.22 MatMulNBitsQuantizer (4 or 8 bits; >= 1.30
    imports onnx_ir), before that MatMul4BitsQuantizer (4 bits only). An import error names the
    module that is really missing, with the pip command that brings it."""
    try:
        from onnxruntime.quantization.matmul_nbits_quantizer import (DefaultWeightOnlyQuantConfig,
                                                                      MatMulNBitsQuantizer)
    except ImportError as e:
        if not (e.name or "").startswith("onnxruntime.quantization"):
            raise missing_module(e, "onnxruntime's weight-only quantiser") from e
        return _matmul_4bits_quantizer_before_1_22(model, bits, block_size, accuracy_level, nodes_to_exclude, e)
    config = DefaultWeightOnlyQuantConfig(block_size=block_size, is_symmetric=True, bits=bits,
                                          accuracy_level=accuracy_level)
    return MatMulNBitsQuantizer(model, algo_config=config, nodes_to_exclude=list(nodes_to_exclude))


def _matmul_4bits_quantizer_before_1_22(model, bits, block_size, accuracy_level, nodes_to_exclude, cause):
    if bits != 4:
        raise RuntimeError(f"int{bits} weight-only quantisation needs onnxruntime >= 1.22 (MatMulNBitsQuantizer); "
                           f"this one has none ({cause}): pip install 'onnxruntime>=1.22' onnx-ir") from cause
    from onnxruntime.quantization.matmul_4bits_quantizer import (DefaultWeightOnlyQuantConfig,
                                                                  MatMul4BitsQuantizer)
    config = DefaultWeightOnlyQuantConfig(block_size=block_size, is_symmetric=True, accuracy_level=accuracy_level)
    return MatMul4BitsQuantizer(model, algo_config=config, nodes_to_exclude=list(nodes_to_exclude))


# pip distribution names of modules whose import name differs
PIP_NAMES = {"onnx_ir": "onnx-ir", "PIL": "pillow", "google": "protobuf", "sentencepiece": "sentencepiece",
             "ml_dtypes": "ml-dtypes", "yaml": "pyyaml"}


def missing_module(error: ImportError, what: str) -> RuntimeError:
    """A RuntimeError naming the module an ImportError is really about (e.name), and how to get it."""
    name = (getattr(error, "name", None) or "").split(".")[0]
    if not name:
        return RuntimeError(f"{what} could not be imported: {error}")
    return RuntimeError(f"{what} needs the Python module {name!r}, which is not installed: "
                        f"pip install {PIP_NAMES.get(name, name)}  ({error})")
