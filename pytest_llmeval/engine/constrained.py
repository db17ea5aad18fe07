"""Structured output for the transformers backend: JSON Schema constrained decoding with xgrammar.

A schema is checked, then compiled once per engine into an xgrammar grammar over the model's
vocabulary (``Grammars``). Each generation batch gets a ``GrammarMask``: a logits processor that
keeps one grammar matcher per row and sets every token the row's grammar does not allow next to
-inf. A row's mask depends only on that row's own tokens, so a constrained answer does not
depend on its batch mates, and the per-row sampler (sampling.py) draws from the masked scores.

xgrammar is vLLM's default grammar library, so both backends constrain a schema alike: objects
allow only the schema's properties, in the schema's order. Here JSON is written compactly
(``", "`` and ``": "``, no other whitespace; vLLM allows any): given free whitespace, SmolLM2
took 21% more tokens for the same 50 answers, with blank lines before commas. Against
llguidance and outlines_core on SmolLM2, xgrammar had the cheapest mask per token (3-14 us
against 25-62 us) and every completed answer valid; outlines_core ignored ``maximum``,
llguidance let the model add properties the schema does not name.

xgrammar ignores a few JSON Schema keywords without an error (measured with 0.2.8: a value that
breaks them is accepted), decodes ``oneOf`` as ``anyOf``, and drops the siblings of ``enum``,
``const``, ``anyOf`` and ``oneOf``. ``unsupported`` refuses those up front, on every backend, so
a schema is either enforced or refused with an EngineError naming the keyword. String formats are
held to their shape only: a date "2024-02-30" fits the grammar, and ``json(schema=...)``, which
checks formats, then fails it.

Nothing here imports torch or xgrammar at module level: ``import pytest_llmeval`` stays light.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .types import EngineError

if TYPE_CHECKING:
    import torch
    import xgrammar

# Keywords xgrammar 0.2.8 accepts but does not enforce (each measured: a violating value passes).
_IGNORED = {
    "not": "'not'",
    "if": "'if'/'then'/'else'",
    "then": "'if'/'then'/'else'",
    "else": "'if'/'then'/'else'",
    "dependentRequired": "'dependentRequired'",
    "dependentSchemas": "'dependentSchemas'",
    "dependencies": "'dependencies'",
    "contains": "'contains'",
    "minContains": "'minContains'",
    "maxContains": "'maxContains'",
    "$dynamicRef": "'$dynamicRef'",
    "$recursiveRef": "'$recursiveRef'",
}
# String formats xgrammar ignores although JSON Schema validators check them (jsonschema's
# format checker, which checks.json uses). Other unknown formats (pydantic's "binary", "path",
# "password") are annotations that no validator checks: plain strings satisfy them.
_UNENFORCED_FORMATS = frozenset({"idn-email", "idn-hostname", "iri", "iri-reference", "regex"})
# Formats xgrammar enforces that never match an empty string, so "minLength": 1 beside one (as
# pydantic writes for AnyUrl) holds anyway; xgrammar drops any length bound beside a format.
_NON_EMPTY_FORMATS = frozenset(
    {"email", "date", "time", "date-time", "duration", "ipv4", "ipv6", "hostname", "uuid", "uri"}
)
# Keywords that only describe a schema: harmless beside a $ref, whose other siblings xgrammar drops.
_ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly", "$comment"}
)
# What may stand beside enum, const, anyOf or oneOf: xgrammar ignores any other sibling there
# ("enum": [1, 2] with "minimum": 2 let 1 through; "anyOf" with "maximum": 6 let 7 through).
_BESIDE_CHOICES = _ANNOTATIONS | {"type", "$defs", "definitions", "$schema", "$id"}
_LOOKAROUND = re.compile(r"\(\?<?[=!]")
# Keywords whose value is a schema, a list of schemas, or a name -> schema map: the walk follows
# these and nothing else, so data (enum, const, default, examples) is never taken for a schema.
_ONE = ("items", "additionalItems", "additionalProperties", "unevaluatedProperties", "unevaluatedItems",
        "propertyNames")  # fmt: skip
_MANY = ("anyOf", "oneOf", "allOf", "prefixItems", "items")
_BY_NAME = ("properties", "patternProperties", "$defs", "definitions")
# Compiled grammars kept per engine; a compiled grammar holds per-token tables, so not unbounded.
_CACHED_GRAMMARS = 64


def unsupported(schema: object, where: str = "#") -> str | None:
    """Why xgrammar would not enforce ``schema`` exactly (the first reason found), or None."""
    if not isinstance(schema, dict):
        return None
    for key in schema:
        if key in _IGNORED:
            return f"{_IGNORED[key]} at {where} is not supported by constrained decoding"
    if schema.get("uniqueItems") is True:
        return f"'uniqueItems' at {where} is not supported by constrained decoding"
    if isinstance(all_of := schema.get("allOf"), list) and len(all_of) > 1:
        return f"'allOf' with {len(all_of)} schemas at {where} is not supported (only one)"
    types = schema.get("type")
    kinds = {types} if isinstance(types, str) else set(types) if isinstance(types, list) else set()
    if "multipleOf" in schema and kinds != {"integer"}:
        return f"'multipleOf' at {where} is supported for integers only"
    bounds = [k for k in ("minLength", "maxLength") if k in schema]
    if "format" in schema and schema["format"] in _NON_EMPTY_FORMATS and schema.get("minLength", 0) <= 1:
        bounds = [k for k in bounds if k != "minLength"]
    if bounds and ("pattern" in schema or "format" in schema):
        beside = "pattern" if "pattern" in schema else "format"
        return f"{bounds} beside '{beside}' at {where} is not supported (the length is not enforced)"
    if schema.get("format") in _UNENFORCED_FORMATS:
        return f"string format {schema['format']!r} at {where} is not supported"
    if isinstance(pattern := schema.get("pattern"), str) and _LOOKAROUND.search(pattern):
        return f"look-around in pattern {pattern!r} at {where} is not supported"
    if isinstance(one_of := schema.get("oneOf"), list) and len(one_of) > 1:
        return f"'oneOf' at {where} is decoded as 'anyOf' (a value valid under two branches passes)"
    branches = [k for k in ("enum", "const", "anyOf", "oneOf") if k in schema]
    if branches and (extra := sorted(set(schema) - _BESIDE_CHOICES - set(branches))):
        return f"keywords {extra} beside {branches[0]!r} at {where} are not supported (they are ignored)"
    required, named = schema.get("required"), schema.get("properties")
    if isinstance(required, list) and (missing := [n for n in required if n not in (named or {})]):
        return f"required {missing} at {where} not named in 'properties' (no answer could have them)"
    if "$ref" in schema:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not (ref == "#" or ref.startswith("#/")):
            return f"$ref {ref!r} at {where}: only references inside the schema ('#/...') are supported"
        siblings = (k for k in schema if k != "$ref" and not k.startswith("$"))
        if extra := sorted(k for k in siblings if k not in _ANNOTATIONS):
            return f"keywords {extra} beside '$ref' at {where} are not supported"
    for path, child in _children(schema, where):
        if reason := unsupported(child, path):
            return reason
    return None


def _children(schema: dict[str, Any], where: str) -> Iterator[tuple[str, object]]:
    for key in _ONE:
        if isinstance(schema.get(key), dict):
            yield f"{where}/{key}", schema[key]
    for key in _MANY:
        if isinstance(schema.get(key), list):
            yield from ((f"{where}/{key}/{i}", child) for i, child in enumerate(schema[key]))
    for key in _BY_NAME:
        if isinstance(schema.get(key), dict):
            yield from ((f"{where}/{key}/{name}", child) for name, child in schema[key].items())


class Grammars:
    """The compiled grammars of one engine's tokenizer, by schema text.

    The tokenizer's tables for xgrammar (about 0.4 s for SmolLM2) are built on the first schema,
    so an engine that is never asked for structured output never pays for them. Compiled
    grammars are kept by the schema's canonical text: 100 requests with one schema compile it
    once. Compiling takes milliseconds for most schemas; a string with maxLength takes up to a
    second (the bounded repetition is spelled out).
    """

    def __init__(self, tokenizer: Any, vocab_size: int, stop_ids: Sequence[int], threads: int = 1) -> None:
        self._tokenizer = tokenizer
        self._vocab_size = vocab_size
        self._stop_ids = sorted(stop_ids)
        self._threads = threads
        self._compiler: xgrammar.GrammarCompiler | None = None
        self._writable: torch.Tensor | None = None
        self._compiled: OrderedDict[str, xgrammar.CompiledGrammar] = OrderedDict()
        self.compilations = 0  # how many schemas were compiled, not found in the cache (for tests)

    def mask(self, schema_text: str, rows: int, prompt_width: int) -> GrammarMask:
        """A logits processor that holds ``rows`` rows to the schema's grammar."""
        grammar = self.get(schema_text)
        assert self._writable is not None  # set with the compiler, before the first grammar
        return GrammarMask(grammar, rows, prompt_width, self._writable)

    def get(self, schema_text: str) -> xgrammar.CompiledGrammar:
        """The grammar of a JSON Schema, compiled once; EngineError names why one cannot be used."""
        if (cached := self._compiled.get(schema_text)) is not None:
            self._compiled.move_to_end(schema_text)
            return cached
        schema = checked_schema(schema_text)
        import xgrammar

        if self._compiler is None:
            info = xgrammar.TokenizerInfo.from_huggingface(
                self._tokenizer, vocab_size=self._vocab_size, stop_token_ids=self._stop_ids
            )
            # xgrammar's own cache is off: this one is keyed by schema text and bounded.
            self._compiler = xgrammar.GrammarCompiler(info, max_threads=self._threads, cache_enabled=False)
            self._writable = _without_control_bytes(info.decoded_vocab, self._vocab_size, self._stop_ids)
        try:
            compiled = self._compiler.compile_json_schema(schema, any_whitespace=False, strict_mode=True)
        except (RuntimeError, ValueError) as exc:
            raise EngineError(f"json_schema cannot be used for constrained decoding: {_clean(exc)}") from None
        self.compilations += 1
        self._compiled[schema_text] = compiled
        if len(self._compiled) > _CACHED_GRAMMARS:
            self._compiled.popitem(last=False)
        return compiled


