"""The load-time rules, each against the failure mode it exists for (times are given explicitly)."""

from __future__ import annotations

from pathlib import Path

from helpers import value
from logtools import SAMPLES, metrics, monitor

from modelcache_exporter.logs.emit import Emitter
from modelcache_exporter.logs.loadtime import LoadTracker


def tracker() -> LoadTracker:
    return LoadTracker(Emitter())


def test_process_start_to_probe_success() -> None:
    t = tracker()
    t.probe(False, 99.0)
    t.process_seen(42, 100.0, before_watch=False)
    assert t.loading and t.in_progress(161.0) == 61.0  # an alert on > 60 fires while the load runs
    t.probe(False, 130.0)
    t.probe(True, 140.5)
    assert (t.loading, t.ready, t.last_duration, t.loads, t.restarts) == (False, True, 40.5, 1, 0)
    assert t.in_progress(200.0) == 0.0


def test_first_look_at_an_app_already_up_records_no_load() -> None:
    t = tracker()
    t.process_seen(42, 100.0, before_watch=True)  # started hours before the exporter
    t.probe(True, 9000.0)
    assert (t.loads, t.last_duration, t.restarts, t.ready) == (0, None, 0, True)


def test_first_look_at_an_app_still_loading_measures_from_its_start() -> None:
    t = tracker()
    t.process_seen(42, 100.0, before_watch=True)
    assert t.in_progress(150.0) == 0.0  # not confirmed yet: it may be up already
    t.probe(False, 150.0)
    assert t.in_progress(150.0) == 50.0
    t.probe(True, 170.0)
    assert t.last_duration == 70.0


def test_restart_counts_and_interrupts_downloads() -> None:
    t = tracker()
    begun: list[float] = []
    t.on_begin.append(begun.append)
    t.process_seen(1, 100.0, before_watch=False)
    t.probe(True, 110.0)
    t.process_gone(200.0)
    assert not t.ready
    t.process_seen(2, 205.0, before_watch=False)
    t.probe(True, 215.0)
    assert (t.restarts, t.loads, begun) == (1, 2, [100.0, 205.0])


def test_copytruncate_while_serving_is_not_a_load() -> None:
    t = tracker()
    t.log_loading(10.0, True)
    t.log_ready(20.0, True)
    t.file_reset(1000.0)  # logrotate's copytruncate
    t.log_other(1001.0)  # a request line: the app is running
    t.log_loading(5000.0, True)  # a later restart starts at its own first line, not at the truncation
    t.log_ready(5030.0, True)
    assert t.last_duration == 30.0 and t.restarts == 1


def test_truncation_by_a_restart_is_the_load_start() -> None:
    t = tracker()
    t.file_reset(1000.0)  # `python webui.py > webui.log` truncates the log when it starts
    t.log_stage("gpt", 1040.0, True)  # QwenEmotion loads silently first
    t.log_ready(1060.0, True)
    assert t.last_duration == 60.0


def test_buffered_stdout_lines_after_the_probe_are_not_a_new_load() -> None:
    t = tracker()
    t.probe(False, 99.0)
    t.process_seen(7, 100.0, before_watch=False)
    t.probe(True, 150.0)
    for stage in ("gpt", "semantic_codec", "bpe"):
        t.log_stage(stage, 400.0, True)  # the whole stdout buffer, flushed later
    t.log_ready(400.0, True)
    assert (t.loads, t.last_duration, t.restarts, t.buffered, t.stages) == (1, 50.0, 0, True, {})


def test_stdout_flushed_at_exit_is_not_a_new_load() -> None:
    t = tracker()
    t.probe(False, 99.0)
    t.process_seen(7, 100.0, before_watch=False)
    t.probe(True, 130.0)
    t.process_gone(500.0)
    t.probe(False, 500.1)
    t.log_stage("gpt", 500.2, True)  # the whole stdout buffer arrives as the process exits
    t.log_ready(500.2, True)
    assert (t.loading, t.loads, t.restarts, t.buffered) == (False, 1, 0, True)


