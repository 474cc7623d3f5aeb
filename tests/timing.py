"""Where the suite's time goes: ``pytest --timing`` (``make test PYTEST_ARGS=--timing``).

At the end of the run it prints the modules that took longest (their tests'
setup, call and teardown added up, with the number of tests) and what each
fixture cost in setup and teardown, summed over every test and every xdist
worker. ``--timing-json FILE`` writes the same figures for comparing runs.

A fixture's setup time is its own body: pytest sets up the fixtures it
depends on before it, and each is counted under its own name. Wall time under
xdist is shorter than the sums, which add up the workers' time.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict

import pytest


def pytest_addoption(parser) -> None:
    group = parser.getgroup("timing")
    group.addoption("--timing", action="store_true", help="print the slowest modules and the cost of each fixture")
    group.addoption("--timing-json", metavar="FILE", help="write the module and fixture times to FILE (implies --timing)")
    group.addoption("--timing-top", type=int, default=15, metavar="N", help="how many modules and fixtures to print (default 15)")


def _enabled(config) -> bool:
    return bool(config.getoption("--timing") or config.getoption("--timing-json"))


class FixtureClock:
    """Seconds and counts per fixture name, setup and teardown apart."""

    def __init__(self) -> None:
        self.setup: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
        self.teardown: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
        self._teardown_started: dict[int, float] = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        started = time.perf_counter()
        yield
        entry = self.setup[fixturedef.argname]
        entry[0] += time.perf_counter() - started
        entry[1] += 1
        # Finalizers run last-in first-out: this one runs just before the
        # fixture's own teardown (registered during its setup, above).
        fixturedef.addfinalizer(lambda: self._teardown_started.__setitem__(id(fixturedef), time.perf_counter()))

    @pytest.hookimpl
    def pytest_fixture_post_finalizer(self, fixturedef, request):
        started = self._teardown_started.pop(id(fixturedef), None)
        if started is not None:
            entry = self.teardown[fixturedef.argname]
            entry[0] += time.perf_counter() - started
            entry[1] += 1

    def as_dict(self) -> dict:
        return {"setup": dict(self.setup), "teardown": dict(self.teardown)}


class Timing:
    """Collects test reports (all of them reach the controller under xdist) and the
    workers' fixture clocks, and prints the summary."""

    def __init__(self, config) -> None:
        self.config = config
        self.modules: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
        self.fixtures: dict[str, dict[str, list[float]]] = {"setup": defaultdict(lambda: [0.0, 0]), "teardown": defaultdict(lambda: [0.0, 0])}
        self.clock = FixtureClock()
        self.started = time.perf_counter()

    def pytest_runtest_logreport(self, report) -> None:
        module = report.nodeid.split("::", 1)[0]
        entry = self.modules[module]
        entry[0] += report.duration
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            entry[1] += 1

    def add_fixtures(self, clock: dict) -> None:
        for phase in ("setup", "teardown"):
            for name, (seconds, count) in clock[phase].items():
                entry = self.fixtures[phase][name]
                entry[0] += seconds
                entry[1] += count

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:  # xdist: a worker finished
        clock = getattr(node, "workeroutput", {}).get("timing_fixtures")
        if clock:
            self.add_fixtures(json.loads(clock))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session) -> None:
        if hasattr(self.config, "workeroutput"):  # an xdist worker: hand the clock to the controller
            self.config.workeroutput["timing_fixtures"] = json.dumps(self.clock.as_dict())
        elif not getattr(self.config, "pluginmanager").hasplugin("dsession"):
            self.add_fixtures(self.clock.as_dict())

    def pytest_terminal_summary(self, terminalreporter) -> None:
        top = self.config.getoption("--timing-top")
        write = terminalreporter.write_line
        wall = time.perf_counter() - self.started
        modules = sorted(self.modules.items(), key=lambda item: -item[1][0])
        total = sum(seconds for seconds, _count in self.modules.values())
        terminalreporter.section("timing")
        write(f"wall {wall:.1f} s; tests' setup + call + teardown summed over workers {total:.1f} s")
        write(f"{'module':60} {'tests':>6} {'seconds':>9}")
        for module, (seconds, count) in modules[:top]:
            write(f"{module:60} {count:6d} {seconds:9.1f}")
        write("")
        write(f"{'fixture':40} {'setups':>7} {'setup s':>9} {'teardown s':>11}")
        fixtures = sorted(
            self.fixtures["setup"].items(), key=lambda item: -(item[1][0] + self.fixtures["teardown"].get(item[0], [0.0, 0])[0])
        )
        for name, (seconds, count) in fixtures[:top]:
            down = self.fixtures["teardown"].get(name, [0.0, 0])[0]
            write(f"{name:40} {count:7d} {seconds:9.1f} {down:11.1f}")
        path = self.config.getoption("--timing-json")
        if path:
            with open(path, "w", encoding="utf-8") as file:
                json.dump({"wall": wall, "modules": self.modules, "fixtures": self.fixtures}, file, indent=1, sort_keys=True)


@pytest.hookimpl(trylast=True)
def pytest_configure(config) -> None:
    if not _enabled(config):
        return
    timing = Timing(config)
    config.pluginmanager.register(timing, "portal-timing")
    config.pluginmanager.register(timing.clock, "portal-timing-fixtures")
