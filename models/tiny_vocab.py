"""A tiny CLIP byte-level BPE vocabulary for the random-weight test models.

The real CLIP vocabulary (49 408 tokens) would make the tiny text encoder's embedding table
alone larger than every other test weight together, so the tiny models get their own vocabulary
built the way CLIP's is: the 256 byte symbols, the same 256 with the end-of-word marker `</w>`,
then one token per BPE merge, then `<|startoftext|>` and `<|endoftext|>`. Every UTF-8 string
still tokenizes without unknown tokens, because every byte is in the base alphabet.

The merges are learnt here, deterministically, from a small English corpus of scene
descriptions, so common words become one or two tokens, like in the real vocabulary.
No third-party code or data: pure Python, runs anywhere.
"""

from __future__ import annotations

import collections
import re

# Scene descriptions and common English, the kind of text a panorama prompt holds.
CORPUS = """
a panoramic view of a quiet beach at sunset with palm trees and gentle waves on the sand
a snowy mountain landscape under a clear blue sky with pine trees and a frozen lake
the interior of an old library with tall wooden shelves full of books and warm light
a futuristic city at night with neon lights, tall glass towers and flying cars
a green forest in the morning with sun rays through the trees and a small river
a cozy living room with a fireplace, a red sofa, a wooden table and large windows
a desert with red rocks, sand dunes and a bright orange sky at dawn
an underwater coral reef with colorful fish and blue water and light from above
the top of a castle tower looking over green hills, fields and a distant village
a modern kitchen with white walls, a marble island, steel appliances and plants
a field of flowers in spring with mountains in the distance and white clouds
a busy market street in an old town with shops, people, lanterns and stone houses
a cave with crystals glowing in the dark and a path of water in the middle
a space station window looking at the earth and the stars in the black sky
a japanese garden with a wooden bridge over a pond, cherry trees and stone lamps
an empty train station at night with rain on the glass roof and yellow lights
the surface of the moon with craters, grey dust and the earth rising
a tropical island with a white sand beach, clear water and a small boat
a cathedral with high arches, stained glass windows and rows of wooden benches
a lake surrounded by autumn trees with red, orange and yellow leaves
a rooftop terrace over the city at sunset with chairs, plants and string lights
a medieval village square with a fountain, houses and a church tower
a snowy forest at night under the northern lights with a small cabin
a sunny meadow on a hill with a single tree, long grass and a blue sky
the inside of a greenhouse full of plants, flowers and hanging pots
a river flowing through a canyon with high red walls and a narrow path
high quality, highly detailed, photorealistic, beautiful, 4k, 8k, hdr, uhd
blurry, low quality, dark, noisy, distorted, ugly, bad, worst, text, watermark
this is the way we walk in the world, there is light in the room and on the water
they were looking at the sea from the road near the house where she lived
it was a very bright day, and everything in the room was quiet and still
"""

BOS = "<|startoftext|>"
EOS = "<|endoftext|>"

# CLIP's pre-tokenizer, ASCII-only approximation for the training corpus (the corpus is ASCII,
# the real split at tokenization time is done by the tokenizer library with the exact regex).
_WORD = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[a-z]+|[0-9]|[^\sa-z0-9]+")


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP reversible byte → printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def _word_counts(text: str) -> collections.Counter[str]:
    return collections.Counter(_WORD.findall(text.lower()))


def learn_merges(num_merges: int, text: str = CORPUS) -> list[tuple[str, str]]:
    """Greedy BPE over word counts; ties broken by the pair's text so the result is stable."""
    byte_enc = bytes_to_unicode()
    words: dict[tuple[str, ...], int] = {}
    for word, count in _word_counts(text).items():
        symbols = [byte_enc[b] for b in word.encode("utf-8")]
        symbols[-1] = symbols[-1] + "</w>"
        words[tuple(symbols)] = words.get(tuple(symbols), 0) + count

    known = set(byte_enc.values()) | {s + "</w>" for s in byte_enc.values()}
    merges: list[tuple[str, str]] = []
    while len(merges) < num_merges:
        pairs: collections.Counter[tuple[str, str]] = collections.Counter()
        for symbols, count in words.items():
            for a, b in zip(symbols, symbols[1:]):
                pairs[(a, b)] += count
        # A merge whose result is already a token would give two merges one id; skip it.
        candidates = [(c, p) for p, c in pairs.items() if p[0] + p[1] not in known]
        if not candidates:
            break
        best_count = max(c for c, _ in candidates)
        best = min(p for c, p in candidates if c == best_count)
        merges.append(best)
        known.add(best[0] + best[1])
        merged_words: dict[tuple[str, ...], int] = {}
        for symbols, count in words.items():
            out: list[str] = []
            i = 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            merged_words[tuple(out)] = merged_words.get(tuple(out), 0) + count
        words = merged_words
    return merges


def build_vocab(num_merges: int = 300) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """CLIP's layout: bytes, bytes+</w>, merges, then BOS and EOS last."""
    base = list(bytes_to_unicode().values())
    tokens = base + [s + "</w>" for s in base]
    merges = learn_merges(num_merges)
    tokens += [a + b for a, b in merges]
    tokens += [BOS, EOS]
    vocab = {t: i for i, t in enumerate(tokens)}
    if len(vocab) != len(tokens):
        raise AssertionError("duplicate token in the tiny vocabulary")
    return vocab, merges


def merges_txt(merges: list[tuple[str, str]]) -> str:
    # Same header line as CLIP's merges.txt; loaders skip it.
    return "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges)


def bpe_encode_word(word: str, ranks: dict[tuple[str, str], int]) -> list[str]:
    """Reference BPE of one pre-tokenized word (for self-checks without the tokenizers library)."""
    byte_enc = bytes_to_unicode()
    symbols = [byte_enc[b] for b in word.encode("utf-8")]
    symbols[-1] += "</w>"
    while len(symbols) > 1:
        pairs = [(ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(symbols, symbols[1:]))]
        rank, i = min(pairs)
        if rank == 1 << 30:
            break
        symbols = symbols[:i] + [symbols[i] + symbols[i + 1]] + symbols[i + 2 :]
    return symbols


if __name__ == "__main__":
    v, m = build_vocab()
    r = {p: i for i, p in enumerate(m)}
    print(len(v), "tokens;", len(m), "merges; first:", m[:10])
    for w in ["a", "the", "beach", "panorama", "sunset", "mountains", "xylophone"]:
        print(w, bpe_encode_word(w, r))
