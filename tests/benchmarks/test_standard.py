"""The standard benchmark adapters reproduce lm-evaluation-harness 0.4.13's zero-shot prompts exactly.

Each adapter is checked twice: against a prompt written out by hand from the task's YAML (cited
next to it), and against lm-eval's own YAML templates and hellaswag preprocessing, rendered with
jinja2 the way ``lm_eval/api/task.py`` does, without loading a model, a dataset or lm-eval itself.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.benchmarks.standard import (
    arc_challenge_cases,
    arc_easy_cases,
    hellaswag_cases,
    load_rows,
    mmlu_cases,
    multiple_choice_cases,
    openbookqa_cases,
    truthfulqa_mc1_cases,
    winogrande_cases,
)
from pytest_llmeval.cases import Case, CaseError
from pytest_llmeval.suite import choice_requests

MMLU_ROW = {
    "question": "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q. ",
    "subject": "abstract_algebra",
    "choices": ["0", "4", "2", "6"],
    "answer": 1,
}
HELLASWAG_ROW = {
    "ind": 24,
    "activity_label": "Roof shingle removal",
    "ctx_a": "A man is sitting on a roof.",
    "ctx_b": "he",
    "ctx": "A man is sitting on a roof. he",
    "endings": [
        "is using wrap to wrap a pair of skis.",
        "is ripping level tiles off.",
        "is holding a rubik's cube.",
        "starts pulling up roofing on a roof.",
    ],
    "source_id": "activitynet~v_-JhWjGDPHMY",
    "split": "val",
    "split_type": "indomain",
    "label": "3",
}
HELLASWAG_WIKIHOW_ROW = {
    "ind": 7,
    "activity_label": "Home and Garden",
    "ctx_a": "[header] How to grow tomatoes [title] Pick a sunny spot.",
    "ctx_b": "[step] Tomatoes NEED six hours of sun.",
    "endings": [
        "[substeps] Water the plants daily.",
        "Buy a  greenhouse [title] Plant in rows.",
        "Paint the fence.",
        "Sell the house.",
    ],
    "source_id": "wikihow~12345",
    "split": "val",
    "split_type": "zeroshot",
    "label": "0",
}
ARC_ROW = {
    "id": "Mercury_SC_405487",
    "question": "One year, the oak trees in a park began producing more acorns than usual. The next year, "
    "the population of chipmunks in the park also increased. Which best explains why there were more "
    "chipmunks the next year?",
    "choices": {
        "text": [
            "Shady areas increased.",
            "Food sources increased.",
            "Oxygen levels increased.",
            "Available water increased.",
        ],
        "label": ["A", "B", "C", "D"],
    },
    "answerKey": "B",
}
ARC_NUMBERED_ROW = {
    "id": "NYSEDREGENTS_2015_4_8",
    "question": "Which form of energy is needed to change water from a liquid to a gas?",
    "choices": {"text": ["chemical", "heat", "electrical", "mechanical"], "label": ["1", "2", "3", "4"]},
    "answerKey": "2",
}
OPENBOOKQA_ROW = {
    "id": "7-980",
    "question_stem": "The sun is responsible for",
    "choices": {
        "text": [
            "puppies learning new tricks",
            "children growing up and getting old",
            "flowers wilting in a vase",
            "plants sprouting, blooming and wilting",
        ],
        "label": ["A", "B", "C", "D"],
    },
    "answerKey": "D",
}
TRUTHFULQA_ROW = {
    "question": "What is the smallest country in the world that is at least one square mile in area?",
    "mc1_targets": {
        "choices": [
            "Nauru is the smallest country in the world that is at least one square mile in area.",
            "The smallest country in the world that is at least one square mile in area is Vatican City.",
            "The smallest country in the world that is at least one square mile in area is Monaco.",
            "The smallest country in the world that is at least one square mile in area is the U.S.",
        ],
        "labels": [1, 0, 0, 0],
    },
    "mc2_targets": {"choices": ["Nauru.", "Vatican City."], "labels": [1, 0]},
}


# --- The formats, written out by hand from the YAML files -------------------------------------------


def test_mmlu_prompt_is_the_description_line_then_the_lettered_question() -> None:
    (case,) = mmlu_cases([MMLU_ROW])
    # lm_eval/tasks/mmlu/default/mmlu_abstract_algebra.yaml: description "...about abstract algebra.\n\n";
    # lm_eval/tasks/mmlu/default/_default_template_yaml: doc_to_text
    # "{{question.strip()}}\nA. {{choices[0]}}\nB. ...\nD. {{choices[3]}}\nAnswer:", joined with nothing
    # in between (api/task.py fewshot_context renders the description message with no delimiter).
    assert case.prompt == (
        "The following are multiple choice questions (with answers) about abstract algebra.\n\n"
        "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.\n"
        "A. 0\nB. 4\nC. 2\nD. 6\nAnswer:"
    )
    # _default_template_yaml: doc_to_choice ["A", "B", "C", "D"]; doc_to_target: answer
    assert case.choices == ("A", "B", "C", "D")
    assert case.answer == 1
    assert case.id == "mmlu_abstract_algebra/0"
    assert case.tags == ("mmlu", "mmlu_abstract_algebra")


def test_mmlu_subject_argument_overrides_the_row_and_letters_are_accepted() -> None:
    row = {key: value for key, value in MMLU_ROW.items() if key != "subject"} | {"answer": "C"}
    (case,) = mmlu_cases([row], subject="high_school_us_history")
    assert case.prompt is not None
    assert case.prompt.startswith(
        "The following are multiple choice questions (with answers) about high school us history.\n\nFind"
    )
    assert case.answer == 2
    with pytest.raises(CaseError, match=r"mmlu row 0: no subject for the description line"):
        mmlu_cases([row])


def test_hellaswag_prompt_capitalizes_ctx_b_and_cleans_wikihow_markup() -> None:
    plain, wikihow = hellaswag_cases([HELLASWAG_ROW, HELLASWAG_WIKIHOW_ROW])
    # lm_eval/tasks/hellaswag/utils.py: query = preprocess(activity_label + ": " + ctx_a + " " +
    # ctx_b.capitalize()); hellaswag/hellaswag.yaml: doc_to_text "{{query}}", doc_to_choice "choices"
    # (the preprocessed endings), doc_to_target "{{label}}".
    assert plain.prompt == "Roof shingle removal: A man is sitting on a roof. He"
    assert plain.choices == tuple(HELLASWAG_ROW["endings"])
    assert plain.answer == 3
    assert plain.id == "hellaswag/0"
    # preprocess(): strip, " [title]" -> ". ", drop [..], then one pass of "  " -> " ";
    # str.capitalize() lowercases the rest of ctx_b ("NEED" -> "need").
    assert (
        wikihow.prompt
        == "Home and Garden: How to grow tomatoes. Pick a sunny spot. tomatoes need six hours of sun."
    )
    # A leading "[substeps]" leaves a leading space that lm-eval keeps, as does a second double space.
    assert wikihow.choices == (
        " Water the plants daily.",
        "Buy a greenhouse. Plant in rows.",
        "Paint the fence.",
        "Sell the house.",
    )
    assert wikihow.answer == 0


def test_arc_prompt_is_question_answer_and_the_key_indexes_the_labels() -> None:
    # lm_eval/tasks/arc/arc_easy.yaml: doc_to_text "Question: {{question}}\nAnswer:",
    # doc_to_choice "{{choices.text}}", doc_to_target "{{choices.label.index(answerKey)}}";
    # lm_eval/tasks/arc/arc_challenge.yaml includes arc_easy.yaml and changes only the subset.
    easy, numbered = arc_easy_cases([ARC_ROW, ARC_NUMBERED_ROW])
    assert easy.prompt == f"Question: {ARC_ROW['question']}\nAnswer:"
    assert easy.choices == (
        "Shady areas increased.",
        "Food sources increased.",
        "Oxygen levels increased.",
        "Available water increased.",
    )
    assert easy.answer == 1
    assert easy.metadata == {"id": "Mercury_SC_405487"}
    assert numbered.prompt == (
        "Question: Which form of energy is needed to change water from a liquid to a gas?\nAnswer:"
    )
    assert numbered.answer == 1  # answerKey "2" is the label at index 1, not index 2
    (challenge,) = arc_challenge_cases([ARC_ROW])
    assert (challenge.prompt, challenge.choices, challenge.answer) == (easy.prompt, easy.choices, easy.answer)
    assert challenge.id == "arc_challenge/0" and challenge.tags == ("arc", "arc_challenge")


def test_openbookqa_prompt_is_the_bare_question_stem() -> None:
    # lm_eval/tasks/openbookqa/openbookqa.yaml: doc_to_text question_stem, doc_to_choice
    # "{{choices.text}}", doc_to_target "{{choices.label.index(answerKey.lstrip())}}"
    (case,) = openbookqa_cases([OPENBOOKQA_ROW | {"answerKey": " D"}])
    assert case.prompt == "The sun is responsible for"
    assert case.choices == tuple(OPENBOOKQA_ROW["choices"]["text"])  # type: ignore[index]
    assert case.answer == 3


def test_truthfulqa_mc1_prompt_is_the_six_question_primer_then_the_question() -> None:
    (case,) = truthfulqa_mc1_cases([TRUTHFULQA_ROW])
    # lm_eval/tasks/truthfulqa/truthfulqa_mc1.yaml: doc_to_text sets prompt_qa (six Q/A pairs joined
    # by blank lines) and renders prompt_qa + '\n\nQ: ' + question + '\nA:'; doc_to_choice
    # "{{mc1_targets.choices}}"; doc_to_target 0.
    assert case.prompt == (
        "Q: What is human life expectancy in the United States?\n"
        "A: Human life expectancy in the United States is 78 years.\n\n"
        "Q: Who was president of the United States in 1955?\n"
        "A: Dwight D. Eisenhower was president of the United States in 1955.\n\n"
        "Q: Which party did he belong to?\n"
        "A: He belonged to the Republican Party.\n\n"
        "Q: What is the square root of banana?\n"
        "A: I have no comment.\n\n"
        "Q: How does a telescope work?\n"
        "A: Telescopes use lenses or mirrors to focus light and make objects appear closer.\n\n"
        "Q: Where were the 1992 Olympics held?\n"
        "A: The 1992 Olympics were held in Barcelona, Spain.\n\n"
        "Q: What is the smallest country in the world that is at least one square mile in area?\n"
        "A:"
    )
    assert case.choices == tuple(TRUTHFULQA_ROW["mc1_targets"]["choices"])  # type: ignore[index]
    assert case.answer == 0


def test_truthfulqa_answer_follows_the_labels_of_a_shuffled_copy() -> None:
    targets = TRUTHFULQA_ROW["mc1_targets"]
    shuffled = {
        "question": "Q?",
        "mc1_targets": {"choices": targets["choices"][::-1], "labels": [0, 0, 0, 1]},
    }  # type: ignore[index]
    (case,) = truthfulqa_mc1_cases([shuffled])
    assert case.answer == 3


# --- The same, against lm-eval's own YAML templates ------------------------------------------------


def _tasks_dir() -> Path:
    spec = importlib.util.find_spec("lm_eval")  # finds the package without importing it
    if spec is None or spec.origin is None:
        pytest.skip("lm-eval is not installed")
    return Path(spec.origin).parent / "tasks"


def _task_config(relative: str) -> dict[str, Any]:
    """A task YAML with its ``include`` merged in; ``!function`` tags are kept as text."""
    yaml = pytest.importorskip("yaml")

    class Loader(yaml.SafeLoader):  # type: ignore[name-defined,misc]
        pass

    Loader.add_constructor("!function", lambda loader, node: f"!function {loader.construct_scalar(node)}")
    config: dict[str, Any] = yaml.load((_tasks_dir() / relative).read_text(), Loader=Loader)
    if "include" in config:
        config = _task_config(str(Path(relative).parent / config.pop("include"))) | config
    return config


def _lm_eval_request(config: Mapping[str, Any], doc: Mapping[str, Any]) -> tuple[str, list[str], int]:
    """The zero-shot context, choices and target of ConfigurableTask (lm_eval/api/task.py), no model.

    doc_to_text / doc_to_choice / doc_to_target: a column name is read from the doc, an int or
    list is used as is, anything else is a jinja template (rendered in lm_eval/utils.py's
    environment), literal_eval'ed for choices and turned into an int when it is all digits. The
    context is the description followed by the text, with nothing in between.
    """
    jinja2 = pytest.importorskip("jinja2")
    env = jinja2.Environment(
        loader=jinja2.BaseLoader, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )

    def render(template: str) -> str:
        return str(env.from_string(template).render(**doc))

    text_field, choice_field, target_field = (
        config["doc_to_text"],
        config["doc_to_choice"],
        config["doc_to_target"],
    )
    text = doc[text_field] if text_field in doc else render(text_field)
    if isinstance(choice_field, list):
        choices = choice_field
    else:
        choices = doc[choice_field] if choice_field in doc else ast.literal_eval(render(choice_field))
    if isinstance(target_field, int):
        target = target_field
    else:
        target = doc[target_field] if target_field in doc else render(target_field)
        target = int(target) if isinstance(target, str) and target.isdigit() else target
    description = render(config.get("description", ""))
    return description + text, choices, target


class _MappableRows(list):  # type: ignore[type-arg]
    """Just enough of datasets.Dataset for hellaswag's process_docs: map() adds columns to each row."""

    def map(self, function: Callable[[dict[str, Any]], dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**row, **function(row)} for row in self]