def test_stage_lines_in_one_burst_give_no_stage_durations() -> None:
    t = tracker()
    t.log_loading(100.0, True)
    for stage in ("gpt", "semantic_codec", "s2mel", "bpe"):
        t.log_stage(stage, 160.0, True)
    t.log_ready(160.0, True)
    assert (t.last_duration, t.buffered, t.stages) == (60.0, True, {})


def test_probe_only_outage_is_a_load_of_unknown_start() -> None:
    t = tracker()
    t.probe(True, 10.0)
    t.probe(False, 20.0)
    assert t.loading and t.in_progress(90.0) == 70.0
    t.probe(True, 95.0)
    assert (t.loading, t.ready, t.last_duration, t.restarts) == (False, True, None, 1)


def test_monitor_with_truncating_restarts(tmp_path: Path) -> None:
    """`python webui.py > webui.log` twice: each start truncates; both loads are measured."""
    log = tmp_path / "webui.log"
    lines = SAMPLES["warm"].read_bytes().split(b"\n")
    ready = next(i for i, line in enumerate(lines) if line.startswith(b"* Running"))
    mon, rec = monitor([log])
    mon.poll_once(now=0.0)
    t = 0.0
    for _ in range(2):
        log.write_bytes(b"")  # the shell's `>` truncation (creation the first time)
        t += 10.0
        mon.poll_once(now=t)
        for line in lines[: ready + 1]:
            with open(log, "ab") as fh:
                fh.write(line + b"\n")
            t += 2.0
            mon.poll_once(now=t)
        t += 100.0  # serving
    text = metrics(mon)
    assert [e.seconds for e in rec.of("load_finished")] == [2.0 * (ready + 1)] * 2
    assert value(text, "modelcache_webui_restarts_total") == 1
    assert value(text, "modelcache_log_truncations_total", log="webui") == 1


def test_a_load_that_never_ends_keeps_a_bounded_number_of_stage_marks() -> None:
    """Found by bench/soak.py: an app whose ready line is never seen kept one mark per stage line for ever."""
    from modelcache_exporter.logs.loadtime import MAX_MARKS

    lt = LoadTracker(Emitter())
    lt.log_loading(1000.0, timed=True)
    for i in range(100_000):
        lt.log_stage(f"stage-{i % 7}", 1000.0 + i / 100, timed=True)
    assert lt.loading and len(lt.marks) == MAX_MARKS and len(lt.recent) <= 32


def served(t: LoadTracker) -> None:
    """A first load seen from the log: the app has served since 20.0."""
    t.log_loading(10.0, True)
    t.log_ready(20.0, True)


def test_a_truncation_alone_starts_a_load_at_once() -> None:
    """Issue 11: `python webui.py > log` with buffered stdout writes nothing for the whole load."""
    t = tracker()
    served(t)
    t.file_reset(1000.0)
    assert (t.loading, t.ready) == (True, False)
    assert [t.in_progress(now) for now in (1010.0, 1061.0, 1800.0)] == [10.0, 61.0, 800.0]  # no line needed
    assert t.restarts == 0  # tentative: not counted before it is firm
    t.log_ready(1077.3, True)  # the buffer flushed at the ready line
    assert (t.loading, t.ready, t.loads, t.restarts) == (False, True, 2, 1)
    assert abs((t.last_duration or 0.0) - 77.3) < 1e-9


def test_a_request_line_cancels_a_tentative_load() -> None:
    t = tracker()
    begun: list[float] = []
    t.on_begin.append(begun.append)
    served(t)
    t.file_reset(1000.0)  # copytruncate with the copy elsewhere (olddir)
    assert t.loading and t.in_progress(1030.0) == 30.0
    t.log_other(1040.0)
    assert (t.loading, t.ready, t.loads, t.restarts, t.in_progress(1100.0)) == (False, True, 1, 0, 0.0)
    assert begun == [10.0]  # downloads in progress were not interrupted by the rotation


def test_a_loading_line_makes_a_tentative_load_firm() -> None:
    t = tracker()
    begun: list[float] = []
    t.on_begin.append(begun.append)
    served(t)
    t.file_reset(1000.0)
    t.log_loading(1030.0, True)  # a stderr warning of the new start
    t.log_other(1031.0)  # no longer cancels
    assert t.loading and t.restarts == 1 and begun == [10.0, 1000.0]
    t.log_ready(1040.0, True)
    assert t.last_duration == 40.0


