"""How far one word is from another, for "did you mean": insertions, deletions, replacements and swaps of
two neighbours (optimal string alignment), each counting one."""

from __future__ import annotations


def edit_distance(first: str, second: str, limit: int) -> int:
    """Edits (insert, delete, replace, swap two neighbours) from one to the other; > limit means far."""
    previous_row: list[int] | None = None
    row = list(range(len(second) + 1))
    for i in range(1, len(first) + 1):
        current = [i] + [0] * len(second)
        for j in range(1, len(second) + 1):
            cost = 0 if first[i - 1] == second[j - 1] else 1
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + cost)
            if (
                previous_row is not None
                and i > 1
                and j > 1
                and first[i - 1] == second[j - 2]
                and first[i - 2] == second[j - 1]
            ):
                current[j] = min(current[j], previous_row[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous_row, row = row, current
    return row[-1]


def closest(word: str, candidates: list[str], *, limit: int = 2) -> str | None:
    """The candidate nearest to `word` within `limit` edits (and under half its length); of equally near
    ones, the one of the same length ("lsat" is "last" swapped, not "lat" shortened). None when none is."""
    word = word.lower()
    limit = min(limit, max(1, (len(word) - 1) // 2))
    scored = []
    for candidate in candidates:
        if abs(len(candidate) - len(word)) > limit:
            continue
        distance = edit_distance(word, candidate.lower(), limit)
        if distance <= limit:
            scored.append((distance, abs(len(candidate) - len(word)), candidate))
    return min(scored)[2] if scored else None
