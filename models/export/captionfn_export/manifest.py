"""model.json: what it holds, the family defaults it records, and the sha256 of every file.

Standard library only, so that CI tests it without torch or transformers. The layout is the one
models/README.md documents and dev.captionfn.modeldir.ManifestReader reads. This module is the one
writer of model.json: export_model.py writes every model directory through write(), the embedded
default model's too (models/tiny/make_tiny_model.py runs export_model.py on its checkpoint), and
so does tests/make_standin_fixture.py.
"""
import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Optional

from . import progress

# The layout versions written as model.json's "format"; the server refuses any other (and none).
# FORMAT (1) is the decoder contract v1, FORMAT_V2 (2) the contract v2 (a beam_idx input, logits
# of the last position only, a kv_dtype). tests/test_manifest.py checks that Java's
# ManifestReader reads exactly FORMATS.
FORMAT = 1
FORMAT_V2 = 2
FORMATS = (FORMAT, FORMAT_V2)
# model.json's format for each decoder contract
CONTRACT_FORMATS = {1: FORMAT, 2: FORMAT_V2}
CONTRACTS = tuple(CONTRACT_FORMATS)
# graphs.decoder.kv_dtype (format 2): the element type of the decoder's pasts and presents. float16
# halves the bytes a GPU keeps and moves per step; format 1's are float32.
KV_DTYPES = ("float32", "float16")
FILE_NAME = "model.json"
QFORMER_TOKENIZER = "qformer/tokenizer.json"
LLM_TOKENIZER = "llm/tokenizer.json"
GRAPH_FILES = {"vision": "vision.onnx", "embed": "embed.onnx", "decoder": "decoder.onnx"}

# Tensor names, by role, as a real export writes them (HF/optimum style); the graphs module names
# the ONNX inputs and outputs with exactly these, and model.json maps roles to them.
VISION_INPUTS = {"pixel_values": "pixel_values", "qformer_input_ids": "qformer_input_ids",
                 "qformer_attention_mask": "qformer_attention_mask"}
VISION_OUTPUTS = {"language_embeds": "language_embeds"}
EMBED_INPUTS = {"input_ids": "input_ids"}
EMBED_OUTPUTS = {"inputs_embeds": "inputs_embeds"}
DECODER_INPUTS = {"inputs_embeds": "inputs_embeds", "attention_mask": "attention_mask",
                  "position_ids": "position_ids",
                  "past_key": "past_key_values.{i}.key", "past_value": "past_key_values.{i}.value"}
# Contract v2: beam_idx int64 [batch] says which past row each row continues (gathered inside the graph).
DECODER_INPUTS_V2 = {"inputs_embeds": "inputs_embeds", "attention_mask": "attention_mask",
                     "position_ids": "position_ids", "beam_idx": "beam_idx",
                     "past_key": "past_key_values.{i}.key", "past_value": "past_key_values.{i}.value"}
DECODER_OUTPUTS = {"logits": "logits", "present_key": "present.{i}.key", "present_value": "present.{i}.value"}

FAMILIES = ("instructblip", "blip2")
# Both families are preprocessed as LAVIS's blip2 image processor / HF's BlipImageProcessor do.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


# Which reference the model's decoding follows (see reference_search): "lavis", transformers <= 4.33
# as LAVIS ran it (the default when model.json names none), or "transformers", 4.57 and 5.x.
CONVENTIONS = ("lavis", "transformers")


@dataclass(frozen=True)
class Generation:
    """Default decoding options, with HF transformers' meaning; requests may override them, apart
    from the convention (None: not written, which the server reads as "lavis")."""
    num_beams: int = 5
    max_new_tokens: int = 30
    min_new_tokens: int = 1
    repetition_penalty: float = 1.5
    length_penalty: float = 1.0
    early_stopping: bool = False
    convention: Optional[str] = None

    def __post_init__(self):
        if self.convention is not None and self.convention not in CONVENTIONS:
            raise ValueError(f"generation.convention must be one of {CONVENTIONS}, was {self.convention!r}")
        for name in ("num_beams", "max_new_tokens", "min_new_tokens"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"generation.{name} must be a positive integer, was {getattr(self, name)!r}")
        if self.min_new_tokens > self.max_new_tokens:
            raise ValueError("generation.min_new_tokens must not exceed max_new_tokens")
        if not self.repetition_penalty > 0:
            raise ValueError("generation.repetition_penalty must be positive")