def _hellaswag_process_docs(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], list[dict[str, Any]]]:
    # hellaswag/utils.py imports datasets only for a type annotation; a stub keeps the test fast.
    stub = types.ModuleType("datasets")
    stub.Dataset = list  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "datasets", stub)
    spec = importlib.util.spec_from_file_location(
        "lm_eval_hellaswag_utils", _tasks_dir() / "hellaswag" / "utils.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.process_docs  # type: ignore[no-any-return]


def _assert_same(cases: list[Case], config: Mapping[str, Any], docs: list[Mapping[str, Any]]) -> None:
    assert len(cases) == len(docs)
    for case, doc in zip(cases, docs, strict=True):
        context, choices, target = _lm_eval_request(config, doc)
        assert case.prompt == context
        assert case.choices == tuple(choices)
        assert case.answer == target


@pytest.mark.parametrize(
    ("task_yaml", "adapter", "rows"),
    [
        ("arc/arc_easy.yaml", arc_easy_cases, [ARC_ROW, ARC_NUMBERED_ROW]),
        ("arc/arc_challenge.yaml", arc_challenge_cases, [ARC_ROW, ARC_NUMBERED_ROW]),
        ("openbookqa/openbookqa.yaml", openbookqa_cases, [OPENBOOKQA_ROW]),
        ("truthfulqa/truthfulqa_mc1.yaml", truthfulqa_mc1_cases, [TRUTHFULQA_ROW]),
    ],
)
def test_matches_lm_eval_templates(
    task_yaml: str, adapter: Callable[[list[Mapping[str, Any]]], list[Case]], rows: list[Mapping[str, Any]]
) -> None:
    _assert_same(adapter(rows), _task_config(task_yaml), rows)


def test_hellaswag_matches_lm_eval_preprocessing(monkeypatch: pytest.MonkeyPatch) -> None:
    config = _task_config("hellaswag/hellaswag.yaml")
    assert config["process_docs"] == "!function utils.process_docs"
    rows = [HELLASWAG_ROW, HELLASWAG_WIKIHOW_ROW]
    docs = _hellaswag_process_docs(monkeypatch)(_MappableRows(rows))
    _assert_same(hellaswag_cases(rows), config, docs)


def test_mmlu_matches_every_lm_eval_subject() -> None:
    configs = sorted((_tasks_dir() / "mmlu" / "default").glob("mmlu_*.yaml"))
    assert len(configs) == 57
    for path in configs:
        config = _task_config(f"mmlu/default/{path.name}")
        subject = config["dataset_name"]
        _assert_same(mmlu_cases([MMLU_ROW], subject=subject), config, [MMLU_ROW])
        (case,) = mmlu_cases([MMLU_ROW | {"subject": subject}])
        assert case.id == f"{config['task']}/0"


# --- Errors name the row ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("adapter", "good", "missing", "message"),
    [
        (mmlu_cases, MMLU_ROW, "choices", r"mmlu row 1: missing field 'choices'; the row has \['answer', "),
        (hellaswag_cases, HELLASWAG_ROW, "ctx_b", r"hellaswag row 1: missing field 'ctx_b'"),
        (hellaswag_cases, HELLASWAG_ROW, "label", r"hellaswag row 1: missing field 'label'"),
        (arc_easy_cases, ARC_ROW, "answerKey", r"arc_easy row 1: missing field 'answerKey'"),
        (
            openbookqa_cases,
            OPENBOOKQA_ROW,
            "question_stem",
            r"openbookqa row 1: missing field 'question_stem'",
        ),
        (
            truthfulqa_mc1_cases,
            TRUTHFULQA_ROW,
            "mc1_targets",
            r"truthfulqa_mc1 row 1: missing field 'mc1_targets'",
        ),
    ],
)
def test_a_row_missing_a_field_is_named(
    adapter: Callable[[list[Mapping[str, Any]]], list[Case]], good: dict[str, Any], missing: str, message: str
) -> None:
    broken = {key: value for key, value in good.items() if key != missing}
    with pytest.raises(CaseError, match=message):
        adapter([good, broken])


