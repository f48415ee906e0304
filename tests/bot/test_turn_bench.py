"""The turn-speed benchmark (bot/turn_bench): its arithmetic, the stories it replays, its table and targets,
how it names each kind of failed turn; and one tiny end-to-end run against the real servers."""
from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Optional

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.turn_bench.bots_under_test import status_field_kb, write_stock_settings
from bot.turn_bench.comparison import (
    Row,
    at_least_times_stock,
    at_most,
    at_most_times_stock,
    comparison_rows,
    value_at,
)
from bot.turn_bench.loads import say
from bot.turn_bench.nlu_quality import headline_figures
from bot.turn_bench.reports import (
    format_value,
    latency_chart,
    left_out_summary,
    markdown_table,
    rolling_median,
    targets_line,
)
from bot.turn_bench.story_mixes import FAQ, FEEDBACK, MIXES, ORDERS, read_stories, typed_text, user_messages
from bot.turn_bench.training_time import read_training_seconds, timed_run, training_record
from bot.turn_bench.turn_figures import (
    ANSWERED,
    LoadRun,
    Turn,
    figures_by_mix,
    load_figures,
    per_turn_ms,
    percentile,
    ratio,
    window_medians,
)
from tests.bot.servers import MODEL, ROOT

SIZES = {"concurrent": 20, "crowd": 100, "long_turns": 300, "window": 20, "mix_customers": 20}


# --- figures ------------------------------------------------------------------------------------------

def test_percentiles_interpolate_between_ranks_like_numpy():
    values = list(range(1, 101))  # 1..100
    assert percentile(values, 0.5) == pytest.approx(50.5)
    assert percentile(values, 0.9) == pytest.approx(90.1)
    assert percentile(values, 0.99) == pytest.approx(99.01)
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) is None
    assert percentile([3, 1, 2], 0.5) == 2  # order of the input does not matter


def test_ratio_is_ours_over_stock_and_none_without_both():
    assert ratio(20, 80) == 0.25
    assert ratio(None, 80) is None
    assert ratio(20, None) is None
    assert ratio(20, 0) is None


def test_load_figures_count_errors_by_kind_and_time_only_answered_turns():
    turns = [Turn(0.010, ANSWERED, 1), Turn(0.030, ANSWERED, 2), Turn(0.020, ANSWERED, 3),
             Turn(0.001, "busy (503)", 4), Turn(60.0, "timeout", 5), Turn(0.002, "busy (503)", 6)]
    figures = load_figures(LoadRun("20 customers", turns, wall_seconds=2.0))
    assert figures["turns"] == 6
    assert figures["answered"] == 3
    assert figures["messages_per_second"] == 1.5  # answered turns / wall time
    assert figures["errors"] == 3
    assert figures["errors_by_kind"] == {"busy (503)": 2, "timeout": 1}
    assert figures["median_ms"] == pytest.approx(20.0)  # the 60 s timeout is not a latency
    assert figures["p99_ms"] == pytest.approx(29.8)


def test_long_conversation_compares_the_median_of_its_first_and_last_windows():
    # 300 turns: 10 ms for turns 1-20, growing after, 13 ms for 281-300; one slow early turn is outvoted.
    turns = [Turn((0.010 if i <= 20 else 0.012 if i <= 280 else 0.013), ANSWERED, i) for i in range(1, 301)]
    turns[4] = Turn(0.500, ANSWERED, 5)
    turns[299] = Turn(0.100, "HTTP 500", 300)  # a failed turn counts for nothing
    medians = window_medians(turns, window=20)
    assert medians["early_ms"] == pytest.approx(10.0)
    assert medians["late_ms"] == pytest.approx(13.0)
    assert medians["growth"] == pytest.approx(1.3)
    latency = per_turn_ms(turns)
    assert len(latency) == 300
    assert latency[0] == 10.0 and latency[4] == 500.0
    assert latency[299] is None
    nothing = {"early_ms": None, "late_ms": None, "growth": None}
    assert window_medians([Turn(1.0, "timeout", 1)], 20) == nothing


