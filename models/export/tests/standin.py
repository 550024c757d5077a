"""A stand-in for HF's InstructBLIP with the same calling conventions (vision_model → Q-Former with
learned queries and the instruction → language_projection → a causal LM taking inputs_embeds,
attention_mask, position_ids and a legacy tuple KV cache), small enough to export in a second.
Used by test_graphs.py and make_standin_fixture.py; needs torch."""
import types

import torch

from captionfn_export import compat

HIDDEN, HEADS, HEAD_SIZE = 12, 2, 6


class Out(dict):
    """HF's ModelOutput in miniature: fields readable as attributes."""
    __getattr__ = dict.__getitem__

    def __setattr__(self, k, v):
        self[k] = v


class Vision(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = torch.nn.Conv2d(3, 8, 8, 8)
        self.post_layernorm = torch.nn.LayerNorm(8)

    def forward(self, pixel_values, return_dict=True):
        return Out(last_hidden_state=self.post_layernorm(self.patch(pixel_values).flatten(2).transpose(1, 2)))


class QFormer(torch.nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.words = torch.nn.Embedding(vocab, 8)
        self.cross = torch.nn.Linear(8, 8)

    def forward(self, input_ids=None, attention_mask=None, query_embeds=None, encoder_hidden_states=None,
                encoder_attention_mask=None, return_dict=True):
        x = query_embeds + self.cross(encoder_hidden_states.mean(1, keepdim=True))
        if input_ids is not None:
            mask = attention_mask[:, query_embeds.shape[1]:, None].float()
            text = self.words(input_ids) * mask
            x = torch.cat([x + text.sum(1, keepdim=True) / mask.sum(1, keepdim=True), text], dim=1)
        return Out(last_hidden_state=x)


class Lm(torch.nn.Module):
    """One causal attention layer with HF's calling convention and a legacy tuple KV cache."""

    def __init__(self, vocab, head_rows):
        super().__init__()
        self.embed_tokens = torch.nn.Embedding(vocab, HIDDEN)
        self.pos = torch.nn.Embedding(64, HIDDEN)
        self.q, self.k, self.v = (torch.nn.Linear(HIDDEN, HIDDEN) for _ in range(3))
        self.lm_head = torch.nn.Linear(HIDDEN, head_rows)

    def get_input_embeddings(self):
        return self.embed_tokens

    def forward(self, inputs_embeds, attention_mask, position_ids, past_key_values, use_cache=True, return_dict=True):
        x = inputs_embeds + self.pos(position_ids)
        b, s, _ = x.shape

        def heads(t):
            return t.view(b, s, HEADS, HEAD_SIZE).transpose(1, 2)
        past_k, past_v = compat.cache_out(past_key_values)[0]  # tuples, or transformers' DynamicCache
        k = torch.cat([past_k, heads(self.k(x))], dim=2)
        v = torch.cat([past_v, heads(self.v(x))], dim=2)
        total = k.shape[2]
        # causal over absolute positions: new position t sits at past + t
        allowed = torch.arange(total)[None, :] <= (torch.arange(s)[:, None] + (total - s))
        blocked = (~allowed)[None, None] | (attention_mask[:, None, None, :] == 0)
        scores = (heads(self.q(x)) @ k.transpose(2, 3)).masked_fill(blocked, -1e4)
        y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, s, HIDDEN)
        return Out(logits=self.lm_head(y), past_key_values=((k, v),))


def stand_in(qformer_vocab=50, llm_vocab=40, head_rows=48, image_size=32):
    model = torch.nn.Module()
    model.vision_model, model.qformer = Vision(), QFormer(qformer_vocab)
    model.language_model = Lm(llm_vocab, head_rows)
    model.query_tokens = torch.nn.Parameter(torch.randn(1, 4, 8))
    model.language_projection = torch.nn.Linear(8, HIDDEN)
    model.get_input_embeddings = model.language_model.get_input_embeddings
    model.config = types.SimpleNamespace(
        vision_config=types.SimpleNamespace(image_size=image_size),
        qformer_config=types.SimpleNamespace(vocab_size=qformer_vocab),
        text_config=types.SimpleNamespace(num_attention_heads=HEADS, hidden_size=HIDDEN, num_hidden_layers=1,
                                          num_key_value_heads=HEADS))
    return model.eval()
