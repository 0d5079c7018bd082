#!/usr/bin/env python3
"""tools/fit_linformer.py on synthetic captures (no model run): its gradient
equals finite differences, its pooling follows the kernel's rule (taps
outside the text dropped, log of the tokens in a segment), fitting lowers
the error, and the file it writes names each weight file's sha256."""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import fit_linformer  # noqa: E402


def dense(q, k, v, scale):
    s = (q * scale) @ k.T
    s -= s.max(1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(1, keepdims=True)
    return p @ v


def planes(n, d, seed):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((n, d)).astype(np.float64)
    k = rng.standard_normal((n, d)).astype(np.float64)
    v = rng.standard_normal((n, d)).astype(np.float64)
    return np.stack([q, k, v, dense(q, k, v, 0.5)])


class FitLinformerTest(unittest.TestCase):
    def test_pooling_follows_the_kernel_rule(self):
        x = np.arange(7 * 2, dtype=np.float64).reshape(7, 2)
        taps = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
        pooled = np.tensordot(taps, fit_linformer.gathered(x, 2, -2, 6), 1)
        want = np.zeros((4, 2))
        for s in range(4):
            for o in range(6):
                j = 2 * s - 2 + o
                if 0 <= j < 7:
                    want[s] += taps[o] * x[j]
        np.testing.assert_allclose(pooled, want)
        np.testing.assert_allclose(fit_linformer.segment_bias(2, 7), np.log([2, 2, 2, 1]))

    def test_gradient_matches_finite_differences(self):
        head = fit_linformer.Head(planes(13, 4, 1), 4, -4, 12, 0.5)
        rng = np.random.default_rng(2)
        kt, vt = rng.standard_normal(12) * 0.3, rng.standard_normal(12) * 0.3
        gk, gv = head.gradient(kt, vt)
        eps = 1e-6
        for which, grad in ((0, gk), (1, gv)):
            for o in (0, 5, 11):
                up = [kt.copy(), vt.copy()]
                down = [kt.copy(), vt.copy()]
                up[which][o] += eps
                down[which][o] -= eps
                numeric = (head.error(*up) ** 2 - head.error(*down) ** 2) / (2 * eps)
                self.assertAlmostEqual(grad[o], numeric, delta=1e-5 + 1e-4 * abs(numeric))

    def test_fitting_lowers_the_error_and_names_the_weights(self):
        with tempfile.TemporaryDirectory() as tmp:
            cap = os.path.join(tmp, "cap")
            model = os.path.join(tmp, "model")
            os.makedirs(cap)
            os.makedirs(model)
            with open(os.path.join(model, "group1-shard1of1"), "wb") as fh:
                fh.write(b"abc")
            for t in range(3):
                np.save(os.path.join(cap, f"t{t}_l0.npy"),
                        planes(32, 8, 10 + t)[:, None].astype(np.float32))
            with open(os.path.join(cap, "meta.json"), "w") as fh:
                json.dump({"model": "m", "layers": 1, "heads": 1, "head_dim": 8,
                           "scale": 0.5, "texts": [32, 32, 32]}, fh)
            out = os.path.join(tmp, "fit.json")
            run = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "fit_linformer.py"),
                                  "--model", model, "--train", cap, "--segments", "4",
                                  "--steps", "40", "--out", out],
                                 capture_output=True, text=True, check=True)
            row = [line for line in run.stdout.splitlines() if line.startswith("| 4 | 0 | 0 |")]
            self.assertEqual(len(row), 1, run.stdout)
            means, fitted = (float(x) for x in row[0].split("|")[4:6])
            self.assertLess(fitted, means)
            fit = json.load(open(out))
            self.assertEqual(fit["weights_sha256"],
                             {"group1-shard1of1": hashlib.sha256(b"abc").hexdigest()})
            self.assertEqual(fit["fits"][0]["segment"], 4)
            self.assertEqual(fit["fits"][0]["first_offset"], -4)
            self.assertEqual(len(fit["fits"][0]["key_taps"][0][0]), 12)


if __name__ == "__main__":
    unittest.main()
