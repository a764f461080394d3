"""Inference results cached in Erlang (ETS), shared by every interpreter of the node.

    from hornbeam_ml import cached_inference, cache_stats

    embedding = cached_inference(model.embed, text)               # keyed by a hash of text
    label = cached_inference(classify, image_bytes, cache_key=image_id, ttl=300)
    cache_stats()   # {'hits': 10, 'misses': 2, 'hit_rate': 0.83, 'size': 2}

N interpreters compute a given input once between them, not N times. Results must
convert to Erlang terms (docs/term-conversion.md): turn arrays into lists first.
"""

import hashlib
import pickle

import erlang

__all__ = ["cached_inference", "cache_stats", "cache_clear"]

_call = erlang.call


def _digest(value):
    """A key for `value`: the SHA-256 of its pickle, so equal inputs of any picklable
    type share an entry."""
    return hashlib.sha256(pickle.dumps(value, protocol=5)).hexdigest()


def cached_inference(fn, input, cache_key=None, prefix="ml", ttl=None, max_entries=None):
    """`fn(input)`, computed once and then served from the cache.

    `cache_key` replaces the hash of `input` as the key. `prefix` groups entries (and
    their statistics). `ttl` (seconds) makes an entry expire; `max_entries` bounds the
    prefix's entries, dropping the oldest first. Two interpreters that miss at the
    same moment both compute; the second result replaces the first.
    """
    if max_entries is not None and (type(max_entries) is not int or max_entries < 1):
        raise ValueError(f"max_entries must be a positive int or None, not {max_entries!r}")
    if ttl is not None and not ttl > 0:
        raise ValueError(f"ttl must be a positive number of seconds or None, not {ttl!r}")
    key = _digest(input) if cache_key is None else cache_key
    cached = _call("hornbeam.cache_get", prefix, key)
    if isinstance(cached, tuple):
        return cached[1]
    result = fn(input)
    ttl_ms = None if ttl is None else max(1, int(ttl * 1000))
    _call("hornbeam.cache_put", prefix, key, result, ttl_ms, max_entries)
    return result


def cache_stats(prefix="ml"):
    """`{'hits', 'misses', 'hit_rate', 'size'}` of one prefix, across interpreters."""
    return {str(k): v for k, v in _call("hornbeam.cache_stats", prefix).items()}


def cache_clear(prefix="ml"):
    """Forgets the prefix's entries and statistics."""
    _call("hornbeam.cache_clear", prefix)