def test_figures_by_mix_keep_each_mix_apart():
    turns = [Turn(0.010, ANSWERED, 1, FAQ), Turn(0.030, ANSWERED, 1, ORDERS),
             Turn(0.050, ANSWERED, 2, ORDERS), Turn(0.001, "empty reply", 3, ORDERS)]
    by_mix = figures_by_mix(turns)
    assert set(by_mix) == {FAQ, ORDERS}
    assert by_mix[ORDERS]["turns"] == 3 and by_mix[ORDERS]["errors"] == 1
    assert by_mix[ORDERS]["median_ms"] == pytest.approx(40.0)
    assert by_mix[FAQ]["median_ms"] == pytest.approx(10.0)


# --- stories ------------------------------------------------------------------------------------------

def test_typed_text_takes_out_entity_annotations_but_keeps_button_payloads():
    assert typed_text("where's [KC-10003](order_id)? it's [jo@example.com](email)\n") == \
        "where's KC-10003? it's jo@example.com"
    assert typed_text('[four]{"entity": "rating", "value": "4"} stars') == "four stars"
    assert typed_text("[4](rating:4)") == "4"
    assert typed_text('/inform{"choice": "none"}') == '/inform{"choice": "none"}'


def test_a_story_with_a_user_step_without_text_has_no_messages():
    assert user_messages([{"user": "hi"}, {"action": "utter_greet"}, {"user": "[4](rating)"}]) == ["hi", "4"]
    assert user_messages([{"user": "hi"}, {"intent": "inform"}]) is None


def test_our_conversation_tests_give_every_mix_and_say_what_was_left_out():
    stories, left_out = read_stories(ROOT / "tests" / "stories")
    assert {story.mix for story in stories} == set(MIXES)
    assert all(story.messages and all(m and "](" not in m for m in story.messages) for story in stories)
    orders = [story for story in stories if story.mix == ORDERS]
    assert any("KC-10003" in message and "jo.baker@example.com" in message
               for story in orders for message in story.messages)
    reasons = {(story.source, story.reason) for story in left_out}
    assert ("test_feedback.yml", "a user step has an intent and no text") in reasons
    assert ("test_handoff.yml", "its file is in none of the mixes") in reasons
    assert not {story.source for story in stories} & {"test_handoff.yml", "test_complaint.yml"}
    assert any(story.mix == FEEDBACK for story in stories)


# --- targets and the table ----------------------------------------------------------------------------

def test_targets_are_checked_on_ours_and_against_stock_when_there_is_one():
    assert at_most(20, "≤ 20 ms").check(20, None) is True
    assert at_most(20, "≤ 20 ms").check(20.1, None) is False
    assert at_most_times_stock(0.25, "").check(20, 80) is True
    assert at_most_times_stock(0.25, "").check(21, 80) is False
    assert at_least_times_stock(4, "").check(200, 50) is True
    assert at_least_times_stock(4, "").check(199, 50) is False
    assert at_least_times_stock(4, "").check(199, None) is None  # stock did not run: undecided
    assert Row("x", "ms", None, 3.0, at_most(1, "")).met is None


def figures(one_customer_ms: float, concurrent_rate: float, p99_ms: float, crowd_errors: int,
            web_mb: float, training: Optional[float], nlu_f1: float) -> Dict[str, Any]:
    return {"start_seconds": 9.5, "training_seconds": training,
            "memory_after_loads": {"web": {"resident_mb": web_mb, "peak_mb": web_mb + 100},
                                   "actions": {"resident_mb": 60.0, "peak_mb": 70.0}},
            "loads": {"one_customer": {"median_ms": one_customer_ms},
                      "concurrent": {"messages_per_second": concurrent_rate, "p99_ms": p99_ms},
                      "crowd": {"errors": crowd_errors},
                      "long_conversation": {"early_ms": 10.0, "late_ms": 12.0, "growth": 1.2},
                      "story_mixes": {"by_mix": {ORDERS: {"median_ms": 30.0, "p99_ms": 90.0},
                                                 FAQ: {"median_ms": 15.0, "p99_ms": 40.0}}}},
            "nlu": {"heldout": {"macro_f1": nlu_f1, "accuracy": 0.95}, "bitext_dev": {"right": 0.8}}}


