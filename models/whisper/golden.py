"""Golden outputs for the tiny random Whisper, from the reference implementation.

Loads the weights of test/speech/data/whisper-tiny-random (read back from the ONNX initializers,
which carry transformers' parameter names) into transformers' PyTorch
WhisperForConditionalGeneration and records, for a committed 16 kHz speech fixture:
  - the log-mel features of transformers' WhisperFeatureExtractor (statistics + sampled values),
  - the encoder's last_hidden_state (statistics + sampled values),
  - the greedy transcript: token ids and text. Greedy decoding is done step by step with full
    recomputation (no cache) and Whisper's suppress_tokens / begin_suppress_tokens applied, so it is
    independent of both the KV cache and of any generate() implementation; transformers' generate()
    and onnxruntime's cached decode of our ONNX files are run too and must agree with it.
test/speech/whisper.test.ts checks @huggingface/transformers' pipeline against this file.

Needs PyTorch + transformers (runs on the GPU machine; CPU is enough):
  python models/whisper/golden.py [MODEL_DIR] [WAV] [OUT_JSON]
"""

from __future__ import annotations

import json
import os
import sys
import wave

import numpy as np
import onnx
import torch
import transformers
from onnx import numpy_helper
from tokenizers import Tokenizer
from transformers import GenerationConfig, WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
MAX_NEW_TOKENS = 16


def load_model(model_dir: str) -> WhisperForConditionalGeneration:
    state = {}
    for f in ("onnx/encoder_model.onnx", "onnx/decoder_model_merged.onnx"):
        for init in onnx.load(os.path.join(model_dir, f)).graph.initializer:
            if init.name.startswith("const/"):
                continue
            arr = numpy_helper.to_array(init)
            name = init.name
            if name.endswith(".T"):
                name, arr = name[:-2], arr.T
            state[name] = torch.from_numpy(np.ascontiguousarray(arr))
    config = WhisperConfig.from_pretrained(model_dir)
    config._attn_implementation = "eager"
    model = WhisperForConditionalGeneration(config).eval()
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected, unexpected
    assert set(missing) <= {"proj_out.weight"}, missing
    if not torch.equal(model.proj_out.weight, model.model.decoder.embed_tokens.weight):
        model.proj_out.weight = model.model.decoder.embed_tokens.weight  # Whisper ties them
    model.generation_config = GenerationConfig.from_pretrained(model_dir)
    return model


def read_wav16(path: str) -> np.ndarray:
    with wave.open(path) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768


def samples(arr: np.ndarray, n: int = 64, seed: int = 0) -> list[list[float]]:
    """[i, j, value] at n fixed pseudo-random positions of a 2-D array."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, arr.shape[0], n)
    cols = rng.integers(0, arr.shape[1], n)
    return [[int(r), int(c), float(arr[r, c])] for r, c in zip(rows, cols)]


@torch.no_grad()
def greedy_reference(model, feats: torch.Tensor, prompt: list[int]) -> tuple[list[int], float]:
    gc = model.generation_config
    tokens = list(prompt)
    min_margin = float("inf")
    for step in range(MAX_NEW_TOKENS):
        logits = model(input_features=feats, decoder_input_ids=torch.tensor([tokens])).logits[0, -1].double()
        logits[gc.suppress_tokens] = -float("inf")
        if step == 0:
            logits[gc.begin_suppress_tokens] = -float("inf")
        top2 = torch.topk(logits, 2).values
        min_margin = min(min_margin, float(top2[0] - top2[1]))
        nxt = int(logits.argmax())
        tokens.append(nxt)
        if nxt == gc.eos_token_id:
            break
    return tokens[len(prompt):], min_margin


def main() -> None:
    model_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "test/speech/data/whisper-tiny-random")
    wav = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "test/fixtures/audio/cabin-16k.wav")
    out = sys.argv[3] if len(sys.argv) > 3 else os.path.join(ROOT, "test/speech/data/whisper-tiny-random-golden.json")
    torch.manual_seed(0)
    model = load_model(model_dir)
    gc = model.generation_config
    fe = WhisperFeatureExtractor.from_pretrained(model_dir)
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    prompt = [gc.decoder_start_token_id, gc.no_timestamps_token_id]

    audio = read_wav16(wav)
    feats = fe(audio, sampling_rate=16000, return_tensors="pt").input_features
    with torch.no_grad():
        enc = model.model.encoder(feats).last_hidden_state
    ref, margin = greedy_reference(model, feats, prompt)
    silence_ref, _ = greedy_reference(model, fe(np.zeros(16000, np.float32), sampling_rate=16000, return_tensors="pt").input_features, prompt)

    result = {
        "about": "Reference outputs of transformers' PyTorch Whisper on test/speech/data/whisper-tiny-random; written by models/whisper/golden.py",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "numpy": np.__version__},
        "wav": os.path.relpath(wav, ROOT),
        "max_new_tokens": MAX_NEW_TOKENS,
        "prompt_tokens": prompt,
        "features": {"shape": list(feats.shape), "mean": float(feats.mean()), "std": float(feats.std()), "samples": samples(feats[0].numpy())},
        "encoder": {"shape": list(enc.shape), "mean": float(enc.mean()), "std": float(enc.std()), "samples": samples(enc[0].numpy(), seed=1)},
        "tokens": ref,
        "text": tok.decode(ref, skip_special_tokens=True),
        "min_top2_margin": margin,
        "silence_tokens": silence_ref,
    }

    # Cross-checks, reported in the file: transformers' own generate(), and onnxruntime on our graphs.
    try:
        gen = model.generate(feats, max_new_tokens=MAX_NEW_TOKENS, do_sample=False, num_beams=1)
        seq = gen.sequences[0].tolist() if hasattr(gen, "sequences") else gen[0].tolist()
        # Whether generate() returns the prompt depends on the transformers version: strip it if there.
        result["generate_tokens"] = seq[len(prompt):] if seq[: len(prompt)] == prompt else seq
    except Exception as e:  # reported, not fatal: the step-by-step loop above is the reference
        result["generate_error"] = f"{type(e).__name__}: {e}"
    try:
        sys.path.insert(0, HERE)
        import onnxruntime as ort

        import make_tiny_whisper as mtw

        enc_s = ort.InferenceSession(os.path.join(model_dir, "onnx/encoder_model.onnx"))
        onnx_enc = enc_s.run(None, {"input_features": feats.numpy()})[0]
        result["onnx_encoder_max_abs_diff"] = float(np.abs(onnx_enc - enc.numpy()).max())
        ids = {"<|startoftranscript|>": prompt[0], "<|notimestamps|>": prompt[1], "<|endoftext|>": gc.eos_token_id}
        onnx_tokens, _ = mtw.greedy(model_dir, feats.numpy(), ids, gc.suppress_tokens, gc.begin_suppress_tokens, MAX_NEW_TOKENS)
        result["onnx_tokens"] = onnx_tokens[2:]
        result["onnxruntime"] = ort.__version__
    except Exception as e:
        result["onnx_error"] = f"{type(e).__name__}: {e}"

    with open(out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    brief = {k: v for k, v in result.items() if k not in ("features", "encoder")}
    print(json.dumps(brief, indent=1))
    print("features mean/std", result["features"]["mean"], result["features"]["std"], "encoder mean/std", result["encoder"]["mean"], result["encoder"]["std"])


if __name__ == "__main__":
    main()
