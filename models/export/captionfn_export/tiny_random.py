"""--tiny-random: InstructBLIP-Vicuna and BLIP-2-OPT with small random configurations and no
download, so the export (and --verify) runs wherever transformers is installed.

The tokenizers are real and offline: the Q-Former's is bert-base-uncased (the project's copy of its
vocab.txt) plus [DEC]; InstructBLIP's LLM tokenizer is the project's LLaMA tokenizer.json (ids
0-31999 are LLaMA's) with LAVIS's special tokens; BLIP-2's OPT tokenizer is a small byte-level BPE
trained here on a few sentences (OPT's vocabulary would need a download), with OPT's special
tokens and "\\n" as a token of its own. Image size 224 and the CLIP mean/std, as the real models.

Sizes (--random-size): "tiny" keeps a model directory small enough to commit as a test fixture
(the LLaMA vocabulary's 32k rows make the embedding table and the LM head most of it, hence 8 wide);
"bench150m" is a ~150M-parameter InstructBLIP for timing the precisions and the peer benchmark.
"""
import os

import torch

from . import compat, manifest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TOKENIZERS = os.path.join(ROOT, "src", "test", "resources", "tokenizers")
BERT_VOCAB = os.path.join(TOKENIZERS, "bert-base-uncased", "vocab.txt")
LLAMA_TOKENIZER = os.path.join(TOKENIZERS, "llama", "phi3-tokenizer.json")

# Random weights that make a useful fixture: the vision tower initialised at 0.02 (HF's default for
# it, 1e-10, makes every image look alike), the tiny Q-Former at 0.5 (at 0.02 InstructBLIP's queries
# carry the instruction and hardly the image: every photo gave the same caption), and OPT's head
# untied from its embeddings (a tied random model copies its last token forever, so it never reaches
# "\n"; untied, the next token is a random function of the context, which reaches it for some seeds).
SIZES = {
    "tiny": {
        "query_tokens": 8,
        "vision": dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                       initializer_range=0.02),
        "qformer": dict(hidden_size=8, intermediate_size=16, num_hidden_layers=2, num_attention_heads=2,
                        initializer_range=0.5),
        "llama": dict(hidden_size=8, intermediate_size=16, num_hidden_layers=2, num_attention_heads=2,
                      num_key_value_heads=1),
        "opt": dict(hidden_size=16, ffn_dim=32, num_hidden_layers=2, num_attention_heads=2, tie_word_embeddings=False),
    },
    # ViT 384 x 6, Q-Former 384 x 4, LLaMA 768 x 12, 32 queries: the 150M model of issue 15.
    "bench150m": {
        "query_tokens": 32,
        "vision": dict(hidden_size=384, intermediate_size=1536, num_hidden_layers=6, num_attention_heads=6,
                       initializer_range=0.02),
        "qformer": dict(hidden_size=384, intermediate_size=1536, num_hidden_layers=4, num_attention_heads=6),
        "llama": dict(hidden_size=768, intermediate_size=1536, num_hidden_layers=12, num_attention_heads=12,
                      num_key_value_heads=12),
        "opt": dict(hidden_size=768, ffn_dim=3072, num_hidden_layers=12, num_attention_heads=12,
                    tie_word_embeddings=False),
    },
}


def _vision(size):
    return dict(SIZES[size]["vision"], image_size=224, patch_size=14)


def _qformer(size, **extra):
    return dict(SIZES[size]["qformer"], encoder_hidden_size=SIZES[size]["vision"]["hidden_size"],
                max_position_embeddings=512, **extra)


def _image_processor():
    cls = compat.pil_image_processor_class()
    return cls(size={"height": 224, "width": 224}, image_mean=list(manifest.CLIP_MEAN),
               image_std=list(manifest.CLIP_STD), do_convert_rgb=True)


def _qformer_tokenizer():
    from transformers import BertTokenizerFast
    tok = BertTokenizerFast(do_lower_case=True, truncation_side="left",
                            **compat.bert_vocabulary_argument(BertTokenizerFast, BERT_VOCAB))
    tok.add_special_tokens({"bos_token": "[DEC]"})
    return tok


def _with_image_token(tok, processor_class, query_tokens):
    """Newer processors splice the queries in at num_query_tokens "<image>" tokens; older ones
    concatenate. Returns (processor kwargs, image token id or None)."""
    if not compat.processor_splices_image_tokens(processor_class):
        return {}, None
    tok.add_special_tokens({"additional_special_tokens": ["<image>"]})
    return {"num_query_tokens": query_tokens}, tok.convert_tokens_to_ids("<image>")