def _without_control_bytes(vocab: Sequence[bytes], size: int, stop_ids: Sequence[int]) -> torch.Tensor:
    """Which tokens hold no byte below 0x20: the only ones compact JSON ever needs.

    JSON allows no raw control character inside a string, and compact JSON has no whitespace
    but spaces outside one. xgrammar 0.2.8 lets a string with minLength or maxLength take raw
    control characters (a random model wrote byte 0x05 into one), so these tokens are masked
    everywhere; the stop tokens stay allowed.
    """
    import torch

    control = re.compile(rb"[\x00-\x1f]")
    writable = torch.tensor([control.search(token) is None for token in vocab[:size]], dtype=torch.bool)
    writable = torch.nn.functional.pad(writable, (0, size - len(writable)), value=True)
    writable[list(stop_ids)] = True
    return writable


def checked_schema(schema_text: str) -> str:
    """The schema text, once it is known to be a valid JSON Schema that xgrammar enforces exactly.
    Every backend asks this first, so one spec is refused or decoded alike on all of them (vLLM
    and vLLM servers use xgrammar too, and loosened what this refuses: 'not' went unenforced)."""
    try:
        schema = json.loads(schema_text)
    except ValueError as exc:
        raise EngineError(f"json_schema is not valid JSON: {exc}") from None
    if not isinstance(schema, (dict, bool)):
        kind = type(schema).__name__
        raise EngineError(f"json_schema must be a JSON object, got a {kind}: {schema_text[:80]}")
    from jsonschema import SchemaError, validators

    try:
        validators.validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        at = "#/" + "/".join(map(str, exc.path)) if exc.path else "#"
        raise EngineError(f"json_schema is not a valid JSON Schema at {at}: {exc.message[:200]}") from None
    if reason := unsupported(schema):
        raise EngineError(f"json_schema cannot be used for constrained decoding: {reason}")
    # True and {} both mean "any JSON value"; xgrammar takes only the object form.
    return "{}" if schema is True else schema_text


