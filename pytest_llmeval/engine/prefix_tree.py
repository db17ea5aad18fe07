"""The loglikelihood requests of one call as a prefix tree, cut into pieces that fit a batch row.

Every token that several requests share (a context with several continuations, an instruction
preamble many questions start with) is one node, so it runs once. The transformers backend lays
the pieces out in rows under a tree-shaped attention mask.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# A batch row costs attention work over all its positions, even those the mask hides (the masked
# kernel computes every query-key pair): on the CPU, attending over about this many keys costs as
# much as the rest of a token's forward pass (measured on SmolLM2: rows 1024 wide cost ~30% more
# per token than rows 128 wide). It sets how wide rows and pieces of the prefix tree may grow.
ATTENTION_KEYS = 3200


@dataclass
class Scored:
    """One token-level loglikelihood item: the model reads ``tokens`` and the last ``len(targets)``
    of them are each scored on predicting the next target."""

    tokens: list[int]  # the context, then every continuation token but the last
    targets: list[int]  # the continuation tokens
    logprob: float = 0.0
    is_greedy: bool = True


class Trie:
    """The items' token sequences as one prefix tree: a node per distinct sequence prefix.

    Nodes are numbered in creation order, so a parent always has a smaller number than its child.
    """

    def __init__(self, items: Sequence[Scored]) -> None:
        self.token: list[int] = []
        self.parent: list[int] = []
        self.depth: list[int] = []
        self.children: list[list[int]] = []
        self.ends: list[list[Scored]] = []  # the items whose sequence ends at the node
        self.roots: list[int] = []
        self.end_of: dict[int, int] = {}  # id(item) -> its last node
        index: dict[tuple[int, int], int] = {}
        for item in items:
            node = -1
            for token in item.tokens:
                child = index.get((node, token))
                if child is None:
                    child = index[node, token] = len(self.token)
                    self.token.append(token)
                    self.parent.append(node)
                    self.depth.append(self.depth[node] + 1 if node >= 0 else 0)
                    self.children.append([])
                    self.ends.append([])
                    (self.children[node] if node >= 0 else self.roots).append(child)
                node = child
            self.ends[node].append(item)
            self.end_of[id(item)] = node
        self.size = [1] * len(self.token)  # nodes in each subtree, the node itself included
        for node in range(len(self.token) - 1, -1, -1):
            if self.parent[node] >= 0:
                self.size[self.parent[node]] += self.size[node]

    def path(self, node: int) -> list[int]:
        """The nodes from a root down to ``node``, both included (none for -1, above the roots)."""
        nodes = []
        while node >= 0:
            nodes.append(node)
            node = self.parent[node]
        return nodes[::-1]

    def preorder(self, root: int) -> list[int]:
        nodes, stack = [], [root]
        while stack:
            node = stack.pop()
            nodes.append(node)
            stack.extend(reversed(self.children[node]))
        return nodes


@dataclass
class Unit:
    """A piece of the prefix tree laid out for one batch row: the path down to the piece's top
    node, then whole subtrees below it, in preorder (a node's subtree follows it contiguously)."""

    tokens: list[int]
    depths: list[int]  # each token's position in its sequence: its position id
    sizes: list[int]  # tokens in each token's subtree within the unit, itself included
    scored: list[tuple[int, int, Scored]]  # (index in the unit, target token, item)
    items: list[Scored]

    @classmethod
    def of(cls, trie: Trie, top: int, subtrees: list[int], with_ends: bool) -> Unit:
        chain = trie.path(top)
        nodes = chain + [node for root in subtrees for node in trie.preorder(root)]
        local = {node: i for i, node in enumerate(nodes)}
        items = [item for node in nodes[len(chain) :] for item in trie.ends[node]]
        if with_ends:
            items = trie.ends[top] + items
        scored: list[tuple[int, int, Scored]] = []
        for item in items:
            node, up = trie.end_of[id(item)], []
            for _ in item.targets:
                up.append(local[node])
                node = trie.parent[node]
            scored.extend(zip(up[::-1], item.targets, [item] * len(up), strict=True))
        return cls(
            tokens=[trie.token[n] for n in nodes],
            depths=[trie.depth[n] for n in nodes],
            sizes=[len(nodes) - i for i in range(len(chain))] + [trie.size[n] for n in nodes[len(chain) :]],
            scored=scored,
            items=items,
        )

    @classmethod
    def alone(cls, item: Scored) -> Unit:
        n, k = len(item.tokens), len(item.targets)
        scored = [(n - k + j, token, item) for j, token in enumerate(item.targets)]
        return cls(list(item.tokens), list(range(n)), [n - i for i in range(n)], scored, [item])

    @property
    def plain(self) -> bool:
        """One whole sequence and nothing else: plain causal attention scores it."""
        return len(self.items) == 1 and len(self.tokens) == len(self.items[0].tokens)


def cut_units(trie: Trie, max_tokens: int) -> Iterator[Unit]:
    """Cut the prefix tree into units, each the path down to a node and whole subtrees below it.

    A subtree that fits under its parent's path is kept whole, bundled with sibling subtrees under
    one copy of that path while they fit; a subtree too big is cut below its top node. How much
    fits under a path of ``d`` tokens trades the repeats of the path (fewer in wider units)
    against attention work (more in wider rows): for siblings of any size, the cost per sibling
    token, (1 + d / x) * (1 + (d + x) / ATTENTION_KEYS), is least for x = sqrt(d * (d + keys))
    tokens of subtrees. So a context shared by a few continuations is one unit, and a long
    few-shot preamble is run once for many questions rather than once per question.
    """
    stack = [-1]  # nodes whose subtree must be cut; -1 stands above the roots
    while stack:
        top = stack.pop()
        path = trie.depth[top] + 1 if top >= 0 else 0
        limit = min(max_tokens, path + math.isqrt(path * (path + ATTENTION_KEYS)))
        children = trie.roots if top < 0 else trie.children[top]
        fitting = sorted((c for c in children if path + trie.size[c] <= limit), key=lambda c: -trie.size[c])
        stack.extend(c for c in children if path + trie.size[c] > limit)
        bundles: list[list[int]] = []
        room: list[int] = []
        for child in fitting:
            at = next((b for b, free in enumerate(room) if free >= trie.size[child]), None)
            if at is None:
                bundles.append([])
                room.append(limit - path)
                at = len(bundles) - 1
            bundles[at].append(child)
            room[at] -= trie.size[child]
        if top >= 0 and trie.ends[top] and not bundles:
            bundles.append([])  # items end here but every subtree below was cut: the path alone
        for b, bundle in enumerate(bundles):
            yield Unit.of(trie, top, bundle, with_ends=top >= 0 and b == 0)