def _config(config_class, image_token_id, **kwargs):
    name = compat.image_token_config_name(config_class)
    if image_token_id is not None and name is not None:
        kwargs[name] = image_token_id
    config = config_class(**kwargs)
    # Eager attention, as the checkpoint export asks for (see export.load_checkpoint).
    for c in (config, config.vision_config, config.qformer_config, config.text_config):
        try:
            c._attn_implementation = "eager"
        except (AttributeError, ValueError):
            pass
    return config


def instructblip(seed=0, size="tiny"):
    from transformers import (InstructBlipConfig, InstructBlipForConditionalGeneration, InstructBlipProcessor,
                              LlamaTokenizerFast)
    torch.manual_seed(seed)
    queries = SIZES[size]["query_tokens"]
    # add_bos_token: 4.x's default, which 5.x no longer assumes for a tokenizer.json without a BOS template
    tok = LlamaTokenizerFast(tokenizer_file=LLAMA_TOKENIZER, bos_token="</s>", eos_token="</s>", unk_token="</s>",
                             truncation_side="left", add_bos_token=True)
    tok.add_special_tokens({"pad_token": "[PAD]"})
    extra, image_token_id = _with_image_token(tok, InstructBlipProcessor, queries)
    qtok = _qformer_tokenizer()
    # architectures: InstructBLIP's generate() in transformers 4.46 reads text_config.architectures[0]
    text = dict(SIZES[size]["llama"], model_type="llama", architectures=["LlamaForCausalLM"], vocab_size=len(tok),
                max_position_embeddings=256, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                pad_token_id=tok.pad_token_id)
    config = _config(InstructBlipConfig, image_token_id, vision_config=_vision(size),
                     qformer_config=_qformer(size, vocab_size=len(qtok)), text_config=text, num_query_tokens=queries)
    model = InstructBlipForConditionalGeneration(config).eval()
    processor = InstructBlipProcessor(image_processor=_image_processor(), tokenizer=tok, qformer_tokenizer=qtok, **extra)
    return model, processor


def _opt_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import GPT2TokenizerFast
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    bpe = Tokenizer(models.BPE(unk_token=None))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    corpus = ["a photo of a cat sitting on a couch\n", "a dog running on the grass\n",
              "two people riding bicycles down a street\n", "a red bus parked next to a building\n"] * 4
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(corpus, trainer)
    # OPT's tokenizer puts "</s>" before every text.
    bpe.post_processor = processors.TemplateProcessing(single="</s> $A", special_tokens=[("</s>", bpe.token_to_id("</s>"))])
    return GPT2TokenizerFast(tokenizer_object=bpe, bos_token="</s>", eos_token="</s>", pad_token="<pad>",
                             unk_token="<unk>")


def blip2(seed=0, size="tiny"):
    from transformers import Blip2Config, Blip2ForConditionalGeneration, Blip2Processor
    torch.manual_seed(seed)
    queries = SIZES[size]["query_tokens"]
    tok = _opt_tokenizer()
    extra, image_token_id = _with_image_token(tok, Blip2Processor, queries)
    newline = tok("\n", add_special_tokens=False).input_ids[0]
    vocab = (len(tok) + 7) // 8 * 8  # OPT pads its embedding table past the tokenizer, as here
    opt = SIZES[size]["opt"]
    text = dict(opt, model_type="opt", architectures=["OPTForCausalLM"], vocab_size=vocab, max_position_embeddings=256,
                word_embed_proj_dim=opt["hidden_size"], bos_token_id=tok.bos_token_id, eos_token_id=newline,
                pad_token_id=tok.pad_token_id)
    config = _config(Blip2Config, image_token_id, vision_config=_vision(size),
                     qformer_config=_qformer(size, vocab_size=30523), text_config=text, num_query_tokens=queries)
    model = Blip2ForConditionalGeneration(config).eval()
    processor = Blip2Processor(image_processor=_image_processor(), tokenizer=tok, **extra)
    return model, processor, _qformer_tokenizer()


def build(family, seed=0, size="tiny"):
    """(model, processor, Q-Former tokenizer) for "instructblip" or "blip2"."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, was {size!r}")
    if family == "instructblip":
        model, processor = instructblip(seed, size)
        return model, processor, processor.qformer_tokenizer
    return blip2(seed, size)


def parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())