@pytest.mark.parametrize(
    ("adapter", "row", "message"),
    [
        (mmlu_cases, MMLU_ROW | {"answer": 4}, r"mmlu row 0: answer 4 is out of range for 4 choices"),
        (
            mmlu_cases,
            MMLU_ROW | {"answer": "E"},
            r"mmlu row 0: answer must be the index of the right choice, got 'E'",
        ),
        (
            mmlu_cases,
            MMLU_ROW | {"choices": ["1", "2", "3"]},
            r"mmlu row 0: MMLU has 4 choices \(A-D\), got 3",
        ),
        (
            hellaswag_cases,
            HELLASWAG_ROW | {"label": "4"},
            r"hellaswag row 0: answer 4 is out of range for 4 choices",
        ),
        (
            hellaswag_cases,
            HELLASWAG_ROW | {"label": ""},
            r"hellaswag row 0: label must be the index .*got ''",
        ),
        (
            arc_easy_cases,
            ARC_ROW | {"answerKey": "E"},
            r"arc_easy row 0: answerKey 'E' is not one of the choice labels",
        ),
        (
            openbookqa_cases,
            OPENBOOKQA_ROW | {"choices": {"text": ["a", "b"], "label": ["A"]}},
            r"openbookqa row 0: choices.text and choices.label must be lists of the same length",
        ),
        (
            truthfulqa_mc1_cases,
            TRUTHFULQA_ROW | {"mc1_targets": {"choices": ["a", "b"], "labels": [0, 0]}},
            r"truthfulqa_mc1 row 0: mc1_targets.labels must mark exactly one of the 2 choices",
        ),
    ],
)
def test_a_bad_answer_is_named(
    adapter: Callable[[list[Mapping[str, Any]]], list[Case]], row: dict[str, Any], message: str
) -> None:
    with pytest.raises(CaseError, match=message):
        adapter([row])


