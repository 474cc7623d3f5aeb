"""content/ → catalog: parsing, validation with file:line messages, links, caching, the check command."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from portal.courses.catalog import documents as catalog_documents
from portal.courses.catalog import CatalogStore, load_catalog
from tests.course_content import QUIZ, course, lesson, write_test_courses

REAL_CONTENT = Path(__file__).resolve().parent.parent / "content"


@pytest.fixture
def tree(tmp_path) -> Path:
    return write_test_courses(tmp_path / "content")


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of ``needle`` in a file, to compare with reported lines."""
    return next(n for n, text in enumerate(path.read_text().splitlines(), start=1) if needle in text)


def messages(catalog, level="error") -> list[str]:
    return [f"{p.path.name}:{p.line}: {p.message}" for p in catalog.problems if p.level == level]


# --- the real content -------------------------------------------------------


def test_the_real_content_passes_the_check(runner):
    result = runner.invoke(args=["content", "check", "--dir", str(REAL_CONTENT)])
    assert result.exit_code == 0, result.output
    assert "0 errors" in result.output


def test_the_real_content_loads_into_courses_with_lessons_and_quizzes():
    catalog = load_catalog(REAL_CONTENT)
    assert catalog.errors == []
    assert {"hosted-pbx-erste-schritte", "sip-trunk-einrichten", "kundenportal-nutzen"} <= set(catalog.courses)
    for course_ in catalog.courses.values():
        assert course_.lessons and course_.lessons[-1].quiz is not None
        assert [lesson_.number for lesson_ in course_.lessons] == list(range(1, len(course_.lessons) + 1))
        for lesson_ in course_.lessons:
            html = str(lesson_.html)
            assert "<script" not in html and ".md" not in re.sub(r"<code.*?</code>|<pre.*?</pre>", "", html, flags=re.S)


# --- parsing ------------------------------------------------------------------


def test_courses_lessons_and_quizzes_are_parsed(tree):
    catalog = load_catalog(tree)
    assert catalog.errors == []
    basics = catalog.course("netz-basics")
    assert basics.title == "Netz-Grundlagen" and basics.language == "de" and basics.audience == ("sip_trunk",)
    assert [(lesson_.number, lesson_.slug, lesson_.version) for lesson_ in basics.lessons] == [(1, "start", 1), (2, "quiz", 1)]
    quiz = basics.lesson("quiz").quiz
    assert quiz.pass_mark == 50 and len(quiz.questions) == 2
    assert quiz.questions[0].options[1].text == "112" and quiz.questions[0].correct_index == 1
    assert quiz.questions[0].explanation.startswith("Die 112")
    assert basics.lesson("start").quiz is None
    assert catalog.course("entwurf").draft is True
    assert catalog.course("net-basics").translation_of == "netz-basics"


def test_markdown_is_rendered_sanitized_with_lesson_links_rewritten(tree):
    basics = load_catalog(tree).course("netz-basics")
    first = str(basics.lesson("start").html)
    assert '<a href="quiz#fragen">Quiz</a>' in first  # a sibling lesson, relative to the lesson page
    assert '<div class="toc">' in first and '<h2 id="sprachkanale">' in first
    assert '<p class="admonition-title">Tipp</p>' in first  # default title in the course's language
    assert '<a href="lessons/start">' in str(basics.intro_html)  # relative to the course page


def test_quiz_scoring_uses_the_pass_mark(tree):
    quiz = load_catalog(tree).course("netz-basics").lesson("quiz").quiz
    assert quiz.score({0: 1, 1: 0}).score_percent == 100
    half = quiz.score({0: 0, 1: 0})
    assert half.score_percent == 50 and half.passed and half.correct == (False, True)
    assert not quiz.score({0: 0, 1: 1}).passed
    assert quiz.score({}).score_percent == 0


def test_audience_language_and_link_limits(tree):
    catalog = load_catalog(tree)
    assert [c.slug for c in catalog.for_audience(["sip_trunk"], "de")] == ["netz-basics"]
    assert [c.slug for c in catalog.for_audience(["sip_trunk"], "en")] == ["net-basics"]  # the translation
    assert [c.slug for c in catalog.for_audience(["sip_trunk", "hosted_pbx"], "de")] == ["netz-basics", "pbx-only"]
    assert [c.slug for c in catalog.for_audience(["sip_trunk"], "de", only=["pbx-only"])] == ["pbx-only"]
    assert "entwurf" not in [c.slug for c in catalog.for_audience(["sip_trunk"], "de", only=["entwurf"])]


# --- validation ------------------------------------------------------------------