def test_a_reset_while_the_probe_succeeds_waits_for_the_next_probe() -> None:
    t = tracker()
    t.probe(True, 10.0)
    t.file_reset(100.0)  # copytruncate of a serving web UI
    assert (t.loading, t.ready, t.in_progress(100.0)) == (False, True, 0.0)
    t.probe(True, 99.9)  # sent before the reset: decides nothing
    t.probe(True, 100.2)  # sent in the tailer round that noticed it: maybe answered before the truncation
    assert t.pending_reset == 100.0
    t.probe(True, 100.5)  # it served throughout: a rotation
    assert (t.loading, t.ready, t.pending_reset, t.loads, t.restarts) == (False, True, None, 0, 0)


def test_a_reset_then_a_probe_failure_is_a_load_from_the_reset() -> None:
    t = tracker()
    t.probe(True, 10.0)
    t.file_reset(200.0)  # a restart faster than one probe interval
    t.probe(False, 200.5)
    assert t.loading and t.in_progress(261.0) == 61.0
    t.probe(True, 230.0)
    assert (t.last_duration, t.restarts, t.loads) == (30.0, 1, 1)


def test_a_process_older_than_the_reset_cancels_it() -> None:
    t = tracker()
    served(t)
    t.file_reset(1000.0)
    t.process_seen(7, 5.0, before_watch=True)  # the watcher's first look: this process ran through the reset
    assert (t.loading, t.ready, t.loads, t.restarts, t.in_progress(1100.0)) == (False, True, 1, 0, 0.0)


def test_a_new_process_after_the_reset_gives_the_exact_start() -> None:
    t = tracker()
    t.file_reset(1000.0)
    t.process_seen(7, 999.5, before_watch=False)  # forked just before the shell's `>`
    t.probe(True, 1030.0)
    assert (t.last_duration, t.loads) == (30.5, 1)


def test_a_watcher_seeing_no_process_means_stopped_not_loading() -> None:
    t = tracker()
    t.process_seen(1, 100.0, before_watch=False)
    t.probe(True, 110.0)
    t.process_gone(200.0)  # stopped on purpose
    t.probe(False, 200.1)
    t.file_reset(200.2)  # logrotate, or the next start's `>`
    t.log_loading(200.3, True)  # the dead process's stdout, flushed at exit
    assert (t.loading, t.ready, t.in_progress(900.0)) == (False, False, 0.0)
    t.process_seen(2, 300.0, before_watch=False)  # started again
    assert t.loading and t.in_progress(310.0) == 10.0 and t.restarts == 1


def test_readiness_lost_with_a_new_process_is_a_load_and_its_exit_ends_it() -> None:
    t = tracker()
    t.process_seen(1, 100.0, before_watch=False)
    t.probe(True, 110.0)
    t.process_seen(2, 200.0, before_watch=False)  # restarted between two rounds
    t.probe(False, 200.5)  # readiness lost
    assert t.loading and t.in_progress(261.0) == 61.0 and t.restarts == 1
    t.process_gone(262.0)  # it never came up and was stopped: not a hung load
    assert (t.loading, t.ready, t.in_progress(900.0)) == (False, False, 0.0)


def test_readiness_lost_while_the_same_process_runs_is_no_load() -> None:
    t = tracker()
    t.process_seen(1, 100.0, before_watch=False)
    t.probe(True, 110.0)
    t.probe(False, 500.0)  # shutting down (port closed before the process exits)
    assert (t.loading, t.ready, t.in_progress(600.0)) == (False, False, 0.0)


def test_a_process_started_while_watching_is_a_load_after_an_untimed_ready() -> None:
    """The previous run's ready line read from the backlog (untimed) does not belong to a process that
    started while the exporter watched."""
    t = tracker()
    t.log_ready(50.0, False)
    t.process_seen(7, 100.0, before_watch=False)
    assert t.loading and t.in_progress(130.0) == 30.0