def test_comparison_rows_side_by_side_with_ratio_and_met():
    ours = figures(15.0, 200.0, 350.0, 0, 850.0, None, 0.95)
    stock = figures(80.0, 40.0, 2500.0, 3, 1500.0, 900.0, 0.90)
    rows = {row.measure: row for row in comparison_rows(ours, stock, SIZES)}
    median = rows["One customer: median turn"]
    assert (median.ours, median.stock, median.ratio, median.met) == (15.0, 80.0, 0.1875, True)
    assert rows["One customer: median turn against stock"].met is True
    assert rows["20 customers: messages per second"].ratio == 5.0
    assert rows["20 customers: messages per second"].met is True
    assert rows["20 customers: p99 turn"].met is True
    assert rows["100 customers: errors"].met is True and rows["100 customers: errors"].stock == 3
    assert rows["300-turn conversation: turn 300 ÷ turn 10 (late ÷ early)"].met is True
    assert rows["Web process: resident after the loads"].met is True
    training = rows["Full training on this machine"]
    assert training.ours is None and training.met is None and training.missing_ours == "not recorded"
    assert rows["NLU heldout: macro-F1"].met is True
    assert rows["NLU bitext_dev: share right"].stock == 0.8
    mixes = [measure for measure in rows if measure.startswith("Story mix ")]
    assert mixes[0] == f"Story mix {FAQ}: median turn"  # in the order of MIXES, not of the run


def test_without_stock_the_targets_against_it_are_undecided():
    rows = {row.measure: row for row in comparison_rows(figures(25.0, 50.0, 500.0, 2, 1000.0, 120.0, 0.9),
                                                        None, SIZES)}
    assert rows["One customer: median turn"].met is False
    assert rows["One customer: median turn against stock"].met is None
    assert rows["100 customers: errors"].met is False
    assert rows["Full training on this machine"].met is True
    assert rows["Full training on this machine"].missing_stock == "–"  # not run, rather than not recorded


def test_the_cluster_stands_beside_the_loads_and_memory_but_decides_no_target():
    ours = figures(15.0, 200.0, 350.0, 0, 850.0, None, 0.95)
    cluster = figures(16.0, 260.0, 300.0, 0, 820.0, None, 0.95)
    rows = {row.measure: row for row in comparison_rows(ours, None, SIZES, cluster)}
    assert rows["20 customers: messages per second"].cluster == 260.0
    assert rows["One customer: median turn"].cluster == 16.0
    assert rows["Web process: resident after the loads"].cluster == 820.0
    assert rows[f"Story mix {ORDERS}: p99 turn"].cluster == 90.0
    assert rows["One customer: median turn"].met is True  # ours decides, as before
    assert all(row.cluster is None for row in comparison_rows(ours, None, SIZES))
    table = markdown_table(list(rows.values())).splitlines()
    assert table[0].endswith("| met? | ours, 2 web + 2 action processes behind nginx |")
    assert "| 260.0 msg/s |" in next(line for line in table if "20 customers: messages" in line)
    assert "behind nginx" not in markdown_table(comparison_rows(ours, None, SIZES))


def test_value_at_reads_a_path_and_refuses_what_is_no_number():
    data = {"a": {"b": 3, "c": "text", "d": True}}
    assert value_at(data, ("a", "b")) == 3.0
    assert value_at(data, ("a", "c")) is None
    assert value_at(data, ("a", "d")) is None
    assert value_at(data, ("a", "x", "y")) is None
    assert value_at(None, ("a",)) is None


