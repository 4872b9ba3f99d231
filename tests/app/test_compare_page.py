"""The compare page, run by AppTest against the Baseten emulator."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from baseten_llm.emulator import EmulatorServer
from chatapp.page_state import COMPARE_KEY

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "compare.py")


def open_page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60).run()


def no_traceback(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def setup(
    at: AppTest, *, b_model: str = "abcd1234", prompt: str = "How fast are you?", repeats: int = 2
) -> AppTest:
    """Side A: the default Model API; side B: a dedicated deployment."""
    at.radio(key="cmp_kind_1").set_value("dedicated").run()
    at.text_input(key="cmp_model_id_1").set_value(b_model)
    at.text_area(key="cmp_prompt").set_value(prompt)
    at.number_input(key="cmp_repeats").set_value(repeats)
    return at.run()


def run(at: AppTest) -> AppTest:
    return at.button(key="cmp_run").click().run()


def chat_requests(emulator: EmulatorServer) -> list[dict]:
    return [r for r in emulator.requests() if r["path"].endswith("/chat/completions")]


def metric_values(at: AppTest) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for metric in at.metric:
        values.setdefault(metric.label, []).append(metric.value)
    return values


def test_two_targets_answer_the_same_prompt_with_figures_and_statistics(
    data_dir: Path, emulator: EmulatorServer
) -> None:
    at = run(setup(open_page()))
    no_traceback(at)
    requests = chat_requests(emulator)
    assert len(requests) == 4  # two targets x N=2
    assert {r["path"].startswith("/model-abcd1234/") for r in requests} == {True, False}
    answers = [m.value for m in at.markdown if m.value.startswith("You said: How fast are you?")]
    assert len(answers) == 2
    figures = metric_values(at)
    assert len(figures["Time to first token"]) == 2
    assert all(v.endswith(" s") for v in figures["Time to first token"])
    # 18 words in (system prompt + question); the dedicated model answers in 24 chunks
    assert figures["Tokens in / out"][1] == "18 / 24"
    summary = at.table[0].value
    assert list(summary.index) == [
        "A · Model API · deepseek-ai/DeepSeek-V3.1",
        "B · Dedicated · abcd1234 · production",
    ]
    assert list(summary["Runs used"]) == ["2", "2"]
    assert "Time to first token p95 (s)" in summary.columns
    assert any(m.value.startswith("- Fastest first token:") for m in at.markdown)


def test_the_persona_system_prompt_goes_to_every_target(
    data_dir: Path, emulator: EmulatorServer
) -> None:
    at = setup(open_page(), repeats=1)
    box = at.selectbox(key="cmp_persona")
    box.select(next(o for o in box.options if "Pirate" in o)).run()
    run(at)
    for request in chat_requests(emulator):
        system = request["body"]["messages"][0]
        assert system["role"] == "system"
        assert system["content"] == "You are a pirate with a colorful personality"
        assert request["body"]["temperature"] == 0.9, "the persona's default temperature"


def test_a_bad_model_id_fails_on_its_side_only(data_dir: Path, emulator: EmulatorServer) -> None:
    at = run(setup(open_page(), b_model="zzzz9999"))
    no_traceback(at)
    assert len(at.error) == 1
    assert "zzzz9999" in at.error[0].value
    answers = [m.value for m in at.markdown if m.value.startswith("You said:")]
    assert len(answers) == 1, "side A still answers"
    assert list(at.table[0].value["Runs used"]) == ["2", "0"]


def test_a_malformed_model_id_is_reported_on_that_side_without_sending_anything(
    data_dir: Path, emulator: EmulatorServer
) -> None:
    at = run(setup(open_page(), b_model="not an id"))
    no_traceback(at)
    assert "Nothing was sent to this side" in at.error[0].value
    assert "“not an id” is not a valid model id" in at.error[0].value
    assert not any(r["path"].startswith("/model-") for r in chat_requests(emulator))


def test_a_sides_id_problem_points_at_that_side_not_at_the_sidebar(
    data_dir: Path, emulator: EmulatorServer
) -> None:
    at = run(setup(open_page(), b_model=""))
    no_traceback(at)
    said = [w.value for w in at.warning] + [e.value for e in at.error]
    assert any("under Target B" in text for text in said), said
    assert not any("sidebar" in text for text in said), said
    answers = [m.value for m in at.markdown if m.value.startswith("You said:")]
    assert len(answers) == 1, "side A still answers"


def test_a_rate_limited_side_shows_the_429_and_the_other_side_finishes(
    data_dir: Path, emulator: EmulatorServer
) -> None:
    emulator.fault(status=429, times=50, retry_after=1, path_contains="/model-abcd1234/")
    at = run(setup(open_page(), repeats=1))
    no_traceback(at)
    assert len(at.error) == 1 and "429" in at.error[0].value
    assert list(at.table[0].value["Runs used"]) == ["1", "0"]


def test_an_empty_prompt_asks_for_one_and_sends_nothing(
    data_dir: Path, emulator: EmulatorServer
) -> None:
    at = run(setup(open_page(), prompt="   "))
    assert at.warning[0].value.startswith("Type a prompt first")
    assert chat_requests(emulator) == []


def test_a_new_user_can_run_a_comparison_without_typing_a_prompt(
    data_dir: Path, emulator: EmulatorServer
) -> None:
    at = open_page()
    at.radio(key="cmp_kind_1").set_value("dedicated").run()
    at.text_input(key="cmp_model_id_1").set_value("abcd1234")
    at = run(at.number_input(key="cmp_repeats").set_value(1).run())
    no_traceback(at)
    assert not [w.value for w in at.warning if "Type a prompt" in w.value]
    sent = {r["body"]["messages"][-1]["content"] for r in chat_requests(emulator)}
    assert sent == {"Explain what a KV cache is in two sentences."}


def test_results_survive_a_rerun_and_reports_are_offered(
    data_dir: Path, emulator: EmulatorServer
) -> None:
    at = run(setup(open_page()))
    at.run()  # any rerun, e.g. after a download
    no_traceback(at)
    assert len(chat_requests(emulator)) == 4, "a rerun must not run the comparison again"
    assert any(c.value.startswith("Last comparison:") for c in at.caption)
    assert list(at.table[0].value["Runs used"]) == ["2", "2"]
    assert len([m for m in at.markdown if m.value.startswith("You said:")]) == 2
    assert at.session_state[COMPARE_KEY].last.repeats == 2


def test_wake_posts_to_the_dedicated_target_only(data_dir: Path, emulator: EmulatorServer) -> None:
    at = setup(open_page())
    at.button(key="cmp_wake").click().run()
    no_traceback(at)
    wakes = [r["path"] for r in emulator.requests() if r["path"].endswith("/wake")]
    assert wakes == ["/model-abcd1234/environments/production/wake"]
    assert "wake request accepted" in at.success[0].value


def test_wake_is_disabled_when_no_side_is_a_dedicated_deployment(data_dir: Path) -> None:
    at = open_page()
    at.radio(key="cmp_kind_1").set_value("model_apis").run()
    assert at.button(key="cmp_wake").disabled


def test_three_targets_can_be_compared(data_dir: Path, emulator: EmulatorServer) -> None:
    at = open_page()
    at.radio(key="cmp_count").set_value(3).run()
    at = setup(at, repeats=1)
    at = run(at)
    no_traceback(at)
    assert len(at.table[0].value) == 3
    assert len(chat_requests(emulator)) == 3


def test_a_slow_first_run_is_flagged_as_a_cold_start_and_can_be_left_out(
    data_dir: Path, emulator: EmulatorServer
) -> None:
    emulator.fault(first_token_delay_s=1.2, path_contains="/model-abcd1234/")
    at = run(setup(open_page(), repeats=3))
    no_traceback(at)
    notes = [i.value for i in at.info if "likely a cold start" in i.value]
    assert len(notes) == 1 and notes[0].startswith("B · Dedicated · abcd1234 · production: run 1")
    assert "included in the statistics" in notes[0]
    summary = at.table[0].value
    assert list(summary["Runs used"]) == ["3", "3"]
    assert float(summary["Time to first token p95 (s)"].iloc[1]) >= 1.0

    at.checkbox(key="cmp_exclude_cold").check().run()
    summary = at.table[0].value
    assert list(summary["Runs used"]) == ["3", "2"]
    assert float(summary["Time to first token p95 (s)"].iloc[1]) < 1.0
    assert "excluded from the statistics" in next(
        i.value for i in at.info if "likely a cold start" in i.value
    )
    assert len(chat_requests(emulator)) == 6, "excluding re-computes; it does not re-run"


def test_a_sides_model_id_is_checked_like_the_sidebars_before_anything_is_run(
    data_dir: Path, emulator: EmulatorServer
) -> None:
    at = open_page()
    at.radio(key="cmp_kind_1").set_value("dedicated").run()
    at.text_input(key="cmp_model_id_1").set_value("xyz!").run()
    no_traceback(at)
    assert any("“xyz!” is not a valid model id" in w.value for w in at.warning)
    at.text_input(key="cmp_model_id_1").set_value("abcd1234").run()
    assert not any("valid model id" in w.value for w in at.warning)
    assert chat_requests(emulator) == []
