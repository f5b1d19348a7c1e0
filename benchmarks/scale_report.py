"""How the scale part of ``python -m benchmarks`` prints its figures and files its targets."""

from __future__ import annotations

import math

from benchmarks.report import Report, fmt, say
from benchmarks.scale import TARGET_CPU_MS_PER_GUILD, IntervalFigures
from benchmarks.scale_worker import VIP_JOB


def load_text(load: tuple[float, float, float]) -> str:
    return "n/a" if math.isnan(load[0]) else "/".join(f"{value:.1f}" for value in load)


def print_figures(figures: list[IntervalFigures], report: Report) -> None:
    if not figures:
        return
    first = figures[0]
    say()
    say(
        f"SCALE: a full interval for {first.guilds:,} guilds x {first.viewers_each} present "
        f"viewers (PostgreSQL; set-up {first.setup_seconds:.0f} s, untimed)"
    )
    say("times from the start of the ticks; CPU: the bot process's own (all its threads)")
    for f in figures:
        say()
        say(
            f"{f.processes} bot process(es): interval {fmt(f.wall_seconds, 1)} s, ticks done at "
            f"{fmt(f.tick_wall_seconds, 1)} s; load average {load_text(f.load_start)} at the "
            f"start, {load_text(f.load_end)} at the end; other processes {f.others:.0%} of the CPUs"
        )
        report.others.append(f.others)
        for bot in f.bots:
            partitions = ",".join(str(p) for p in bot.partitions)
            say(f"  bot {bot.index}: partitions {partitions or '-'}; jobs held {len(bot.jobs)}")
            if bot.tick is not None:
                say(
                    f"    {'tick':<34}{bot.tick.wall_seconds:7.2f} s  CPU "
                    f"{bot.tick.cpu_seconds:6.2f} s = {fmt(bot.tick_cpu_ms_per_guild, 3)} ms per "
                    f"guild, {bot.guilds_ticked:,} guilds, {bot.credited:,} credited"
                )
            for part in bot.after:
                if part.name == VIP_JOB:
                    note = f"  ({bot.vip_queued} removals queued for their workers)"
                else:  # the after-tick jobs go through every guild
                    note = (
                        f" = {part.wall_seconds * 1000 / f.guilds:.2f} ms wall, "
                        f"{part.cpu_seconds * 1000 / f.guilds:.2f} ms CPU per guild"
                    )
                if part.problem:
                    note += f"  FAILED: {part.problem}"
                say(
                    f"    {part.name:<34}{part.wall_seconds:7.2f} s  CPU "
                    f"{part.cpu_seconds:6.2f} s{note}"
                )
    say()
    say(
        "the after-tick jobs start once every process has ticked (the scheduler does not wait "
        "for the other processes: the longest course); expiring VIPs ran its body once"
    )
    for f in figures:
        loads = f"load {load_text(f.load_start)} -> {load_text(f.load_end)}"
        per_bot = " / ".join(fmt(bot.tick_cpu_ms_per_guild, 3) for bot in f.bots)
        report.target(
            f"{f.processes} bot process(es): tick CPU per guild <= {TARGET_CPU_MS_PER_GUILD} ms",
            f"{per_bot} ms ({loads})",
            f.meets_cpu,
        )
        report.target(
            f"{f.processes} bot process(es): full interval <= {f.target_seconds:.0f} s",
            f"{fmt(f.wall_seconds, 1)} s ({loads})",
            f.inside_interval,
        )
        report.problems += f.problems
