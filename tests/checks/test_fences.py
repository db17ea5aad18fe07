"""fences: fenced code blocks, closed or left open, and the lines outside them."""

from __future__ import annotations

from pytest_llmeval.checks.fences import Fence, fences, outside_code


def test_fences_reads_info_body_and_whether_the_block_closes() -> None:
    text = "Code:\n```Python extra\nx = 1\n```\nthen\n~~~\nopen"
    assert fences(text) == [
        Fence("python", "x = 1\n", text.index("x = 1"), True),
        Fence("", "open", text.index("open"), False),
    ]
    assert fences(text, limit=1) == fences(text)[:1]


def test_fences_skip_inline_code_and_need_a_long_enough_closer() -> None:
    assert fences("```x``` is inline") == []
    assert fences("````\na\n```\nb\n````")[0].body == "a\n```\nb\n"


def test_outside_code_leaves_out_the_lines_of_code_blocks() -> None:
    assert list(outside_code("# Title\n```\n# comment\n```\n- item")) == ["# Title", "- item"]
