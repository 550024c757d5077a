#!/usr/bin/python3
"""Writes the reference token ids the Java tokenizer tests compare against.

Run from the repository root with Debian's Python (it needs python3-sentencepiece):

    /usr/bin/python3 src/test/python/make_tokenizer_fixtures.py

Outputs, under src/test/resources/fixtures/tokenizers/:

* bert-base-uncased.json: WordPiece ids from Google BERT's original reference algorithm
  (google-research/bert tokenization.py: BasicTokenizer, then WordpieceTokenizer), written out
  below over vocab.txt. HF transformers' BertTokenizer, which LAVIS uses for the Q-Former,
  reproduces this algorithm. ``input_ids`` add [CLS]/[SEP] and truncate on the left to
  ``max_length`` the way BertTokenizer(truncation_side="left") does.
* llama.json: SentencePiece ids (``sp.encode(text)``, no BOS/EOS) from the LLaMA tokenizer.model,
  and SentencePiece's decode of those ids, for the LLM tokenizer parity and decode tests.
* python-whitespace.json: the code points for which Python's ``str.isspace()`` is true, since
  LAVIS strips the decoded caption with ``str.strip()``.

The tests read only the JSON files, so they run without Python.
"""

import hashlib
import json
import os
import sys
import unicodedata

import sentencepiece

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TOKENIZERS = os.path.join(ROOT, "src", "test", "resources", "tokenizers")
OUT = os.path.join(ROOT, "src", "test", "resources", "fixtures", "tokenizers")

BERT_VOCAB = os.path.join(TOKENIZERS, "bert-base-uncased", "vocab.txt")
LLAMA_MODEL = os.path.join(TOKENIZERS, "llama", "tokenizer.model")

# LAVIS: BertTokenizer.from_pretrained("bert-base-uncased", truncation_side="left"), max_txt_len 128.
QFORMER_MAX_LENGTH = 128


# ---------------------------------------------------------------------------------------------
# Google BERT reference tokenizer (tokenization.py), uncased.
# ---------------------------------------------------------------------------------------------

def load_vocab(path):
    vocab = {}
    with open(path, encoding="utf-8") as f:
        for index, line in enumerate(f):
            vocab[line.strip()] = index
    return vocab


def whitespace_tokenize(text):
    text = text.strip()
    return text.split() if text else []


def is_whitespace(char):
    if char in (" ", "\t", "\n", "\r"):
        return True
    return unicodedata.category(char) == "Zs"


def is_control(char):
    if char in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(char) in ("Cc", "Cf")