def _clean(exc: BaseException) -> str:
    """xgrammar's C++ error without its log prefix ("[12:00:00] /project/cpp/x.cc:123: ")."""
    text = str(exc).strip()
    text = re.sub(r"^\[[\d:]+\]\s+\S+:\d+:\s*", "", text)
    return re.sub(r"^Check failed: \(.*?\) is false:\s*", "", text)[:300] or type(exc).__name__


class GrammarMask:
    """A logits processor for ``generate()``: row r may only take tokens its grammar allows next.

    Every row has a matcher of its own (a request's n samples are n rows), fed the row's own
    last token at each step. A row whose grammar is complete may only take a stop token, so it
    ends by EOS; a row that reaches the token limit first just stops there, incomplete. A row
    that generation has already ended (EOS, or a stop string, after which transformers feeds
    padding) is left unmasked: its tokens are discarded.
    """

    def __init__(
        self, grammar: xgrammar.CompiledGrammar, rows: int, prompt_width: int, writable: torch.Tensor
    ) -> None:
        import torch
        import xgrammar

        self._matchers = [xgrammar.GrammarMatcher(grammar) for _ in range(rows)]
        self._live = [True] * rows
        self._width = prompt_width
        self._vocab = grammar.tokenizer_info.vocab_size
        self._bitmask = xgrammar.allocate_token_bitmask(rows, self._vocab)
        self._bits = torch.arange(32, dtype=torch.int32)
        self._writable = writable

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if input_ids.shape[1] > self._width:  # every call after the first brings one new token per row
            for row, token in enumerate(input_ids[:, -1].tolist()):
                if self._live[row]:
                    matcher = self._matchers[row]
                    # Only a row that has ended takes a token its grammar refuses (the padding
                    # after a stop string); a terminated matcher has taken its stop token.
                    self._live[row] = matcher.accept_token(token) and not matcher.is_terminated()
        for row, matcher in enumerate(self._matchers):
            if self._live[row]:
                matcher.fill_next_token_bitmask(self._bitmask, row)
            else:
                self._bitmask[row] = -1  # all bits set: every token allowed
        return self._apply(scores)

    def _apply(self, scores: torch.Tensor) -> torch.Tensor:
        """Set masked tokens to -inf in plain torch: the same code on every device, where
        xgrammar's own kernels would pick triton on CUDA and torch.compile elsewhere."""
        import torch

        if self._bits.device != scores.device:
            self._bits, self._writable = self._bits.to(scores.device), self._writable.to(scores.device)
        mask = self._bitmask.to(scores.device)
        allowed = ((mask.unsqueeze(-1) >> self._bits) & 1).bool().flatten(1)[:, : self._vocab]
        allowed &= self._writable
        width = scores.shape[-1]
        # Logits past the vocabulary (a padded output layer) are never a token.
        allowed = torch.nn.functional.pad(allowed, (0, max(0, width - self._vocab)), value=False)
        return scores.masked_fill(~allowed[:, :width], float("-inf"))
