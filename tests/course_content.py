"""A small, known course tree for the course tests (the real content/ is checked separately)."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

QUIZ = """\
quiz:
  pass_mark: 50
  questions:
    - prompt: Welche Nummer ruft die Feuerwehr?
      options:
        - text: "110"
        - text: "112"
          correct: true
      explanation: Die 112 erreicht Feuerwehr und Rettungsdienst.
    - prompt: "Was bedeutet SIP?"
      options:
        - text: Session Initiation Protocol
          correct: true
        - text: Simple Internet Phone
      explanation: SIP steht für Session Initiation Protocol.
"""

QUIZ_EN = QUIZ.replace("Welche Nummer ruft die Feuerwehr?", "Which number calls the fire brigade?").replace(
    "Was bedeutet SIP?", "What does SIP stand for?"
)


def lesson(title: str, body: str, version: int = 1, quiz: str = "", minutes: int = 3) -> str:
    return f"---\ntitle: {title}\nminutes: {minutes}\nversion: {version}\n{quiz}---\n{dedent(body)}"


def course(
    title: str, language: str = "de", audience: str = "[sip_trunk]", order: int = 1, draft: bool = False, extra: str = "", intro: str = "Willkommen zum Kurs."
) -> str:
    return (
        f"---\ntitle: {title}\nsummary: Eine kurze Zusammenfassung.\nlanguage: {language}\naudience: {audience}\n"
        f"order: {order}\ndraft: {'true' if draft else 'false'}\n{extra}---\n{intro}\n"
    )


def write_test_courses(root: Path) -> Path:
    """netz-basics (de, SIP trunk: a reading lesson and a quiz lesson), its English
    translation net-basics, pbx-only (hosted PBX), and a draft."""
    files = {
        "netz-basics/course.md": course("Netz-Grundlagen", intro="Willkommen zum Kurs. Los geht es mit [der ersten Lektion](01-start.md)."),
        "netz-basics/01-start.md": lesson(
            "Der Anfang",
            """\
            Willkommen! Dies ist die erste Lektion über **Sprachkanäle**.

            [TOC]

            ## Sprachkanäle

            Jedes Gespräch belegt einen Kanal. Weiter zum [Quiz](02-quiz.md#fragen).

            !!! tip
                Planen Sie Reserven ein.
            """,
        ),
        "netz-basics/02-quiz.md": lesson("Das Quiz", "## Fragen\n\nBeantworten Sie die Fragen.\n", quiz=QUIZ),
        "net-basics/course.md": course("Network basics", language="en", extra="translation_of: netz-basics\n", intro="Welcome. Start with [the first lesson](01-start.md)."),
        "net-basics/01-start.md": lesson(
            "The beginning",
            """\
            Welcome! This is the first lesson about **voice channels**.

            [TOC]

            ## Voice channels

            Every call uses one channel. On to the [quiz](02-quiz.md#questions).

            !!! tip
                Plan some headroom.
            """,
        ),
        "net-basics/02-quiz.md": lesson("The quiz", "## Questions\n\nAnswer the questions.\n", quiz=QUIZ_EN),
        "pbx-only/course.md": course("Nur Telefonanlage", audience="[hosted_pbx]", order=2),
        "pbx-only/01-start.md": lesson("PBX-Lektion", "Nur für die Telefonanlage.\n", quiz=QUIZ),
        "entwurf/course.md": course("Geheimer Entwurf", order=3, draft=True),
        "entwurf/01-start.md": lesson("Entwurfslektion", "GEHEIMER ENTWURF\n", quiz=QUIZ),
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