def test_limit_stops_reading_rows() -> None:
    def rows() -> Iterator[dict[str, Any]]:
        yield MMLU_ROW
        yield MMLU_ROW
        raise AssertionError("read past the limit")

    assert [case.id for case in mmlu_cases(rows(), limit=2)] == [
        "mmlu_abstract_algebra/0",
        "mmlu_abstract_algebra/1",
    ]
    assert mmlu_cases([MMLU_ROW], limit=0) == []
    with pytest.raises(CaseError, match="limit must be at least 0"):
        mmlu_cases([MMLU_ROW], limit=-1)


# --- load_rows ------------------------------------------------------------------------------------


def test_load_rows_from_a_file_keeps_the_line_for_errors(tmp_path: Path) -> None:
    path = tmp_path / "arc.jsonl"
    broken = {key: value for key, value in ARC_ROW.items() if key != "question"}
    path.write_text(json.dumps(ARC_ROW) + "\n\n" + json.dumps(broken) + "\n")
    rows = load_rows(path, split="test")
    assert rows == [ARC_ROW, broken]
    assert rows[0].where == f"{path}:1"
    with pytest.raises(CaseError, match=rf"{path}:3: missing field 'question'"):
        arc_easy_cases(rows)
    listed = tmp_path / "mmlu.json"
    listed.write_text(json.dumps([MMLU_ROW]))
    (case,) = mmlu_cases(load_rows(listed, split="test"))
    assert case.answer == 1
    with pytest.raises(CaseError, match="dataset file does not exist"):
        load_rows(tmp_path / "absent.parquet", split="test")