def test_markdown_table_shows_both_bots_the_ratio_and_whether_the_target_is_met():
    rows = [Row("One customer: median turn", "ms", 15.0, 80.0, at_most(20, "≤ 20 ms")),
            Row("Full training on this machine", "s", None, 912.4, at_most(180, "≤ 3 min"), "not recorded"),
            Row("20 customers: p99 turn", "ms", 507.0, 2500.0, at_most(400, "≤ 400 ms"))]
    table = markdown_table(rows).splitlines()
    assert table[0] == "| measure | target | ours | stock | ours ÷ stock | met? |"
    assert table[2] == "| One customer: median turn | ≤ 20 ms | 15.0 ms | 80.0 ms | 0.19× | yes |"
    assert table[3] == "| Full training on this machine | ≤ 3 min | not recorded | 912.4 s | – | – |"
    assert table[4].endswith("| 507.0 ms | 2500.0 ms | 0.20× | **no** |")
    assert targets_line(rows) == "Targets met: 1 of 3 (1 undecided)."


def test_values_are_written_with_their_unit():
    assert format_value(46.23, "msg/s") == "46.2 msg/s"
    assert format_value(1091.4, "MB") == "1091 MB"
    assert format_value(0.9534, "share") == "0.953"
    assert format_value(1.234, "x") == "1.23"
    assert format_value(None, "s", "not recorded") == "not recorded"


def test_left_out_stories_are_summed_up_by_reason_and_file():
    left_out = [{"name": "a", "source": "test_handoff.yml", "reason": "no mix"},
                {"name": "b", "source": "test_handoff.yml", "reason": "no mix"},
                {"name": "c", "source": "test_feedback.yml", "reason": "no text"}]
    assert left_out_summary(left_out) == "no mix: test_handoff.yml (2); no text: test_feedback.yml (1)"
    assert left_out_summary([]) == "none"


def test_rolling_median_and_the_chart(tmp_path: Path):
    assert rolling_median([1, 9, 2, 8], window=3) == [1, 5, 2, 8]
    chart = tmp_path / "latency.svg"
    latency_chart({"ours": [10.0, None, 12.0], "stock": [80.0, 90.0, 95.0]}, chart)
    svg = chart.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "rolling median" in svg


# --- processes, records, settings ---------------------------------------------------------------------

def test_memory_figures_are_read_from_proc_status():
    status = "Name:\tpython\nVmHWM:\t 1400000 kB\nVmRSS:\t 1091234 kB\nThreads:\t12\n"
    assert status_field_kb(status, "VmRSS") == 1091234
    assert status_field_kb(status, "VmHWM") == 1400000
    assert status_field_kb("Name:\tzombie\n", "VmRSS") is None


def test_stock_gets_rasas_sql_store_and_our_action_servers_secret_header(tmp_path: Path):
    arguments = write_stock_settings(tmp_path, 5123, "s3cret")
    import yaml

    endpoints = yaml.safe_load((tmp_path / "endpoints.yml").read_text())
    assert endpoints["tracker_store"] == {"type": "SQL", "dialect": "sqlite",
                                         "db": str(tmp_path / "stock-tracker.db")}
    assert endpoints["action_endpoint"] == {"url": "http://127.0.0.1:5123/webhook",
                                            "headers": {"X-Action-Secret": "s3cret"}}
    assert yaml.safe_load((tmp_path / "credentials.yml").read_text()) == {"rest": None}
    assert arguments == ["--endpoints", str(tmp_path / "endpoints.yml"),
                         "--credentials", str(tmp_path / "credentials.yml")]


def test_training_time_is_recorded_only_for_a_training_that_succeeded(tmp_path: Path):
    record = training_record(tmp_path / "shop.tar.gz")
    assert record == tmp_path / "shop.train.json"
    assert read_training_seconds(record) is None
    assert timed_run(record, [sys.executable, "-c", "import time; time.sleep(0.2)"]) == 0
    seconds = read_training_seconds(record)
    assert seconds is not None and 0.1 <= seconds < 30
    assert timed_run(record, [sys.executable, "-c", "raise SystemExit(3)"]) == 3
    assert not record.exists()  # no stale figure beside a model that failed to train
    record.write_text("{not json")
    assert read_training_seconds(record) is None


