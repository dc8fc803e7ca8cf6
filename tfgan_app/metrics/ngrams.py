"""Character n-gram statistics of text samples, and two samplers to compare a model with.

The WGAN-GP language model's figure (Gulrajani et al. 2017, the code's
`language_helpers.NgramLanguageModel.js_with`): the Jensen-Shannon divergence between the
empirical n-gram distributions P (samples) and Q (reference text), n = 1..4,

    JS(P, Q) = 1/2 sum_g P(g) log2(P(g) / M(g)) + 1/2 sum_g Q(g) log2(Q(g) / M(g)),  M = (P + Q) / 2,

in bits (0: the same distribution, 1: no n-gram in common).  As the code: n-grams are counted
inside each fixed-length line of ids (no n-gram across lines), the padding after a line's end
and UNKNOWN counting as characters.  The figure depends on the number of lines on each side:
compare sets of the same size (`js_report` does).

Baselines, computed the same way:
- floor: held-out text against as many training lines (what real text of that size scores);
- unigram: characters drawn independently from the training text's frequencies;
- Markov: a character n-gram model of the training text (order 4: each character from the
  three before it, backing off to shorter contexts where a context was never seen).
"""

from __future__ import annotations

import collections

import numpy as np

ORDERS = (1, 2, 3, 4)


def ngram_counts(ids, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(keys, counts) of the n-grams inside each row of `ids` (N, L): keys are int64 codes of the
    n ids (base 2^15), sorted; counts their occurrences."""
    ids = np.asarray(ids, np.int64)
    if ids.ndim != 2 or ids.shape[1] < n:
        raise ValueError(f"ids of shape {ids.shape}: expected (lines, length >= {n})")
    if ids.size and (ids.min() < 0 or ids.max() >= 1 << 15):
        raise ValueError("ids must lie in [0, 2^15)")
    windows = np.lib.stride_tricks.sliding_window_view(ids, n, axis=1)  # (N, L - n + 1, n)
    codes = np.zeros(windows.shape[:2], np.int64)
    for k in range(n):
        codes = (codes << 15) | windows[..., k]
    return np.unique(codes.reshape(-1), return_counts=True)


def js_divergence(p: tuple, q: tuple) -> float:
    """JS divergence in bits of two count tables (keys sorted, counts), as the module docstring."""
    (kp, cp), (kq, cq) = p, q
    pp, qq = cp / cp.sum(), cq / cq.sum()
    keys = np.union1d(kp, kq)
    P = np.zeros(len(keys))
    Q = np.zeros(len(keys))
    P[np.searchsorted(keys, kp)] = pp
    Q[np.searchsorted(keys, kq)] = qq
    M = (P + Q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(P > 0, P * np.log2(P / M), 0.0).sum()
        kl_q = np.where(Q > 0, Q * np.log2(Q / M), 0.0).sum()
    return float(0.5 * kl_p + 0.5 * kl_q)


def js_figures(samples, reference, orders=ORDERS) -> dict:
    """{"js1": ..., "js4": ...}: JS divergence of the samples' n-grams from the reference's."""
    return {f"js{n}": js_divergence(ngram_counts(samples, n), ngram_counts(reference, n)) for n in orders}


def unigram_sample(train, n: int, seed: int) -> np.ndarray:
    """(n, L) ids drawn independently from the ids' frequencies in `train` (N, L)."""
    train = np.asarray(train)
    values, counts = np.unique(train, return_counts=True)
    rng = np.random.default_rng(seed)
    return rng.choice(values, size=(n, train.shape[1]), p=counts / counts.sum()).astype(np.int32)


class MarkovSampler:
    """A character n-gram model of `train` (N, L) ids, sampled with backoff.

    The model of order k draws each id from the counts of what followed its k - 1 predecessors
    in the training lines (a line's start is k - 1 BEGIN marks), or of the longest shorter
    context seen, down to the unigram counts.
    """

    BEGIN = -1

    def __init__(self, train, order: int = 4):
        train = np.asarray(train)
        self.order, self.length = int(order), train.shape[1]
        tables = [collections.defaultdict(collections.Counter) for _ in range(order)]  # context length 0..k-1
        for row in train.tolist():
            line = [self.BEGIN] * (order - 1) + row
            for t in range(order - 1, len(line)):
                for c in range(order):
                    tables[c][tuple(line[t - c:t])][line[t]] += 1
        self.tables = [{ctx: (np.array(list(cnt)), np.cumsum(list(cnt.values())) / sum(cnt.values()))
                        for ctx, cnt in table.items()} for table in tables]

    def sample(self, n: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = np.zeros((n, self.length), np.int32)
        for r in range(n):
            line = [self.BEGIN] * (self.order - 1)
            for t in range(self.length):
                for c in range(self.order - 1, -1, -1):  # the longest context seen
                    entry = self.tables[c].get(tuple(line[len(line) - c:]) if c else ())
                    if entry is not None:
                        break
                values, cumulative = entry
                line.append(int(values[min(np.searchsorted(cumulative, rng.random(), side="right"),
                                          len(values) - 1)]))
            out[r] = line[self.order - 1:]
        return out


def js_report(samples, held_out, train, seed: int = 0, orders=ORDERS) -> dict:
    """JS figures of `samples` against `held_out`, next to the baselines' (module docstring), all
    from as many lines as `held_out` has (samples are cut to that many; fewer is an error)."""
    held_out, train = np.asarray(held_out), np.asarray(train)
    m = len(held_out)
    if len(samples) < m:
        raise ValueError(f"{len(samples)} samples; expected at least as many as the {m} held-out lines")
    rng = np.random.default_rng(seed)
    floor = train[rng.choice(len(train), size=m, replace=len(train) < m)]
    return {
        "model": js_figures(np.asarray(samples)[:m], held_out, orders),
        "floor": js_figures(floor, held_out, orders),
        "unigram": js_figures(unigram_sample(train, m, seed + 1), held_out, orders),
        "markov4": js_figures(MarkovSampler(train, 4).sample(m, seed + 2), held_out, orders),
    }