def is_punctuation(char):
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def is_chinese_char(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def clean_text(text):
    output = []
    for char in text:
        cp = ord(char)
        if cp == 0 or cp == 0xFFFD or is_control(char):
            continue
        output.append(" " if is_whitespace(char) else char)
    return "".join(output)


def tokenize_chinese_chars(text):
    output = []
    for char in text:
        if is_chinese_char(ord(char)):
            output.extend((" ", char, " "))
        else:
            output.append(char)
    return "".join(output)


def strip_accents(text):
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def split_on_punctuation(text):
    words = []
    start_new_word = True
    for char in text:
        if is_punctuation(char):
            words.append([char])
            start_new_word = True
        else:
            if start_new_word:
                words.append([])
            start_new_word = False
            words[-1].append(char)
    return ["".join(w) for w in words]


def basic_tokenize(text):
    text = tokenize_chinese_chars(clean_text(text))
    split_tokens = []
    for token in whitespace_tokenize(text):
        token = strip_accents(token.lower())
        split_tokens.extend(split_on_punctuation(token))
    return whitespace_tokenize(" ".join(split_tokens))


def wordpiece_tokenize(text, vocab, unk_token="[UNK]", max_input_chars_per_word=100):
    output = []
    for token in whitespace_tokenize(text):
        chars = list(token)
        if len(chars) > max_input_chars_per_word:
            output.append(unk_token)
            continue
        is_bad = False
        start = 0
        sub_tokens = []
        while start < len(chars):
            end = len(chars)
            current = None
            while start < end:
                substr = "".join(chars[start:end])
                if start > 0:
                    substr = "##" + substr
                if substr in vocab:
                    current = substr
                    break
                end -= 1
            if current is None:
                is_bad = True
                break
            sub_tokens.append(current)
            start = end
        output.extend([unk_token] if is_bad else sub_tokens)
    return output


def bert_ids(text, vocab):
    pieces = []
    for token in basic_tokenize(text):
        pieces.extend(wordpiece_tokenize(token, vocab))
    return [vocab[p] for p in pieces]


def with_specials_left_truncated(ids, vocab, max_length):
    # BertTokenizer(truncation_side="left", truncation=True, max_length=N): the special tokens
    # are kept and the content loses its first tokens.
    keep = max_length - 2
    content = ids[-keep:] if len(ids) > keep else ids
    return [vocab["[CLS]"]] + content + [vocab["[SEP]"]]


LONG_WORD_100 = "a" * 100
LONG_WORD_101 = "b" * 101
LONG_INSTRUCTION = (
    "Here is a very long instruction that keeps going so that the Q-Former tokenizer has to cut "
    "it. " * 8 + "Only this final sentence about a red bicycle leaning on a wall should survive."
)

BERT_CASES = [
    ("instructblip caption prompt", "Write a short description for the image."),
    ("blip2 caption prompt", "a photo of"),
    ("short caption prompt", "A short image caption:"),
    ("question prompt", "What is unusual about this image?"),
    ("detail prompt", "Describe the image in detail. Answer:"),
    ("published caption", "a man in a yellow shirt is standing on top of a car"),
    ("pangram", "The quick brown fox jumps over the lazy dog."),
    ("punctuation", "Hello, world! Really?! (Yes) [no] {maybe} a-b_c; d:e \"quoted\""),
    ("symbols", "@user #tag $100 50% a&b <tag> ~tilde^ `tick` |pipe| back\\slash/ 1+1=2*1"),
    ("apostrophes", "don't won't can't I'm you're it's the dog's bone"),
    ("numbers", "Numbers: 3.14159, 1,000,000 and the 42nd street in 2023."),
    ("accents", "Café naïve résumé façade coöperate"),
    ("uppercase accents", "ÀÉÎÕÜ Ångström STRASSE Straße"),
    ("cjk", "中文字符测试"),
    ("cjk mixed with latin", "猫和狗 sitting on a 沙发"),
    ("japanese and korean", "日本語のテキスト and 한국어 text"),
    ("greek and cyrillic", "Ελληνικά и русский текст"),
    ("arabic", "مرحبا بالعالم"),
    ("unicode punctuation", "\u201cCurly quotes\u201d and \u2018single\u2019 \u2014 em dash \u2026 ellipsis"),
    ("emoji and signs", "Emoji \U0001F600 and signs \u2122 \u00a9 \u00ae \u20ac"),
    ("word of exactly 100 chars", "start " + LONG_WORD_100 + " end"),
    ("word over 100 chars is unk", "start " + LONG_WORD_101 + " end"),
    ("word with no wordpiece is unk", "x\u2603\u2603y"),
    ("long real word", "supercalifragilisticexpialidocious antidisestablishmentarianism"),
    ("mixed case", "MiXeD CaSe WORDS iN A SeNtEnCe"),
    ("whitespace runs", "multiple   spaces\tand\ttabs\nand\nnewlines\r\nwindows"),
    ("leading and trailing spaces", "   leading and trailing spaces   "),
    ("non-breaking space", "non\u00a0breaking\u3000ideographic space"),
    ("format characters removed", "zero\u200bwidth soft\u00adhyphen"),
    ("abbreviations", "e.g. i.e. U.S.A. Mr. Smith's state-of-the-art"),
    ("url", "email@example.com https://example.com/path?query=1"),
    ("empty", ""),
    ("unassigned code point", "a\u0378b c"),
    ("line separator and next line", "a\u2028b c\u0085d"),
    ("vertical tab and form feed", "a\x0bb c\x0cd"),
    ("longer than 128 tokens", LONG_INSTRUCTION),
]

# Inputs where the HuggingFace tokenizers library (Rust, what DJL runs) and the reference differ,
# with what the library gives instead. Its BertNormalizer drops every character of category "Other"
# (is_other: Cc, Cf, Co, ...); Google's _clean_text drops only Cc and Cf. A private-use character
# (Co) therefore vanishes in the library, while the reference keeps it and, since no vocabulary
# entry contains it, turns its whole word into [UNK].
BERT_KNOWN_DIFFERENCES = [
    ("private use character", "a\ue000b c",
     "HF tokenizers' BertNormalizer removes private-use (Co) characters; the reference keeps them, "
     "making the word [UNK]",
     lambda text: "".join(c for c in text if unicodedata.category(c) != "Co")),
]


# ---------------------------------------------------------------------------------------------
# LLaMA SentencePiece.
# ---------------------------------------------------------------------------------------------

LLAMA_CASES = [
    ("instructblip caption prompt", "Write a short description for the image."),
    ("short caption prompt", "A short image caption:"),
    ("question prompt", "Question: What is unusual about this image? Answer:"),
    ("published caption", "a man in a yellow shirt is standing on top of a car"),
    ("hello world", "Hello world"),
    ("single character", "x"),
    ("leading space", " leading space"),
    ("two leading spaces", "  two leading spaces"),
    ("trailing space", "trailing space "),
    ("double spaces", "double  spaces  inside"),
    ("spaces only", "   "),
    ("numbers", "Numbers 1234567890, 3.14 and 1,000,000 in 2023"),
    ("punctuation", "Punctuation!? (parens) [brackets] {braces} \"quotes\" 'single' a-b; c: d."),
    ("apostrophes", "don't won't I'm the dog's"),
    ("mixed case", "MiXeD CaSe WORDS"),
    ("accents", "Café naïve résumé façade"),
    ("uppercase accents", "Ångström Straße ÀÉÎÕÜ"),
    ("cjk", "中文字符测试"),
    ("japanese", "日本語のテキスト"),
    ("greek and cyrillic", "Ελληνικά и русский"),
    ("emoji", "Emoji \U0001F600 test"),
    ("consecutive emoji", "\U0001F916\U0001F999"),
    ("newline", "line one\nline two"),
    ("newline only", "\n"),
    ("tab", "tab\tseparated"),
    ("url", "https://example.com/path?q=1&x=2"),
    ("carriage return", "a\r\nb"),
    ("spaced digits", "1 2 3"),
    ("decomposed accent", "e\u0301te"),
    ("zwj emoji sequence", "\U0001F469\u200d\U0001F469\u200d\U0001F467"),
    ("literal metaspace character", "a\u2581b"),
    ("mixed scripts in one word", "naïve中文mix"),
    ("empty", ""),
]

# Ids the LAVIS decode path can meet around a caption: </s> as BOS/EOS (2) and <s> (1).
LLAMA_DECODE_WRAPPERS = [
    ("caption between eos ids", [2], [2, 2]),
    ("caption after bos", [1], []),
]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write(name, payload):
    path = os.path.join(OUT, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(payload, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote", os.path.relpath(path, ROOT))


def main():
    os.makedirs(OUT, exist_ok=True)

    vocab = load_vocab(BERT_VOCAB)
    bert_cases = []
    for name, text in BERT_CASES:
        ids = bert_ids(text, vocab)
        bert_cases.append({
            "name": name,
            "text": text,
            "wordpiece_ids": ids,
            "input_ids": with_specials_left_truncated(ids, vocab, QFORMER_MAX_LENGTH),
        })
    known_differences = []
    for name, text, why, as_the_library_sees_it in BERT_KNOWN_DIFFERENCES:
        known_differences.append({
            "name": name,
            "text": text,
            "why": why,
            "reference_input_ids": with_specials_left_truncated(
                bert_ids(text, vocab), vocab, QFORMER_MAX_LENGTH),
            "library_input_ids": with_specials_left_truncated(
                bert_ids(as_the_library_sees_it(text), vocab), vocab, QFORMER_MAX_LENGTH),
        })
    write("bert-base-uncased.json", {
        "generator": "src/test/python/make_tokenizer_fixtures.py (Google BERT reference algorithm)",
        "vocab_sha256": sha256(BERT_VOCAB),
        "max_length": QFORMER_MAX_LENGTH,
        "cases": bert_cases,
        "known_differences": known_differences,
    })

    sp = sentencepiece.SentencePieceProcessor(model_file=LLAMA_MODEL)
    llama_cases = []
    for name, text in LLAMA_CASES:
        ids = sp.encode(text)
        llama_cases.append({"name": name, "text": text, "ids": ids, "decoded": sp.decode(ids)})
    decode_cases = []
    for name, text in LLAMA_CASES:
        for wrapper, before, after in LLAMA_DECODE_WRAPPERS:
            ids = before + sp.encode(text) + after
            decode_cases.append({
                "name": name + ", " + wrapper,
                "ids": ids,
                "decoded_stripped": sp.decode(ids).strip(),
            })
    write("llama.json", {
        "generator": "src/test/python/make_tokenizer_fixtures.py (sentencepiece "
                     + sentencepiece.__version__ + ")",
        "model_sha256": sha256(LLAMA_MODEL),
        "cases": llama_cases,
        "decode_cases": decode_cases,
    })

    write("python-whitespace.json", {
        "generator": "src/test/python/make_tokenizer_fixtures.py (Python "
                     + sys.version.split()[0] + " str.isspace)",
        "code_points": [cp for cp in range(sys.maxunicode + 1) if chr(cp).isspace()],
    })


if __name__ == "__main__":
    main()
