"""The temporal reconstructor's LRU cache: byte budget, recency, the newest entry always kept."""

from __future__ import annotations

from engine.temporal.cache import LruCache


def test_the_least_recently_used_go_first_past_the_budget() -> None:
    cache: LruCache[bytes] = LruCache(10, len)
    cache.put(1, b"aaaa")
    cache.put(2, b"bbbb")
    assert cache.get(1) == b"aaaa"  # 1 is now the most recently used
    cache.put(3, b"cccc")
    assert cache.keys() == (1, 3) and cache.nbytes == 8
    assert cache.get(2) is None


def test_the_newest_entry_stays_whatever_its_size() -> None:
    cache: LruCache[bytes] = LruCache(1, len)
    cache.put(1, b"aa")
    cache.put(2, b"bbb")
    assert cache.keys() == (2,) and cache.nbytes == 3
    cache.put(2, b"b")  # replacing an entry counts its new size only
    assert cache.nbytes == 1 and len(cache) == 1
    cache.clear()
    assert len(cache) == 0 and cache.nbytes == 0