def test_broken_content_is_reported_with_file_and_line(tmp_path):
    root = tmp_path / "content"
    write(root, "kaputt/course.md", "---\ntitle: Kaputt\nsummary: x\nlanguage: fr\naudience: [isdn]\norder: eins\ndraft: nein\nauthor: Eva\n---\nText\n")
    write(root, "gut/course.md", course("Gut", extra="translation_of: gibt-es-nicht\n"))
    write(root, "gut/01-start.md", lesson("Start", "Weiter mit [Lektion 3](03-fehlt.md) und ![Bild](fehlt.png) und ![Logo](logo.png).\n", minutes="fünf"))
    write(root, "gut/logo.png", "not really a png")
    write(
        root,
        "gut/02-html.md",
        lesson("HTML", 'Absatz\n\n<script>alert(1)</script>\n\nText <a href="https://example.net" onclick="x()">hier</a>\n\n!!! danger "Gefahr"\n    Achtung.\n', quiz=QUIZ.replace('- text: "110"', "- text: 110").replace("        - text: Simple Internet Phone\n", "        - text: Simple Internet Phone\n          correct: true\n")),
    )
    write(root, "gut/04-luecke.md", lesson("Lücke", "Text\n"))
    write(root, "gut/4-falsch.md", lesson("Falsch", "Text\n"))
    write(root, "gut/05-doppelt.md", "---\ntitle: Notruf: was Sie wissen müssen\nminutes: 3\nversion: 1\n---\nText\n")
    write(root, "gut/06-ohne.md", "Kein Front Matter\n")
    write(root, "Gross Geschrieben/course.md", course("x"))
    catalog = load_catalog(root)
    errors = messages(catalog)
    expected = [
        r"course.md:4: language must be one of de, en",
        r"course.md:5: unknown service type 'isdn'",
        r"course.md:6: order must be a whole number",
        r"course.md:7: draft must be true or false",
        r"course.md:8: unknown key 'author'",
        r"course.md:8: translation_of names a course that does not exist: gibt-es-nicht",
        r"01-start.md:3: minutes must be a whole number, not text",
        r"02-html.md:\d+: option 1 of question 1 must be text, not a number; put it in double quotes",
        r"02-html.md:\d+: question 2 must have exactly one option with 'correct: true', not 2",
        r"02-html.md:\d+: the sanitizer removed <script> element",
        r"02-html.md:\d+: the sanitizer removed attribute onclick",
        r"02-html.md:\d+: unknown admonition 'danger'",
        r"4-falsch.md:1: lesson file names look like 01-lesson-name.md",
        r"course.md:1: lessons must be numbered 01, 02, 03 ... without gaps \(check 03\)",
        r"05-doppelt.md:2: the front matter is not valid YAML: .*double quotes",
        r"06-ohne.md:1: the file must start with front matter",
        r"Gross Geschrieben:1: course folder name 'Gross Geschrieben' is not a valid slug",
    ]
    for pattern in expected:
        assert any(re.search(pattern, line) for line in errors), f"{pattern!r} not in {errors}"
    # body problems are reported on the line they are on
    html_file = root / "gut" / "02-html.md"
    reported = {p.message.split(":")[0]: p.line for p in catalog.problems if p.path == html_file}
    assert reported["the sanitizer removed <script> element"] == line_of(html_file, "<script>")
    assert reported['the sanitizer removed attribute onclick="x()" on <a>'] == line_of(html_file, "onclick")
    assert reported["unknown admonition 'danger'"] == line_of(html_file, "!!! danger")
    assert reported["option 1 of question 1 must be text, not a number; put it in double quotes"] == line_of(html_file, "- text: 110")


def test_broken_links_and_images_are_errors_and_good_ones_are_rewritten(tmp_path):
    root = tmp_path / "content"
    write(root, "kurs/course.md", course("Kurs"))
    write(root, "kurs/01-start.md", lesson("Start", "Siehe [zwei](02-zwei.md), [fehlt](03-fehlt.md), [extern](https://example.net), [anderer Kurs](../anders/01-a.md#ziel)\n\n![Schema](schema.png)\n\n![fehlt](fehlt.png)\n\n![extern](https://example.net/x.png)\n\n[root](/staff/)\n"))
    write(root, "kurs/02-zwei.md", lesson("Zwei", "Zurück zum [Kurs](course.md).\n", quiz=QUIZ))
    write(root, "kurs/schema.png", "png")
    write(root, "anders/course.md", course("Anders"))
    write(root, "anders/01-a.md", lesson("A", "## Ziel\n\nText\n", quiz=QUIZ))
    catalog = load_catalog(root)
    errors = messages(catalog)
    start = root / "kurs" / "01-start.md"
    assert f"01-start.md:{line_of(start, '03-fehlt.md')}: link to a lesson that does not exist: 03-fehlt.md" in errors
    assert f"01-start.md:{line_of(start, 'fehlt.png')}: image not found: fehlt.png" in errors
    assert any(e.startswith(f"01-start.md:{line_of(start, 'x.png')}: external image https://example.net/x.png") for e in errors)
    assert any(e.startswith(f"01-start.md:{line_of(start, '/staff/')}: /staff/: link to a lesson by its file name") for e in errors)
    assert len(errors) == 4, errors
    html = str(catalog.course("kurs").lesson("start").html)
    assert 'href="zwei"' in html and 'href="https://example.net"' in html and 'href="../../anders/lessons/a#ziel"' in html
    assert 'src="../files/schema.png"' in html
    assert 'href="../"' in str(catalog.course("kurs").lesson("zwei").html)
    assert catalog.course("kurs").files == {"schema.png"}


