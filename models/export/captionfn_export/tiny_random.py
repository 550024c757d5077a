"""--tiny-random: InstructBLIP-Vicuna and BLIP-2-OPT with small random configurations and no
download, so the export (and --verify) runs wherever transformers is installed.

The tokenizers are real and offline: the Q-Former's is bert-base-uncased (the project's copy of its
vocab.txt) plus [DEC]; InstructBLIP's LLM tokenizer is the project's LLaMA tokenizer.json (ids
0-31999 are LLaMA's) with LAVIS's special tokens; BLIP-2's OPT tokenizer is a small byte-level BPE
trained here on a few sentences (OPT's vocabulary would need a download), with OPT's special
tokens and "\\n" as a token of its own. Image size 224 and the CLIP mean/std, as the real models.
"""
import inspect
import os

import torch

from . import manifest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TOKENIZERS = os.path.join(ROOT, "src", "test", "resources", "tokenizers")
BERT_VOCAB = os.path.join(TOKENIZERS, "bert-base-uncased", "vocab.txt")
LLAMA_TOKENIZER = os.path.join(TOKENIZERS, "llama", "phi3-tokenizer.json")
QUERY_TOKENS = 8

VISION = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
              image_size=224, patch_size=14)
QFORMER = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
               encoder_hidden_size=32, max_position_embeddings=512)


def _accepts(fn, name):
    return name in inspect.signature(fn).parameters


def _image_processor():
    from transformers import BlipImageProcessor
    return BlipImageProcessor(size={"height": 224, "width": 224}, image_mean=list(manifest.CLIP_MEAN),
                              image_std=list(manifest.CLIP_STD), do_convert_rgb=True)


def _qformer_tokenizer():
    from transformers import BertTokenizerFast
    tok = BertTokenizerFast(vocab_file=BERT_VOCAB, do_lower_case=True, truncation_side="left")
    tok.add_special_tokens({"bos_token": "[DEC]"})
    return tok


def _with_image_token(tok, processor_class):
    """Newer processors splice the queries in at num_query_tokens "<image>" tokens; older ones
    concatenate. Returns (processor kwargs, image token id or None)."""
    if not _accepts(processor_class.__init__, "num_query_tokens"):
        return {}, None
    tok.add_special_tokens({"additional_special_tokens": ["<image>"]})
    return {"num_query_tokens": QUERY_TOKENS}, tok.convert_tokens_to_ids("<image>")


def _config(config_class, image_token_id, **kwargs):
    if image_token_id is not None:
        for name in ("image_token_index", "image_token_id"):
            if _accepts(config_class.__init__, name):
                kwargs[name] = image_token_id
                break
    config = config_class(**kwargs)
    # Eager attention, as the checkpoint export asks for (see export.load_checkpoint).
    for c in (config, config.vision_config, config.qformer_config, config.text_config):
        try:
            c._attn_implementation = "eager"
        except (AttributeError, ValueError):
            pass
    return config


def instructblip(seed=0):
    from transformers import (InstructBlipConfig, InstructBlipForConditionalGeneration, InstructBlipProcessor,
                              LlamaTokenizerFast)
    torch.manual_seed(seed)
    tok = LlamaTokenizerFast(tokenizer_file=LLAMA_TOKENIZER, bos_token="</s>", eos_token="</s>", unk_token="</s>",
                             truncation_side="left")
    tok.add_special_tokens({"pad_token": "[PAD]"})
    extra, image_token_id = _with_image_token(tok, InstructBlipProcessor)
    qtok = _qformer_tokenizer()
    # architectures: InstructBLIP's generate() in transformers 4.46 reads text_config.architectures[0]
    text = dict(model_type="llama", architectures=["LlamaForCausalLM"], vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    config = _config(InstructBlipConfig, image_token_id, vision_config=VISION,
                     qformer_config=dict(QFORMER, vocab_size=len(qtok)), text_config=text,
                     num_query_tokens=QUERY_TOKENS)
    model = InstructBlipForConditionalGeneration(config).eval()
    processor = InstructBlipProcessor(image_processor=_image_processor(), tokenizer=tok, qformer_tokenizer=qtok, **extra)
    return model, processor


def _opt_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
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
    from tokenizers import processors
    bpe.post_processor = processors.TemplateProcessing(single="</s> $A", special_tokens=[("</s>", bpe.token_to_id("</s>"))])
    return GPT2TokenizerFast(tokenizer_object=bpe, bos_token="</s>", eos_token="</s>", pad_token="<pad>",
                             unk_token="<unk>")


def blip2(seed=0):
    from transformers import Blip2Config, Blip2ForConditionalGeneration, Blip2Processor
    torch.manual_seed(seed)
    tok = _opt_tokenizer()
    extra, image_token_id = _with_image_token(tok, Blip2Processor)
    newline = tok("\n", add_special_tokens=False).input_ids[0]
    vocab = (len(tok) + 7) // 8 * 8  # OPT pads its embedding table past the tokenizer, as here
    text = dict(model_type="opt", architectures=["OPTForCausalLM"], vocab_size=vocab, hidden_size=32, ffn_dim=64, num_hidden_layers=2,
                num_attention_heads=4, max_position_embeddings=256, word_embed_proj_dim=32,
                bos_token_id=tok.bos_token_id, eos_token_id=newline, pad_token_id=tok.pad_token_id)
    config = _config(Blip2Config, image_token_id, vision_config=VISION, qformer_config=dict(QFORMER, vocab_size=30523),
                     text_config=text, num_query_tokens=QUERY_TOKENS)
    model = Blip2ForConditionalGeneration(config).eval()
    processor = Blip2Processor(image_processor=_image_processor(), tokenizer=tok, **extra)
    return model, processor, _qformer_tokenizer()


def build(family, seed=0):
    """(model, processor, Q-Former tokenizer) for "instructblip" or "blip2"."""
    if family == "instructblip":
        model, processor = instructblip(seed)
        return model, processor, processor.qformer_tokenizer
    return blip2(seed)