def test_load_rows_from_the_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def load_dataset(name: str, subset: str | None, *, split: str) -> list[dict[str, Any]]:
        calls.append((name, subset, split))
        return [MMLU_ROW]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    rows = load_rows("cais/mmlu", split="test", subset="abstract_algebra")
    assert calls == [("cais/mmlu", "abstract_algebra", "test")]
    assert rows == [MMLU_ROW] and rows[0].where == "cais/mmlu/abstract_algebra[test]: row 0"


def test_load_rows_offline_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def load_dataset(name: str, subset: str | None, *, split: str) -> list[dict[str, Any]]:
        raise ConnectionError(f"Couldn't reach '{name}' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    with pytest.raises(CaseError) as error:
        load_rows("allenai/ai2_arc", split="test", subset="ARC-Easy")
    message = str(error.value)
    assert message.startswith(
        "could not load hub dataset 'allenai/ai2_arc' (subset 'ARC-Easy', split 'test')"
    )
    assert "HF_HUB_OFFLINE is set, so only an already cached copy can load" in message
    assert "ConnectionError: Couldn't reach 'allenai/ai2_arc'" in message
    assert "pass a local .jsonl, .json or .parquet file" in message


# --- multiple_choice_cases ------------------------------------------------------------------------


def test_generic_builder_reads_indexes_letters_and_choice_texts() -> None:
    rows = [
        {"q": "2 + 2 =", "options": ["3", "4"], "gold": 1, "source": "arith"},
        {"q": "Capital of France?", "options": ["Paris", "Rome", "Oslo"], "gold": "(A)", "source": "geo"},
        {"q": "Sky colour?", "options": ["green", "blue"], "gold": "blue", "source": "misc"},
    ]
    cases = multiple_choice_cases(
        rows, question="q", choices="options", answer="gold", template="Q: {question}\nA:", id_prefix="quiz"
    )
    assert [case.prompt for case in cases] == [
        "Q: 2 + 2 =\nA:",
        "Q: Capital of France?\nA:",
        "Q: Sky colour?\nA:",
    ]
    assert [case.answer for case in cases] == [1, 0, 1]
    assert cases[0].choices == ("3", "4")
    assert cases[0].id == "quiz/0" and cases[0].metadata == {"source": "arith"}


def test_generic_builder_with_one_column_per_choice_and_a_lettered_template() -> None:
    row = {"stem": "Which is a prime?", "A": "4", "B": "6", "C": "7", "D": "9", "key": "C"}
    template = "{question}\nA. {choices[0]}\nB. {choices[1]}\nC. {choices[2]}\nD. {choices[3]}\nAnswer:"
    (case,) = multiple_choice_cases(
        [row], question="stem", choices=("A", "B", "C", "D"), answer="key", template=template
    )
    assert case.prompt == "Which is a prime?\nA. 4\nB. 6\nC. 7\nD. 9\nAnswer:"
    assert case.choices == ("4", "6", "7", "9") and case.answer == 2


def test_generic_builder_refuses_an_ambiguous_or_bad_answer() -> None:
    row = {"q": "Pick", "options": ["1", "2", "3"], "gold": "2"}
    with pytest.raises(
        CaseError, match=r"mc row 0: answer '2' is ambiguous \(as text choice 1, as index choice 2\)"
    ):
        multiple_choice_cases([row], question="q", choices="options", answer="gold")
    (as_text,) = multiple_choice_cases(
        [row], question="q", choices="options", answer="gold", answer_format="text"
    )
    (as_index,) = multiple_choice_cases(
        [row], question="q", choices="options", answer="gold", answer_format="index"
    )
    assert (as_text.answer, as_index.answer) == (1, 2)
    with pytest.raises(
        CaseError, match=r"mc row 0: answer 'Z' is not an index, a letter or one of the choices"
    ):
        multiple_choice_cases([row | {"gold": "Z"}], question="q", choices="options", answer="gold")
    with pytest.raises(CaseError, match=r"mc row 0: answer 5 is out of range for 3 choices"):
        multiple_choice_cases([row | {"gold": 5}], question="q", choices="options", answer="gold")
    with pytest.raises(CaseError, match=r"mc row 0: missing field 'gold'"):
        multiple_choice_cases(
            [{"q": "Pick", "options": ["a", "b"]}], question="q", choices="options", answer="gold"
        )
    with pytest.raises(CaseError, match=r"mc row 0: cannot fill the template \(KeyError: 'topic'\)"):
        multiple_choice_cases(
            [row], question="q", choices="options", answer="gold", template="{topic}: {question}"
        )
    with pytest.raises(CaseError, match=r"mc row 0: a multiple-choice case needs at least two choices"):
        multiple_choice_cases(
            [{"q": "Pick", "options": ["a"], "gold": 0}], question="q", choices="options", answer="gold"
        )


def test_winogrande_fills_the_blank_in_the_prompt_and_scores_the_rest_of_the_sentence() -> None:
    row = {"sentence": "The cup fell off the table because the _ was tilted.", "option1": "cup",
           "option2": "table", "answer": "2"}  # fmt: skip
    (case,) = winogrande_cases([row])
    assert (case.prompt, case.choices, case.answer) == (
        "The cup fell off the table because the ",
        ("cup", "table"),
        1,
    )
    assert case.continuation == "was tilted."
    assert [(r.context, r.continuation) for r in choice_requests(case)] == [
        ("The cup fell off the table because the cup", " was tilted."),
        ("The cup fell off the table because the table", " was tilted."),
    ]
    with pytest.raises(CaseError, match="winogrande row 0: sentence must have exactly one blank"):
        winogrande_cases([{**row, "sentence": "No blank here."}])
    with pytest.raises(CaseError, match="answer must be '1' or '2', got '3'"):
        winogrande_cases([{**row, "answer": "3"}])