def test_duplicate_lesson_slugs_and_numbers_are_errors(tmp_path):
    root = tmp_path / "content"
    write(root, "kurs/course.md", course("Kurs"))
    write(root, "kurs/01-a.md", lesson("A", "x", quiz=QUIZ))
    write(root, "kurs/02-a.md", lesson("A2", "x", quiz=QUIZ))
    write(root, "kurs/01-b.md", lesson("B", "x", quiz=QUIZ))
    errors = messages(load_catalog(root))
    assert any("lesson slug 'a' is also used by 01-a.md" in e for e in errors)
    assert any(e.startswith("01-b.md:1: lesson number 01 is also used by 01-a.md") for e in errors)


def test_quiz_syntax_errors(tmp_path):
    root = tmp_path / "content"
    write(root, "kurs/course.md", course("Kurs"))
    bad_quiz = "quiz:\n  pass_mark: 120\n  questions:\n    - prompt: Nur eine Option\n      options:\n        - text: ja\n          correct: yes\n    - text: falsch eingerückt\n"
    write(root, "kurs/01-a.md", lesson("A", "x", quiz=bad_quiz))
    errors = messages(load_catalog(root))
    assert "01-a.md:6: pass_mark must be between 1 and 100, not 120" in errors
    assert "01-a.md:9: question 1 needs 2 to 5 options, not 1" in errors
    assert any(e.startswith("01-a.md:12: unknown key 'text' in question 2") for e in errors)


def test_check_command_fails_on_a_broken_folder(runner, tmp_path):
    root = tmp_path / "content"
    write(root, "kurs/course.md", course("Kurs"))
    write(root, "kurs/01-a.md", lesson("A", "Siehe [b](02-b.md)\n", quiz=QUIZ))
    result = runner.invoke(args=["content", "check", "--dir", str(root)])
    assert result.exit_code != 0
    line = line_of(root / "kurs" / "01-a.md", "02-b.md")
    assert re.search(rf"kurs/01-a\.md:{line}: error: link to a lesson that does not exist: 02-b\.md", result.output), result.output
    assert "1 errors" in result.output


def test_check_command_strict_fails_on_warnings(runner, tree):
    assert runner.invoke(args=["content", "check", "--dir", str(tree)]).exit_code == 0
    assert runner.invoke(args=["content", "check", "--dir", str(tree), "--strict"]).exit_code != 0


def test_a_missing_content_folder_is_an_error(runner, tmp_path):
    result = runner.invoke(args=["content", "check", "--dir", str(tmp_path / "nope")])
    assert result.exit_code != 0 and "does not exist" in result.output


# --- caching and reloading ----------------------------------------------------------


def test_rendering_happens_once_per_file_content(tree):
    load_catalog(tree)
    before = catalog_documents.render_body.cache_info()
    load_catalog(tree)
    after = catalog_documents.render_body.cache_info()
    assert after.misses == before.misses and after.hits > before.hits
    lesson_file = tree / "netz-basics" / "01-start.md"
    lesson_file.write_text(lesson_file.read_text().replace("Willkommen!", "Hallo!"))
    load_catalog(tree)
    assert catalog_documents.render_body.cache_info().misses == after.misses + 1  # only the changed file


def test_the_store_reloads_changed_files_in_development_only(tree, monkeypatch):
    monkeypatch.setattr(CatalogStore, "CHECK_INTERVAL", 0)
    live, fixed = CatalogStore(tree, auto_reload=True), CatalogStore(tree, auto_reload=False)
    path = tree / "netz-basics" / "02-quiz.md"
    path.write_text(path.read_text().replace("version: 1", "version: 2"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))
    assert live.get().course("netz-basics").lesson("quiz").version == 2
    assert fixed.get().course("netz-basics").lesson("quiz").version == 1
    assert fixed.reload().course("netz-basics").lesson("quiz").version == 2


def test_the_app_loads_the_catalog_at_start(app):
    store = app.extensions["courses_catalog"]
    assert isinstance(store, CatalogStore) and store.get().courses
