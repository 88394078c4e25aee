"""The structure of a procedure: discovered from the records, or taken from a procedure file.

Discovery works on the first execution of each step in each case (repeats are send-backs,
see `sim.analysis.calibration.steps`). For every pair of steps that occur in the same
case it counts how often one ended before the other began, and how often they overlapped
(with start times; with end times only, the order of their ends). Steps are ranked by how
often they come first, and a step waits on an earlier-ranked one when the dependency
``(before - after) / (before + after + overlap + 1)`` reaches `DEPENDENCY` (the heuristics
miner's measure, counted over whole cases rather than adjacent events); otherwise they run
side by side. Waiting relations are reduced to the direct ones, so the result is a DAG of
``after:`` lists. The directly-follows graph is kept for the report.

Steps that only some cases take become optional: the set of steps each case took is its
*route*, a categorical case attribute whose shares are the routes' frequencies (rare routes,
under `MIN_ROUTE_SHARE` of the cases, are folded into the most similar frequent one), and
a step runs for the routes that contain it (``when: route in [...]``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.domain.errors import InputError
from sim.domain.model import Procedure
from sim.domain.suggest import did_you_mean

DEPENDENCY = 0.8
MIN_ROUTE_SHARE = 0.01
MAX_ROUTES = 20
ROUTE = "route"


@dataclass(frozen=True)
class Route:
    """A set of steps some cases take, and the share of cases taking it."""

    name: str
    steps: frozenset[str]
    share: float
    cases: int


@dataclass(frozen=True)
class Structure:
    """Steps, what each waits on, their agencies, and the routes through them.

    Attributes:
        ids: Step ids in order.
        names: Step id to the name the records use (absent: the records lack the step).
        after: Step id to the steps it waits on directly.
        agencies: Step id to its agency id.
        agency_names: Agency id to its name in the records.
        routes: The routes when not every case takes every step (discovery only).
        dfg: Directly-follows counts (``from``, ``to``, ``count``), for the report.
        parallel: Pairs of steps found to run side by side (both occur in some case).
        folded: Cases whose rare route was folded into a frequent one.
        dropped: Record names of steps left out (only in folded routes, or unmatched).
        discovered: Whether the structure was discovered (else taken from a file).
    """

    ids: tuple[str, ...]
    names: dict[str, str]
    after: dict[str, tuple[str, ...]]
    agencies: dict[str, str]
    agency_names: dict[str, str] = field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    dfg: pd.DataFrame = field(default_factory=pd.DataFrame)
    parallel: tuple[tuple[str, str], ...] = ()
    folded: int = 0
    dropped: tuple[str, ...] = ()
    discovered: bool = True

    @property
    def step_of_name(self) -> dict[str, str]:
        """Record name to step id."""
        return {name: step for step, name in self.names.items()}

    def ancestors(self) -> dict[str, frozenset[str]]:
        """Step id to every step it waits on, directly or through others."""
        found: dict[str, frozenset[str]] = {}

        def visit(step: str) -> frozenset[str]:
            if step not in found:
                found[step] = frozenset()  # guards a cycle (none in a valid structure)
                direct = self.after.get(step, ())
                found[step] = frozenset(direct).union(*(visit(b) for b in direct))
            return found[step]

        for step in self.ids:
            visit(step)
        return found

    def condition(self, step: str) -> str | None:
        """The ``when:`` of a step: the routes containing it (None: every route does)."""
        if not self.routes:
            return None
        taking = [route.name for route in self.routes if step in route.steps]
        if len(taking) == len(self.routes):
            return None
        listed = ", ".join(f'"{name}"' for name in taking)
        return f"{ROUTE} in [{listed}]"


def identifier(name: str, taken: set[str], prefix: str) -> str:
    """A file identifier for a name: its ASCII words, or ``<prefix>_<n>``; unique in ``taken``."""
    words = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not words or not words[0].isalpha() or not name.isascii():
        words = f"{prefix}_{len(taken) + 1}"
    words = words[:60]
    candidate, number = words, 2
    while candidate in taken:
        candidate, number = f"{words}_{number}", number + 1
    taken.add(candidate)
    return candidate


# --------------------------------------------------------------------------- discovery


def first_executions(frame: pd.DataFrame) -> pd.DataFrame:
    """The first execution of each step in each case (``case``, ``step``, ``begin``, ``end``)."""
    return frame[frame["attempt"] == 1][["case", "step", "begin", "end"]]


def order_counts(firsts: pd.DataFrame, steps: Sequence[str], timed: bool) -> dict[str, np.ndarray]:
    """Per pair of steps (i, j): cases where i ended before j began, and where they overlapped."""
    begin = firsts.pivot(index="case", columns="step", values="begin").reindex(columns=steps)
    end = firsts.pivot(index="case", columns="step", values="end").reindex(columns=steps)
    b, e = begin.to_numpy(float), end.to_numpy(float)
    k = len(steps)
    before = np.zeros((k, k))
    overlap = np.zeros((k, k))
    for i in range(k):
        both = ~np.isnan(e[:, i : i + 1]) & ~np.isnan(e)
        if timed:
            first = e[:, i : i + 1] <= b
            last = e <= b[:, i : i + 1]
            overlap[i] = np.sum(both & ~first & ~last, axis=0)
            # Both at one moment (work on a day off falls on the next working day's
            # start): that says nothing about their order.
            first &= ~last
        else:
            first = e[:, i : i + 1] < e  # equal ends (same day) say nothing about order
        before[i] = np.sum(both & first, axis=0)
    np.fill_diagonal(before, 0)
    np.fill_diagonal(overlap, 0)
    return {"before": before, "overlap": overlap}


def directly_follows(frame: pd.DataFrame) -> pd.DataFrame:
    """How often one step's execution directly follows another's in a case (by end time)."""
    following = frame.groupby("case", sort=False)["step"].shift(-1)
    pairs = pd.DataFrame({"from": frame["step"], "to": following}).dropna()
    pairs = pairs[pairs["from"] != pairs["to"]]
    counts = pairs.value_counts().rename("count").reset_index()
    return counts.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)


def discover(
    frame: pd.DataFrame,
    closed: pd.Index,
    agencies: Mapping[str, str],
    agency_names: Mapping[str, str],
) -> Structure:
    """Discover the structure from prepared training executions (module doc).

    Args:
        frame: Prepared executions (`sim.analysis.calibration.timeline.prepare`) whose
            ``step`` is the recorded name.
        closed: The cases that were finished (routes come from these).
        agencies: Record name to agency id.
        agency_names: Agency id to its recorded name.

    Returns:
        The structure; step ids are made from the names.
    """
    timed = bool(frame["start"].notna().any())
    firsts = first_executions(frame)
    everything = list(pd.unique(frame["step"]))
    counts = order_counts(firsts, everything, timed)["before"]
    # Rank: how often a step comes first, minus how often it comes after.
    score = dict(zip(everything, (counts - counts.T).sum(axis=1), strict=True))
    everything.sort(key=lambda name: (-score[name], name))
    taken: set[str] = set()
    ids = {name: identifier(name, taken, "step") for name in everything}
    routes, folded, rare = _routes(firsts[firsts["case"].isin(closed)], ids)
    names = [name for name in everything if name not in rare]
    counts = order_counts(firsts[firsts["step"].isin(names)], names, timed)
    before, overlap = counts["before"], counts["overlap"]
    edges: set[tuple[int, int]] = set()
    parallel = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            together = before[i, j] + before[j, i] + overlap[i, j]
            if together == 0:
                continue
            dependency = (before[i, j] - before[j, i]) / (together + 1)
            if dependency >= DEPENDENCY:
                edges.add((i, j))
            else:
                parallel.append((names[i], names[j]))
    edges = _reduce(edges, len(names))
    kept = range(len(names))
    after = {ids[names[j]]: tuple(ids[names[i]] for i in kept if (i, j) in edges) for j in kept}
    return Structure(
        ids=tuple(ids[names[i]] for i in kept),
        names={ids[names[i]]: names[i] for i in kept},
        after=after,
        agencies={ids[names[i]]: agencies[names[i]] for i in kept},
        agency_names=dict(agency_names),
        routes=routes,
        dfg=directly_follows(frame),
        parallel=tuple(parallel),
        folded=folded,
        dropped=tuple(sorted(rare)),
    )


def _reduce(edges: set[tuple[int, int]], k: int) -> set[tuple[int, int]]:
    """The transitive reduction of an acyclic set of edges."""
    successors = {i: {j for a, j in edges if a == i} for i in range(k)}

    def reachable(start: int, skip: tuple[int, int]) -> set[int]:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            for nxt in successors[node]:
                if (node, nxt) == skip or nxt in seen:
                    continue
                seen.add(nxt)
                todo.append(nxt)
        return seen

    return {(i, j) for i, j in edges if j not in reachable(i, (i, j))}


def _step_sets(firsts: pd.DataFrame) -> Counter:
    """How many cases took each set of steps (a set as a bit mask while counting: fast)."""
    codes, names = pd.factorize(firsts["step"])
    if len(names) > 62:
        return Counter(firsts.groupby("case", sort=False)["step"].agg(frozenset).tolist())
    masks = pd.Series(np.left_shift(1, codes.astype(np.int64)), index=firsts.index)
    per_case = masks.groupby(firsts["case"].to_numpy(), sort=False).sum()
    found = Counter()
    for mask, count in per_case.value_counts().items():
        found[frozenset(name for bit, name in enumerate(names) if int(mask) >> bit & 1)] = int(
            count
        )
    return found


def _routes(
    firsts: pd.DataFrame, ids: Mapping[str, str]
) -> tuple[tuple[Route, ...], int, set[str]]:
    """Routes of the closed cases, rare ones folded (module doc); and steps left in none."""
    counts = _step_sets(firsts)
    total = sum(counts.values())
    every = set(ids)
    if total == 0 or (len(counts) == 1 and next(iter(counts)) == frozenset(every)):
        return (), 0, set()
    ranked = sorted(counts.items(), key=lambda item: (-item[1], sorted(item[0])))
    frequent = [steps for steps, count in ranked if count >= max(2, MIN_ROUTE_SHARE * total)][
        :MAX_ROUTES
    ] or [ranked[0][0]]
    merged = Counter({steps: 0 for steps in frequent})
    folded = 0
    for steps, count in ranked:
        if steps in merged:
            merged[steps] += count
            continue
        nearest = max(frequent, key=lambda f: (len(f & steps) / len(f | steps), merged[f]))
        merged[nearest] += count
        folded += count
    present = set().union(*frequent)
    routes = tuple(
        Route(
            f"r{number}",
            frozenset(ids[name] for name in steps),
            count / total,
            count,
        )
        for number, (steps, count) in enumerate(
            sorted(merged.items(), key=lambda item: -item[1]), start=1
        )
    )
    if len(routes) == 1 and routes[0].steps == frozenset(ids[name] for name in present):
        routes = ()
    return routes, folded, every - present


# --------------------------------------------------------------------------- a given file


def match_procedure(
    procedure: Procedure,
    names: Sequence[str],
    mapping: Mapping[str, str] | None = None,
    mapping_file: object = None,
) -> Structure:
    """The structure of a procedure file, its steps matched to the records' step names.

    A record name matches a step whose id, Chinese or English name it equals (ignoring
    case and spaces); the mapping (record name to step id) is applied first.

    Raises:
        InputError: The mapping names a step the procedure does not have, two record
            names map to one step, or no record name matches any step.
    """

    def folded(text: str) -> str:
        return re.sub(r"\s+", "", str(text)).lower()

    lookup: dict[str, str] = {}
    for step in procedure.steps:
        for label in (step.id, step.name.zh, step.name.en):
            lookup.setdefault(folded(label), step.id)
    matched: dict[str, str] = {}
    for name, step in (mapping or {}).items():
        if step not in procedure.step_index:
            raise InputError(
                f"the mapping sends '{name}' to step '{step}', which {procedure.id} does not "
                "have" + did_you_mean(step, [s.id for s in procedure.steps], "its steps are"),
                file=mapping_file,
            )
    for name in names:
        step = (mapping or {}).get(name) or lookup.get(folded(name))
        if step is None:
            continue
        if step in matched:
            raise InputError(
                f"the record steps '{matched[step]}' and '{name}' both match step '{step}' of "
                f"{procedure.id}; map one of them to another step",
                file=mapping_file,
            )
        matched[step] = name
    if not matched:
        raise InputError(
            f"no step name of the records matches a step of {procedure.id} (records: "
            f"{', '.join(list(names)[:8])}; steps: {', '.join(s.id for s in procedure.steps)}); "
            "map them with --mapping FILE",
            file=procedure.file or None,
        )
    unmatched = tuple(sorted(set(names) - set(matched.values())))
    return Structure(
        ids=tuple(step.id for step in procedure.steps),
        names=matched,
        after={step.id: step.after for step in procedure.steps},
        agencies={step.id: step.agency for step in procedure.steps},
        dropped=unmatched,
        discovered=False,
    )