def test_nlu_headlines_are_the_figures_of_either_kind_of_report():
    own = {"examples": 300, "accuracy": 0.95, "macro_f1": 0.94, "oos_refused": None, "per_intent": {}}
    external = {"examples": 500, "right": 0.81, "refused": 0.1, "by_group": {}}
    assert headline_figures(own) == {"macro_f1": 0.94, "accuracy": 0.95}
    assert headline_figures(external) == {"right": 0.81, "refused": 0.1}


async def test_each_kind_of_failed_turn_is_named_and_not_retried():
    calls = []

    async def webhook(request: web.Request) -> web.Response:
        text = (await request.json())["message"]
        calls.append(text)
        if text == "slow":
            await asyncio.sleep(2)
        replies = {"busy": web.json_response({"error": "busy"}, status=503, headers={"Retry-After": "2"}),
                   "broken": web.json_response({"error": "x"}, status=500),
                   "silent": web.json_response([])}
        return replies.get(text, web.json_response([{"recipient_id": "x", "text": "hi"}]))

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    async with TestServer(app, host="127.0.0.1") as server:
        import aiohttp

        base_url = str(server.make_url("")).rstrip("/")
        async with aiohttp.ClientSession() as session:
            outcomes = [(await say(session, base_url, "bench-1", text, timeout=0.5))[1]
                        for text in ("hello", "busy", "broken", "silent", "slow")]
    assert outcomes == [ANSWERED, "busy (503)", "HTTP 500", "empty reply", "timeout"]
    assert calls == ["hello", "busy", "broken", "silent", "slow"]  # one call each: no retries


# --- end to end ---------------------------------------------------------------------------------------

@pytest.mark.e2e
def test_a_quick_run_against_our_real_servers_writes_the_figures(tmp_path: Path):
    if not MODEL.is_file():
        pytest.fail(f"{MODEL} is missing: `make test` trains it first")
    out = tmp_path / "reports"
    done = subprocess.run([sys.executable, "-m", "bot.turn_bench", "--quick", "--out", str(out),
                           "--scratch", str(tmp_path / "runs")],
                          cwd=ROOT, capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "[ours] one customer x 6 turns:" in done.stdout  # progress as it runs
    bench = json.loads((out / "bench.json").read_text())
    ours = bench["bots"]["ours"]
    assert list(bench["bots"]) == ["ours"]
    assert 0 < ours["start_seconds"] < 120
    assert ours["memory_after_loads"]["web"]["resident_mb"] > 100
    assert ours["memory_after_loads"]["actions"]["resident_mb"] > 20
    loads = ours["loads"]
    assert loads["one_customer"]["answered"] == 6 and loads["one_customer"]["errors"] == 0
    assert loads["one_customer"]["median_ms"] > 0
    assert loads["concurrent"]["answered"] == 3 * 2
    assert loads["crowd"]["turns"] == 5 * 2
    assert len(loads["long_conversation"]["per_turn_ms"]) == 12
    assert loads["long_conversation"]["growth"] > 0
    assert set(loads["story_mixes"]["by_mix"]) == set(MIXES)
    assert loads["story_mixes"]["errors"] == 0
    with sqlite3.connect(tmp_path / "runs" / "ours" / "tracker.db") as db:
        faq_actions = {row[0] for row in db.execute(  # of every load but the story mixes
            "SELECT json_extract(data, '$.name') FROM events WHERE type_name = 'action' "
            "AND sender_id LIKE 'bench-%' AND sender_id NOT LIKE '%-mix-%'")}
    assert "action_answer_faq" in faq_actions
    assert not {"order_form", "feedback_form"} & faq_actions  # the FAQ loads stay FAQ: no form opens
    measures = {row["measure"]: row for row in bench["table"]}
    assert measures["One customer: median turn"]["ours"] == loads["one_customer"]["median_ms"]
    assert "| measure | target | ours | stock |" in (out / "bench.md").read_text()
    assert "<svg" in (out / "bench-latency.svg").read_text()
