"""tokenizer.json handling without the tokenizers library: the server reads these files with DJL's
HuggingFace tokenizers, so what the export writes is checked here as plain JSON.

- The Q-Former's tokenizer is bert-base-uncased WordPiece plus one added special token "[DEC]"
  (LAVIS's init_tokenizer adds it as BOS, id 30522), with a post-processor that puts [CLS] ... [SEP]
  around the text (the server counts on it).
- The LLM's special ids are resolved from the recipe's token strings ("</s>", "\n") so that
  model.json records the ids of the tokenizer actually shipped.
"""
import copy
import json
import os


def load(path) -> dict:
    with open(path, encoding="utf-8") as f:
        tok = json.load(f)
    if not isinstance(tok, dict) or "model" not in tok:
        raise ValueError(f"{path}: not a HuggingFace tokenizer.json (no 'model')")
    return tok


def save(tok: dict, path):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, separators=(",", ":"))


def _vocab(tok) -> dict:
    vocab = tok["model"].get("vocab", {})
    if isinstance(vocab, list):  # Unigram: [[piece, score], ...], ids by position
        return {piece: i for i, (piece, _score) in enumerate(vocab)}
    return vocab


def token_id(tok: dict, content: str):
    """The id of an added token or vocabulary piece, or None."""
    for added in tok.get("added_tokens") or []:
        if added["content"] == content:
            return added["id"]
    return _vocab(tok).get(content)


def vocab_size(tok: dict) -> int:
    """Highest id the tokenizer knows plus one, as the server counts it."""
    ids = list(_vocab(tok).values()) + [a["id"] for a in tok.get("added_tokens") or []]
    return max(ids) + 1


def tokens_from(tok: dict, first_id: int) -> list:
    """[(content, special)] of every token whose id is first_id or above, by id."""
    found = {i: (piece, False) for piece, i in _vocab(tok).items() if i >= first_id}
    found.update({a["id"]: (a["content"], bool(a.get("special"))) for a in tok.get("added_tokens") or []
                  if a["id"] >= first_id})
    return [found[i] for i in sorted(found)]


def generated_vocab_size(tok: dict, head_rows: int) -> int:
    """The vocab_size model.json records: the tokenizer's, or the LM head's rows when the tokenizer
    only adds special tokens past them (a processor's "<image>" placeholder, which the language
    model never sees as an id and never generates)."""
    size = vocab_size(tok)
    if head_rows >= size:
        return size
    beyond = tokens_from(tok, head_rows)
    ordinary = [content for content, special in beyond if not special]
    if ordinary:
        raise ValueError(f"the LM head has {head_rows} rows, but the tokenizer has ordinary tokens past them: "
                         f"{ordinary[:5]}")
    return head_rows


def with_special_token(tok: dict, content: str):
    """(tokenizer, id): tok with content as an added special token, appended after the last id
    when absent (what HF's add_special_tokens does); tok itself is not changed."""
    existing = token_id(tok, content)
    if existing is not None:
        return tok, existing
    out = copy.deepcopy(tok)
    new_id = vocab_size(tok)
    out.setdefault("added_tokens", [])
    out["added_tokens"] = list(out["added_tokens"] or []) + [{
        "id": new_id, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
        "normalized": False, "special": True}]
    return out, new_id


def _bytes_to_unicode():
    """GPT-2's byte-to-character table, which byte-level BPE vocabularies (OPT's) are written in."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


_BYTE_CHARS = _bytes_to_unicode()


def _is_byte_level(tok) -> bool:
    def types(node):
        if not node:
            return []
        if node.get("type") == "Sequence":
            return [t for sub in node.get("pretokenizers") or node.get("decoders") or [] for t in types(sub)]
        return [node.get("type")]
    return "ByteLevel" in types(tok.get("pre_tokenizer")) or "ByteLevel" in types(tok.get("decoder"))


def text_token_id(tok: dict, text: str):
    """The id of a one-token text (such as "\\n"): an added token or special string as it is; else
    its byte-level piece ("Ċ" for a newline in GPT-2/OPT vocabularies) or SentencePiece byte
    fallback ("<0x0A>"). None when text is not a single token."""
    direct = token_id(tok, text)
    if direct is not None:
        return direct
    if _is_byte_level(tok):
        return token_id(tok, "".join(_BYTE_CHARS[b] for b in text.encode("utf-8")))
    raw = text.encode("utf-8")
    if len(raw) == 1:
        return token_id(tok, f"<0x{raw[0]:02X}>")
    return None


def resolve(tok: dict, what: str, text: str) -> int:
    found = text_token_id(tok, text)
    if found is None:
        raise ValueError(f"the LLM tokenizer has no single token for {what} {text!r}")
    return found


def llm_ids(tok: dict, recipe) -> dict:
    """bos_id, eos_ids, pad_id and vocab_size for the recipe's token strings in this tokenizer."""
    return {
        "bos_id": None if recipe.bos_token is None else resolve(tok, "BOS", recipe.bos_token),
        "eos_ids": tuple(resolve(tok, "EOS", t) for t in recipe.eos_tokens),
        "pad_id": resolve(tok, "pad", recipe.pad_token),
        "vocab_size": vocab_size(tok),
    }


def wraps_in_cls_sep(tok: dict) -> bool:
    """Whether the post-processor puts [CLS] before and [SEP] after a single text."""
    post = tok.get("post_processor") or {}
    if post.get("type") == "BertProcessing":
        return post["cls"][0] == "[CLS]" and post["sep"][0] == "[SEP]"
    if post.get("type") == "TemplateProcessing":
        pieces = [p.get("SpecialToken", {}).get("id") if "SpecialToken" in p else "$A" for p in post.get("single", [])]
        return pieces == ["[CLS]", "$A", "[SEP]"]
    if post.get("type") == "Sequence":
        return any(wraps_in_cls_sep({"post_processor": p}) for p in post.get("processors", []))
    return False


def qformer_tokenizer(tok: dict):
    """(tokenizer, [DEC] id): the Q-Former's tokenizer as InstructBLIP uses it, checked."""
    if tok["model"].get("type", "WordPiece") != "WordPiece" and "continuing_subword_prefix" not in tok["model"]:
        raise ValueError("the Q-Former tokenizer must be bert-base-uncased WordPiece")
    if not wraps_in_cls_sep(tok):
        raise ValueError("the Q-Former tokenizer's post-processor must put [CLS] before and [SEP] after the text")
    # Truncation and padding are the server's business (left truncation to qformer.max_length).
    tok = dict(tok, truncation=None, padding=None)
    return with_special_token(tok, "[DEC]")


def llm_tokenizer(tok: dict) -> dict:
    """The LLM's tokenizer as the server reads it: truncation and padding left to the server."""
    return dict(tok, truncation=None, padding=None)
