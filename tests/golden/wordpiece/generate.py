#!/usr/bin/env python3
"""Golden ids for WordPieceTokenizer from an independent reference.

The reference is Hugging Face's Python BertTokenizer algorithm (transformers,
Apache-2.0: BasicTokenizer + WordpieceTokenizer, transcribed below without
changes of behaviour) running on Python's own unicodedata and str.lower(). The
vocabulary is bge-small's (= bert-base-uncased's), read from llama.cpp's
ggml-vocab-bert-bge.gguf that tools/fetch_tokenizer_vectors.sh installs.

Usage: python3 tests/golden/wordpiece/generate.py [models/test-vectors/ggml-vocab-bert-bge.gguf]
Writes tests/golden/wordpiece/bge_random.jsonl: one {"text", "do_lower_case",
"strip_accents", "ids"} per line.
The texts are seeded random mixes of a hostile character pool; characters not
assigned in this Python's Unicode version are left out, so a newer Unicode on
the C++ side (utf8proc) sees the same characters. Special-token strings such
as "[SEP]" are never generated: Python's tokenizer matches them as special
tokens, ours deliberately does not (docs/TOKENIZER.md).
"""
import json
import os
import random
import struct
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))


# --- GGUF: just the tokenizer.ggml.tokens string array ---------------------
def read_gguf_tokens(path):
    with open(path, "rb") as f:
        data = f.read()
    pos = 0

    def take(fmt):
        nonlocal pos
        value = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return value[0]

    def string():
        nonlocal pos
        n = take("Q")
        s = data[pos:pos + n].decode("utf-8")
        pos += n
        return s

    sizes = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        return take(sizes[t])

    assert data[:4] == b"GGUF", "not a GGUF file"
    pos = 4
    take("I")  # version
    take("Q")  # tensor count
    for _ in range(take("Q")):
        key, t = string(), take("I")
        v = value(t)
        if key == "tokenizer.ggml.tokens":
            return v
    raise KeyError("tokenizer.ggml.tokens")


def from_llama_piece(p):
    # convert_hf_to_gguf.py's phantom-space form, undone.
    if p.startswith("[") and p.endswith("]"):
        return p
    if p.startswith("\u2581"):
        return p[1:]
    return "##" + p


# --- Hugging Face transformers' BertTokenizer (Python), transcribed ------------
def _is_whitespace(char):
    if char == " " or char == "\t" or char == "\n" or char == "\r":
        return True
    return unicodedata.category(char) == "Zs"


def _is_control(char):
    if char == "\t" or char == "\n" or char == "\r":
        return False
    return unicodedata.category(char).startswith("C")


def _is_punctuation(char):
    cp = ord(char)
    if (cp >= 33 and cp <= 47) or (cp >= 58 and cp <= 64) or (cp >= 91 and cp <= 96) or (cp >= 123 and cp <= 126):
        return True
    return unicodedata.category(char).startswith("P")


def _is_chinese_char(cp):
    return ((cp >= 0x4E00 and cp <= 0x9FFF) or (cp >= 0x3400 and cp <= 0x4DBF)
            or (cp >= 0x20000 and cp <= 0x2A6DF) or (cp >= 0x2A700 and cp <= 0x2B73F)
            or (cp >= 0x2B740 and cp <= 0x2B81F) or (cp >= 0x2B820 and cp <= 0x2CEAF)
            or (cp >= 0xF900 and cp <= 0xFAFF) or (cp >= 0x2F800 and cp <= 0x2FA1F))


def whitespace_tokenize(text):
    text = text.strip()
    return text.split() if text else []


def basic_tokenize(text, do_lower_case=True, strip_accents=None, tokenize_chinese_chars=True):
    output = []
    for char in text:
        cp = ord(char)
        if cp == 0 or cp == 0xFFFD or _is_control(char):
            continue
        output.append(" " if _is_whitespace(char) else char)
    text = "".join(output)
    if tokenize_chinese_chars:
        text = "".join(" " + c + " " if _is_chinese_char(ord(c)) else c for c in text)
    text = unicodedata.normalize("NFC", text)
    split_tokens = []
    for token in whitespace_tokenize(text):
        if do_lower_case:
            token = token.lower()
            if strip_accents is not False:
                token = strip(token)
        elif strip_accents:
            token = strip(token)
        split_tokens.extend(split_on_punc(token))
    return whitespace_tokenize(" ".join(split_tokens))


def strip(text):
    text = unicodedata.normalize("NFD", text)
    return "".join(c for c in text if unicodedata.category(c) != "Mn")


def split_on_punc(text):
    output, start_new_word = [], True
    for char in text:
        if _is_punctuation(char):
            output.append([char])
            start_new_word = True
        else:
            if start_new_word:
                output.append([])
            start_new_word = False
            output[-1].append(char)
    return ["".join(x) for x in output]


