"""Make a "bad fine-tune" of SmolLM2-135M-Instruct: the same model with seeded noise in a few layers.

A real fine-tune that went wrong (a learning rate too high, a broken data mix) leaves a model
that still loads and still writes, but worse. Training one here would take hours, so this
script fakes the outcome: it adds Gaussian noise to the weight matrices of a few decoder
layers, each scaled to that matrix's own standard deviation, so every layer is hurt by the
same relative amount whatever its size. The seed makes the damage, and so the saved weights,
the same on every run: the response cache, which keys on the weights' content, then
recognises the copy.

    python examples/finetune/make_bad_finetune.py            # prints the output folder

The copy goes to ``.llmeval/bad-finetune`` at the repository root (ignored by git), with the
tokenizer and chat template of the original, so it is a drop-in ``--llmeval-model``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = REPO / ".llmeval" / "bad-finetune"
# Noise in six of the 30 layers at 0.25 x std: measured on test_fluency.py, the copy passes 0.350 of the
# cases against SmolLM2's 0.900 (README.md). It still writes English, but most answers drift off the
# question, the way a bad fine-tune fails.
DEFAULT_LAYERS = (8, 9, 10, 11, 12, 13)
DEFAULT_SCALE = 0.25
DEFAULT_SEED = 0


def smollm2_folder() -> Path:
    """The safetensors folder of the project's test model (downloaded and converted once)."""
    from pytest_llmeval.engine.model_files import default_cache_root, resolve_model
    from pytest_llmeval.testmodel import smollm2_path

    return Path(resolve_model(str(smollm2_path()), default_cache_root()).load_path)


def make_bad_finetune(
    output: Path = DEFAULT_OUTPUT,
    *,
    source: Path | None = None,
    layers: Sequence[int] = DEFAULT_LAYERS,
    scale: float = DEFAULT_SCALE,
    seed: int = DEFAULT_SEED,
) -> Path:
    """Save a damaged copy of ``source`` (default: SmolLM2) to ``output`` and return ``output``.

    Each weight matrix W of the chosen decoder layers becomes W + scale * std(W) * N(0, 1).
    Norm weights (vectors) are left alone: noise there rescales whole activations, which
    breaks the model outright instead of degrading it.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = source or smollm2_folder()
    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
    decoder = model.model.layers
    if not layers or any(not 0 <= i < len(decoder) for i in layers):
        raise ValueError(f"layers must be indices of the model's {len(decoder)} decoder layers, got {layers}")
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for index in sorted(set(layers)):
            # Sorted by name, so the noise each matrix gets does not depend on module order.
            for _, weight in sorted(decoder[index].named_parameters()):
                if weight.ndim < 2:
                    continue
                noise = torch.randn(weight.shape, generator=generator, dtype=weight.dtype)
                weight.add_(noise * (scale * weight.std()))
    output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output)
    AutoTokenizer.from_pretrained(source).save_pretrained(output)
    return output


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="folder to write the copy to")
    parser.add_argument("--source", type=Path, default=None, help="model folder (default: SmolLM2)")
    parser.add_argument(
        "--layers",
        type=lambda text: tuple(int(i) for i in text.split(",")),
        default=DEFAULT_LAYERS,
        help="comma-separated decoder layer indices (default: %(default)s)",
    )
    parser.add_argument("--scale", type=float, default=DEFAULT_SCALE, help="noise std per weight std")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    folder = make_bad_finetune(
        args.output, source=args.source, layers=args.layers, scale=args.scale, seed=args.seed
    )
    print(folder)


if __name__ == "__main__":
    main()