@dataclass(frozen=True)
class Recipe:
    """What a checkpoint family's reference (LAVIS, the mmpretrain caption configs) decodes with.

    The token conventions are tokenizer strings, resolved to ids from the exported tokenizer.json,
    so that a checkpoint with another vocabulary gets its own ids.
    """
    family: str
    prompt: str
    generation: Generation
    qformer_max_length: int
    bos_token: Optional[str]
    eos_tokens: tuple
    pad_token: str
    image_size: int = 224

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, was {self.family!r}")


RECIPES = {
    # LAVIS blip2_vicuna_instruct: the LLaMA tokenizer with bos = eos = unk = "</s>" (so "</s>" is
    # put before the prompt) and generation stopping on "</s>"; LAVIS maps output id 0 (<unk>) to
    # "</s>" before decoding, so id 0 is recorded as the pad id, which the server skips when
    # decoding. Q-Former text: max_txt_len 128. Decoding: mmpretrain's
    # instructblip-vicuna7b_3rdparty-zeroshot_caption config.
    # The convention is LAVIS's, the seed's reference (its published captions).
    "instructblip-vicuna": Recipe(
        family="instructblip",
        prompt="Write a short description for the image.",
        generation=Generation(num_beams=5, max_new_tokens=30, min_new_tokens=1,
                              repetition_penalty=1.5, length_penalty=1.0, convention="lavis"),
        qformer_max_length=128,
        bos_token="</s>", eos_tokens=("</s>",), pad_token="<unk>"),
    # LAVIS blip2_opt: the OPT tokenizer puts "</s>" before the prompt; generation stops on the
    # newline token (LAVIS: self.eos_token_id = opt_tokenizer("\n", add_special_tokens=False)
    # .input_ids[0]); the captioning prompt is "a photo of"; beam search 5, up to 30 new tokens,
    # no repetition penalty; LAVIS's convention too.
    "blip2-opt": Recipe(
        family="blip2",
        prompt="a photo of",
        generation=Generation(num_beams=5, max_new_tokens=30, min_new_tokens=1,
                              repetition_penalty=1.0, length_penalty=1.0, convention="lavis"),
        qformer_max_length=128,
        bos_token="</s>", eos_tokens=("\n",), pad_token="<pad>"),
}


def recipe_for(model_type: str, text_model_type: str) -> Recipe:
    """The recipe for an HF config's model_type and its text_config.model_type."""
    key = {("instructblip", "llama"): "instructblip-vicuna", ("blip-2", "opt"): "blip2-opt"}.get(
        (model_type, text_model_type))
    if key is None:
        raise ValueError(f"no export recipe for {model_type} with a {text_model_type} language model "
                         f"(supported: InstructBLIP with LLaMA/Vicuna, BLIP-2 with OPT)")
    return RECIPES[key]