def wordpiece(vocab, text, unk="[UNK]", max_chars=100):
    out = []
    for token in whitespace_tokenize(text):
        chars = list(token)
        if len(chars) > max_chars:
            out.append(unk)
            continue
        is_bad, start, sub = False, 0, []
        while start < len(chars):
            end, cur = len(chars), None
            while start < end:
                substr = "".join(chars[start:end])
                if start > 0:
                    substr = "##" + substr
                if substr in vocab:
                    cur = substr
                    break
                end -= 1
            if cur is None:
                is_bad = True
                break
            sub.append(cur)
            start = end
        out.extend([unk] if is_bad else sub)
    return out


def encode(vocab, text, do_lower_case=True, strip_accents=None):
    tokens = []
    for word in basic_tokenize(text, do_lower_case, strip_accents):
        tokens.extend(wordpiece(vocab, word))
    return [vocab[t] for t in tokens]


# --- cases -----------------------------------------------------------------------
POOL = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    + list(" " * 12 + "\t\n\r.,;:!?'\"()[]{}<>-_/\\@#$%^&*+=~`|")
    + list("ÄÖÜäöüßéèêëÉÈàáâãåÅçÇñÑøØæÆœŒıİŁłŠšŽžĞğ")       # Latin with accents
    + ["e\u0301", "a\u0308", "o\u0302\u0323", "\u0301", "\u0323"]    # decomposed, lone marks
    + list("ΑΒΓΔΣσςΟΔΟΣαβγδ΄ΆάΐΰϊΫ") + ["ΟΔΟΣ", "ΣΑ", "ΑΣ'", "Σ.", "ΑΣª", "ΑΣ🄰", "ΑΣʰ", "ΑΣ\u0345", "ªΣ", "ⒶΣ", "Ⅻ"]  # Greek, final sigma
    + list("абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙ")        # Cyrillic
    + list("中文字漢語日本東京한국어ひらがなカタカナｱｲｳ")          # CJK, kana, Hangul, halfwidth
    + ["\U00020000", "\U0002B820", "\U0002B8FF", "\uF900", "\u3400"]  # CJK ext/compat, incl. the Python-only range
    + list("«»¿¡—–…“”‘’„•·§¶†‡※‰′″") + list("€£¥©®™°±×÷½¼²³µ¹")
    + ["\u00a0", "\u2000", "\u2028", "\u2029", "\u3000", "\u200b", "\u200d", "\u00ad", "\ufeff",
       "\x00", "\x07", "\x1f", "\x7f", "\x85", "\ufffd", "\ue000", "\U000F0000"]
    + ["🦙", "😀", "🚀", "✅", "👍🏽", "\u0e01\u0e34", "\u0915\u094d\u0937", "\u05e9\u05c1", "\u0627\u064e"]
    + ["ﬁ", "ﬀ", "Ⅻ", "㎏", "①", "ｈｅｌｌｏ"]
    + ["hello", "world", "unaffable", "running", "the", "Transformer", "don't", "U.S.A.", "3.14",
       "e-mail", "naïve", "café", "Straße", "İstanbul", "ὈΔΥΣΣΕΎΣ"]
)
SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]


def assigned(text):
    return all(unicodedata.category(c) != "Cn" or c in "\U000F0000\ue000" for c in text)


def main():
    gguf = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "models/test-vectors/ggml-vocab-bert-bge.gguf")
    tokens = [from_llama_piece(p) for p in read_gguf_tokens(gguf)]
    vocab = {t: i for i, t in enumerate(tokens)}
    assert len(vocab) == len(tokens) == 30522
    rng = random.Random(20261123)
    pool = [p for p in POOL if assigned(p)]
    cases = []
    # (do_lower_case, strip_accents, count): the uncased default, then the
    # other settings a checkpoint can carry (the vocabulary stays the same).
    for lower, strip_accents, count in [(True, None, 2000), (False, None, 400), (False, True, 300),
                                        (True, False, 300)]:
        n_cases = 0
        while n_cases < count:
            n = rng.choice([1, 2, 3, 5, 8, 13, 40, 120]) if n_cases % 10 else rng.randint(150, 400)
            text = "".join(rng.choice(pool) for _ in range(n))
            if n_cases % 7 == 0:  # random assigned BMP code points
                text += "".join(c for c in (chr(rng.randint(0x80, 0xFFFF)) for _ in range(rng.randint(1, 20)))
                                if unicodedata.category(c) not in ("Cn", "Cs"))
            if any(s in text.upper() for s in SPECIALS):
                continue
            cases.append({"text": text, "do_lower_case": lower, "strip_accents": strip_accents,
                          "ids": encode(vocab, text, lower, strip_accents)})
            n_cases += 1
    out = os.path.join(HERE, "bge_random.jsonl")
    with open(out, "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    print(f"wrote {len(cases)} cases to {os.path.relpath(out, ROOT)} (Python unicodedata {unicodedata.unidata_version})")


if __name__ == "__main__":
    main()
