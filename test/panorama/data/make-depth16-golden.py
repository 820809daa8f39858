"""Golden data for encodeDepth16LDM3D: what diffusers' VaeImageProcessorLDM3D.numpy_to_depth does
to 4-channel LDM3D depth, `(images_depth * 65535.0).astype(np.uint16)` on float32 arrays.
Run: python3 make-depth16-golden.py > ldm3d-depth16-golden.json (numpy ≥ 1.20)."""
import json

import numpy as np

rng = np.random.default_rng(20240611)
values = np.concatenate([
    rng.random(200, dtype=np.float32),
    # float32 nearest to k/65535: the float64 product floors to k − 1 for about half of these.
    (np.arange(0, 65536, 97) / 65535).astype(np.float32),
    np.array([0.0, 1.0, 0.5, np.nextafter(np.float32(1), np.float32(0))], dtype=np.float32),
]).astype(np.float32)
encoded = (values * 65535.0).astype(np.uint16)
print(json.dumps({
    "numpy": np.__version__,
    "rule": "(float32 depth * 65535.0).astype(np.uint16)",
    "depth": [float(v) for v in values],
    "uint16": [int(v) for v in encoded],
}))
