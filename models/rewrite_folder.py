"""Rewrites some graphs of an exported model folder into a new folder: the machinery of
models/wrap_conv.py, kept apart for the next graph rewrite (copy the untouched files, load each graph with
its external data, rewrite it, save it with as many data files as before, re-hash the manifest)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

# Reports and notes next to the manifest that are copied as they are.
SIDE_FILES = ("export-report.json", "narrow-report.json", "wrap-report.json", "README.md")


def data_files(model, max_file_bytes: int) -> int:
    """How many external data files export.save_onnx writes for `model` with this file limit."""
    from export import MIN_EXTERNAL_TENSOR_BYTES
    from onnx import numpy_helper

    files, offset = 0, 0
    for t in model.graph.initializer:
        size = len(t.raw_data) if t.HasField("raw_data") else numpy_helper.to_array(t).nbytes
        if size < MIN_EXTERNAL_TENSOR_BYTES:
            continue
        if files == 0 or (offset > 0 and offset + size > max_file_bytes):
            files += 1
            offset = 0
        offset += (-offset) % 64 + size
    return files


def max_file_for(model, files: int) -> int:
    """The smallest file limit (in 4 KiB steps) with which save_onnx writes at most `files` data files."""
    lo, hi = 4096, 4096
    while data_files(model, hi) > files:
        hi *= 2
    while hi - lo > 4096:
        mid = (lo + hi) // 2 // 4096 * 4096
        if data_files(model, mid) > files:
            lo = mid
        else:
            hi = mid
    return hi


def rewrite_folder(src: Path, out: Path, wanted: list[str], rewrite: Callable[[object, str, dict], dict],
                   error: type[BaseException], tool: str, max_data_file_mib: int | None = None) -> tuple[dict, dict]:
    """Copies the exported folder `src` to `out` (which must not be `src`) with the graphs of the
    sessions `wanted` replaced by `rewrite(model, session_name, session_entry)` (which edits the
    model and may edit the manifest's session entry, and returns its statistics). Returns the new
    manifest (files re-listed and re-hashed; not yet written: the caller adds its own key) and the
    statistics per session."""
    import onnx

    from export import DEFAULT_MAX_DATA_FILE_BYTES, EXTERNAL_DATA_THRESHOLD_BYTES, save_onnx, sha256_file
    from narrow_weights import kind_of

    src, out = Path(src), Path(out)
    manifest = json.loads((src / "manifest.json").read_text())
    if out.resolve() == src.resolve():
        raise error(f"{tool}: --out must differ from --in")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    rewritten_dirs = {Path(manifest["sessions"][s]["file"]).parent.as_posix() for s in wanted}
    for f in manifest["files"]:
        if Path(f["path"]).parent.as_posix() in rewritten_dirs:
            continue
        dst = out / f["path"]
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / f["path"], dst)
    for side in SIDE_FILES:
        if (src / side).is_file():
            shutil.copyfile(src / side, out / side)
    stats_by_session = {}
    for name in wanted:
        s = manifest["sessions"][name]
        files_in_dir = [f for f in manifest["files"] if Path(f["path"]).parent.as_posix() == Path(s["file"]).parent.as_posix()]
        expected = {Path(s["file"]).name, *s.get("external_data", [])}
        extra = [f["path"] for f in files_in_dir if Path(f["path"]).name not in expected]
        if extra:
            raise error(f"{tool}: {name}: files {extra} share the graph's folder but are not its data")
        model = onnx.load(str(src / s["file"]), load_external_data=True)
        stats_by_session[name] = rewrite(model, name, s)
        dst = out / s["file"]
        dst.parent.mkdir(parents=True, exist_ok=True)
        ext = s.get("external_data") or []
        external = bool(ext) or model.ByteSize() >= EXTERNAL_DATA_THRESHOLD_BYTES
        max_file = (max_data_file_mib * 2**20) if max_data_file_mib else DEFAULT_MAX_DATA_FILE_BYTES
        if len(ext) > 1 and data_files(model, max_file) != len(ext):
            # keep the number of data files (the tiny UNet is split on purpose: the loader's multi-file path)
            max_file = max_file_for(model, len(ext))
        s["external_data"] = save_onnx(model, dst, external, max_file)
        try:
            onnx.checker.check_model(str(dst))
        except onnx.checker.ValidationError as e:
            if "ir_version is higher" not in str(e) and "Opset" not in str(e) and "opset" not in str(e):
                raise error(f"{tool}: {name}: the rewritten graph fails onnx.checker: {e}") from e
            print(f"{name}: not checked (this onnx {onnx.__version__} predates the graph's IR/opset version)", flush=True)
    files = []
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out).as_posix()
        kind = kind_of(rel)
        if p.is_file() and kind:
            files.append({"path": rel, "bytes": p.stat().st_size, "sha256": sha256_file(p), "kind": kind})
    before = {f["path"] for f in manifest["files"]}
    after = {f["path"] for f in files}
    lost = sorted(p for p in before - after if not any(p.startswith(d + "/") for d in rewritten_dirs))
    if lost:
        raise error(f"{tool}: files of the input manifest missing from the output: {lost}")
    manifest["files"] = files
    return manifest, stats_by_session


INT64_MAX = 2**63 - 1


class GraphNames:
    """Fresh names in one graph, and int64 constants shared by value (Slice starts/ends, shapes),
    for the graph rewrites. `new_inits` collects the constants' initializers for the caller to add."""

    def __init__(self, graph, prefix: str):
        self.prefix = prefix
        self.taken = ({i.name for i in graph.initializer} | {o for n in graph.node for o in n.output}
                      | {i.name for i in graph.input} | {n.name for n in graph.node})
        self.consts: dict[tuple, str] = {}
        self.new_inits: list = []

    def fresh(self, base: str) -> str:
        name = base
        k = 0
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name

    def const(self, values: list[int]) -> str:
        import numpy as np
        from onnx import numpy_helper

        key = tuple(values)
        if key not in self.consts:
            name = self.fresh(self.prefix + "c_" + "_".join(str(v) if v != INT64_MAX else "end" for v in values))
            self.new_inits.append(numpy_helper.from_array(np.array(values, dtype=np.int64), name))
            self.consts[key] = name
        return self.consts[key]