@dataclass(frozen=True)
class LlmSpec:
    """The language model's token conventions and shape, as model.json's "llm" records them."""
    bos_id: Optional[int]
    eos_ids: tuple
    pad_id: int
    vocab_size: int
    hidden_size: int
    layers: int
    kv_heads: int
    head_size: int
    # The HF processor's "<image>" placeholder (query_tokens of them before BOS and the prompt in
    # the ids generate() hands the language model, >= 4.47); None when the processor uses none.
    # Only the transformers convention's repetition penalty reads it.
    image_token_id: Optional[int] = None

    def __post_init__(self):
        if self.image_token_id is not None and (not isinstance(self.image_token_id, int) or self.image_token_id < 0):
            raise ValueError(f"llm.image_token_id must be a non-negative integer, was {self.image_token_id!r}")
        if not self.eos_ids:
            raise ValueError("llm.eos_ids must name at least one token")
        for name in ("vocab_size", "hidden_size", "layers", "kv_heads", "head_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"llm.{name} must be positive, was {getattr(self, name)}")
        for name, ids in (("bos_id", () if self.bos_id is None else (self.bos_id,)), ("eos_ids", self.eos_ids),
                          ("pad_id", (self.pad_id,))):
            for i in ids:
                if not 0 <= i < self.vocab_size:
                    raise ValueError(f"llm.{name} {i} is outside the vocabulary of {self.vocab_size}")


@dataclass(frozen=True)
class ModelSpec:
    """Everything model.json says, apart from the hashes (computed from the files on disk)."""
    id: str
    family: str
    description: str
    image_size: int
    qformer_max_length: int
    query_tokens: int
    llm: LlmSpec
    prompt: str
    generation: Generation
    # graph name -> external data files beside it (ONNX Runtime reads them relative to the graph)
    graph_data: dict = field(default_factory=dict)
    source: dict = field(default_factory=dict)
    # 1: format 1 (pasts gathered by the caller, logits of every position, float32 KV); 2: format 2
    decoder_contract: int = 1
    kv_dtype: str = "float32"

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, was {self.family!r}")
        if self.decoder_contract not in CONTRACTS:
            raise ValueError(f"decoder_contract must be one of {CONTRACTS}, was {self.decoder_contract!r}")
        if self.kv_dtype not in KV_DTYPES:
            raise ValueError(f"kv_dtype must be one of {KV_DTYPES}, was {self.kv_dtype!r}")
        if self.decoder_contract == 1 and self.kv_dtype != "float32":
            raise ValueError(f"kv_dtype {self.kv_dtype} needs the decoder contract 2 (format 1's KV is float32)")
        if not self.prompt.strip():
            raise ValueError("prompt must not be blank")
        unknown = set(self.graph_data) - set(GRAPH_FILES)
        if unknown:
            raise ValueError(f"external data for unknown graphs {sorted(unknown)}")


def sha256_file(path, show_progress=False) -> str:
    digest = hashlib.sha256()
    size = os.path.getsize(path)
    with open(path, "rb") as f, progress.bar(size, f"sha256 {os.path.basename(path)}", "B",
                                             enabled=show_progress and size > (256 << 20)) as p:
        while chunk := f.read(8 << 20):
            digest.update(chunk)
            p.update(len(chunk))
    return digest.hexdigest()


def _inside(model_dir, rel):
    if os.path.isabs(rel) or ".." in rel.replace("\\", "/").split("/"):
        raise ValueError(f"{rel!r} is not a path inside the model directory")
    path = os.path.join(model_dir, rel)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: missing (model.json would name it)")
    return path


def _ref(model_dir, rel, show_progress):
    return {"file": rel, "sha256": sha256_file(_inside(model_dir, rel), show_progress)}


def to_json(spec: ModelSpec, model_dir: str, show_progress=False) -> dict:
    """The model.json object for spec, hashing each file it names in model_dir."""
    graphs = {}
    v2 = spec.decoder_contract == 2
    roles = {"vision": (VISION_INPUTS, VISION_OUTPUTS), "embed": (EMBED_INPUTS, EMBED_OUTPUTS),
             "decoder": (DECODER_INPUTS_V2 if v2 else DECODER_INPUTS, DECODER_OUTPUTS)}
    for name, file in GRAPH_FILES.items():
        entry = _ref(model_dir, file, show_progress)
        data = spec.graph_data.get(name, ())
        for rel in data:
            _inside(model_dir, rel)
            if os.path.dirname(rel) != os.path.dirname(file):
                raise ValueError(f"external data {rel!r} must sit beside its graph {file!r}")
        if data:
            entry["data"] = [_ref(model_dir, rel, show_progress) for rel in data]
        inputs, outputs = roles[name]
        if name == "vision" and spec.family == "blip2":
            # BLIP-2's Q-Former reads no instruction: the graph has no qformer_* inputs.
            inputs = {"pixel_values": inputs["pixel_values"]}
        if name == "decoder" and v2:
            entry["kv_dtype"] = spec.kv_dtype
        entry["inputs"], entry["outputs"] = dict(inputs), dict(outputs)
        graphs[name] = entry
    out = {
        "format": CONTRACT_FORMATS[spec.decoder_contract],
        "id": spec.id,
        "family": spec.family,
        "description": spec.description,
        "image": {"width": spec.image_size, "height": spec.image_size, "resample": "bicubic",
                  "rescale": 1 / 255, "mean": list(CLIP_MEAN), "std": list(CLIP_STD)},
        "qformer": {"tokenizer": _ref(model_dir, QFORMER_TOKENIZER, show_progress),
                    "max_length": spec.qformer_max_length, "query_tokens": spec.query_tokens},
        "llm": {"tokenizer": _ref(model_dir, LLM_TOKENIZER, show_progress), **_without_nones(spec.llm)},
        "prompt": spec.prompt,
        "generation": _without_nones(spec.generation),
        "graphs": graphs,
    }
    if spec.source:
        out["source"] = dict(spec.source)
    return out


def _without_nones(obj) -> dict:
    """A dataclass as JSON: tuples as lists, optional fields that are None left out (older
    directories have no such key, and the server reads absence as the default)."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(obj).items() if v is not None
            or k not in OPTIONAL_FIELDS}


OPTIONAL_FIELDS = {"image_token_id", "convention"}


def spec_from_json(manifest: dict) -> ModelSpec:
    """The ModelSpec a model.json records (the inverse of to_json, hashes aside)."""
    llm = {k: v for k, v in manifest["llm"].items() if k != "tokenizer"}
    llm["eos_ids"] = tuple(llm["eos_ids"])
    graph_data = {name: tuple(ref["file"] for ref in graph["data"])
                  for name, graph in manifest["graphs"].items() if graph.get("data")}
    contract, kv_dtype = decoder_contract(manifest)
    return ModelSpec(
        id=manifest["id"], family=manifest["family"], description=manifest["description"],
        image_size=manifest["image"]["width"], qformer_max_length=manifest["qformer"]["max_length"],
        query_tokens=manifest["qformer"]["query_tokens"], llm=LlmSpec(**llm), prompt=manifest["prompt"],
        generation=Generation(**manifest["generation"]), graph_data=graph_data,
        source=dict(manifest.get("source", {})), decoder_contract=contract, kv_dtype=kv_dtype)


def decoder_contract(manifest: dict) -> tuple:
    """(contract, kv_dtype) of a model.json: (1, "float32") for format 1, (2, graphs.decoder.kv_dtype)
    for format 2; what every Python runner of the graphs reads before feeding the decoder."""
    found = manifest.get("format")
    contracts = {f: c for c, f in CONTRACT_FORMATS.items()}
    if found not in contracts or isinstance(found, bool):
        raise ValueError(f"model.json: format {found!r} is not one this exporter knows ({list(FORMATS)})")
    if contracts[found] == 1:
        return 1, "float32"
    kv_dtype = manifest["graphs"]["decoder"].get("kv_dtype")
    if kv_dtype not in KV_DTYPES:
        raise ValueError(f"model.json: graphs.decoder.kv_dtype {kv_dtype!r} is not one of {KV_DTYPES}")
    return 2, kv_dtype


def read(model_dir: str) -> dict:
    with open(os.path.join(model_dir, FILE_NAME), encoding="utf-8") as f:
        return json.load(f)


def dumps(manifest: dict) -> str:
    """model.json's text for a to_json object, exactly as write() puts it in the file."""
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


def write(spec: ModelSpec, model_dir: str, show_progress=False) -> dict:
    """Writes model_dir/model.json (after every file it names is hashed) and returns it."""
    manifest = to_json(spec, model_dir, show_progress)
    tmp = os.path.join(model_dir, FILE_NAME + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(dumps(manifest))
    os.replace(tmp, os.path.join(model_dir, FILE_NAME))
    return manifest


def files_of(manifest: dict) -> list:
    """Every {file, sha256} a model.json names, data files included."""
    refs = [manifest["qformer"]["tokenizer"], manifest["llm"]["tokenizer"]]
    for graph in manifest["graphs"].values():
        refs.append({"file": graph["file"], "sha256": graph["sha256"]})
        refs.extend(graph.get("data", []))
    return refs


def check_files(model_dir: str, show_progress=False) -> list:
    """Problems with a written model directory: missing files and sha256 mismatches (empty if none)."""
    with open(os.path.join(model_dir, FILE_NAME), encoding="utf-8") as f:
        manifest = json.load(f)
    problems = []
    for ref in files_of(manifest):
        try:
            actual = sha256_file(_inside(model_dir, ref["file"]), show_progress)
        except (FileNotFoundError, ValueError) as e:
            problems.append(str(e))
            continue
        if actual != ref["sha256"]:
            problems.append(f"{ref['file']}: sha256 mismatch: model.json says {ref['sha256']}, the file has {actual}")
    return problems
