"""Transcript PDF rendering speed, pages/s per core, against bare fpdf2 with a core font."""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from runtime.transcripts.pdf import PdfMessage, PdfTranscript, render_transcript

_WORDS = (
    "we the team tried a new dashboard last week and it was honestly easier than the old "
    "spreadsheet because everyone could see the numbers at once but some people still "
    "export everything to check it by hand which takes time I think the onboarding could "
    "explain the filters better and the reports should load faster on Monday mornings when "
    "the whole company opens them our manager liked the weekly summary email a lot"
).split()
_QUESTIONS = (
    "How did you first hear about the product, and what made you decide to try it?",
    "Can you walk me through the last time you used it? What were you trying to do?",
    "What, if anything, was confusing or slower than you expected?",
    "Who else on your team uses it, and how do they use it differently from you?",
    "If you could change one thing about it tomorrow, what would it be and why?",
)
# One answer per script, each a few sentences long, in the mixed transcript.
_SCRIPTS = (
    "我们团队上周开始使用新的仪表板。说实话\uff0c它比旧的电子表格容易得多\uff0c"
    "因为每个人都能同时看到数字。不过\uff0c有些同事仍然会把所有数据导出来手动核对\uff0c"
    "这很花时间。我觉得入门指南可以把筛选功能解释得更清楚。",
    "先週からチームで新しいダッシュボードを使い始めました。"
    "正直なところ、以前の表計算ソフトよりずっと使いやすいです。"
    "ただ、月曜日の朝はレポートの読み込みが遅く、少し困っています。",
    "지난주부터 팀에서 새 대시보드를 쓰기 시작했습니다. "
    "솔직히 예전 스프레드시트보다 훨씬 쉽습니다. "
    "다만 월요일 아침에는 보고서가 느리게 열려서 조금 불편합니다.",
    "بدأ فريقنا استخدام لوحة المعلومات الجديدة الأسبوع الماضي. "
    "بصراحة، إنها أسهل بكثير من جدول البيانات القديم لأن الجميع يرى الأرقام في الوقت نفسه. "
    "لكن التقارير بطيئة صباح يوم الاثنين.",
    "הצוות שלנו התחיל להשתמש בלוח הבקרה החדש בשבוע שעבר. "
    "בכנות, הוא הרבה יותר קל מהגיליון הישן, כי כולם רואים את המספרים באותו זמן. "
    "אבל הדוחות נטענים לאט ביום שני בבוקר.",
    "Honestly it was great 😀 the weekly summary email is my favourite part 🎉👍 but Monday "
    "mornings are slow ☕️ and the filters confuse new people 🤔.",
)


# Which answers each kind of transcript has: "latin" makes up English ones; "mixed" goes
# through every script in turn; the others take one group of scripts, to show its cost.
_KINDS = {
    "mixed": _SCRIPTS,
    "cjk": _SCRIPTS[0:3],
    "rtl": _SCRIPTS[3:5],
    "emoji": _SCRIPTS[5:6],
}


def _answer(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(2, 6)):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 22))]
        sentences.append(" ".join(words).capitalize() + ".")
    return " ".join(sentences)


def transcript(kind: str, turns: int = 24, seed: int = 7) -> PdfTranscript:
    """A realistic interview: short questions, answers of two to six sentences."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    messages: list[PdfMessage] = []
    for n in range(turns):
        at = start + timedelta(seconds=75 * n)
        messages.append(PdfMessage("interviewer", _QUESTIONS[n % len(_QUESTIONS)], at))
        scripts = _KINDS.get(kind)
        text = scripts[n % len(scripts)] if scripts else _answer(rng)
        messages.append(PdfMessage("respondent", text, at + timedelta(seconds=40)))
    fields = [
        ("Interview", "Onboarding study, wave 2"),
        ("Session", "ses_01JDQ4Z7T8K2M9"),
        ("Respondent", "Jordan Rivera"),
        ("Status", "completed"),
        ("Started", "2026-11-25 09:30 UTC"),
        ("Duration", "31 minutes"),
    ]
    return PdfTranscript("Onboarding study, wave 2", fields, messages)


def baseline(doc: PdfTranscript) -> bytes:
    """The same layout in bare fpdf2: the core Helvetica font (Latin-1 only, so other
    scripts become '?'), multi_cell for every text, no fallback fonts, no shaping."""

    def latin1(text: str) -> str:
        return text.encode("latin-1", "replace").decode("latin-1")

    class Pdf(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("helvetica", "", 8)
            self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="C")

    pdf = Pdf(format="A4", unit="mm")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 18)
    pdf.multi_cell(0, 8.5, latin1(doc.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for label, value in doc.fields:
        pdf.set_font("helvetica", "B", 9)
        pdf.cell(42, 5, latin1(label))
        pdf.set_font("helvetica", "", 10)
        pdf.multi_cell(0, 5, latin1(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for message in doc.messages:
        pdf.set_font("helvetica", "B", 9)
        stamp = message.at.strftime("%Y-%m-%d %H:%M:%S UTC")
        pdf.cell(0, 5, latin1(f"{message.role.capitalize()} - {stamp}"), new_x=XPos.LMARGIN)
        pdf.ln(5)
        pdf.set_font("helvetica", "", 10.5)
        pdf.multi_cell(0, 5, latin1(message.text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(3.5)
    return bytes(pdf.output())


def _pages(data: bytes) -> int:
    return data.count(b"/Type /Page\n") or data.count(b"/Type /Page ")


def measure(
    render: Callable[[PdfTranscript], bytes], doc: PdfTranscript, seconds: float
) -> dict[str, float]:
    render(doc)  # fonts load on the first call; that is not what is measured
    pages = renders = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while time.perf_counter() - wall0 < seconds:
        pages += _pages(render(doc))
        renders += 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"pages": pages / renders, "ms": 1000 * wall / renders, "per_core": pages / cpu}


def _peak_rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]


def probe(renderer: str, kind: str, turns: int) -> None:
    """Renders the transcript 20 times in this fresh process; prints its peak RSS."""
    render = render_transcript if renderer == "Rapport" else baseline
    doc = transcript(kind, turns)
    for _ in range(20):
        render(doc)
    print(f"{_peak_rss_mb():.0f}")


def _probe_in_child(renderer: str, kind: str, turns: int) -> float:
    command = [sys.executable, "-m", "bench.pdf", "--probe", renderer, kind, "--turns", str(turns)]
    result = subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)
    return float(result.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--turns", type=int, default=24, help="question/answer pairs")
    parser.add_argument("--probe", nargs=2, metavar=("RENDERER", "KIND"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        probe(*args.probe, args.turns)
        return
    t0 = time.perf_counter()
    render_transcript(transcript("latin", 1))
    print(f"first render of the process (finds the fonts): {time.perf_counter() - t0:.2f} s")
    print(f"{'transcript':<10} {'renderer':<9} {'pages':>5} {'ms/PDF':>8} {'pages/s/core':>13}")
    for kind in ("latin", "mixed"):
        doc = transcript(kind, args.turns)
        ours = measure(render_transcript, doc, args.seconds)
        base = measure(baseline, doc, args.seconds)
        for name, row in (("Rapport", ours), ("baseline", base)):
            pages, ms, per_core = row["pages"], row["ms"], row["per_core"]
            print(f"{kind:<10} {name:<9} {pages:>5.0f} {ms:>8.1f} {per_core:>13.1f}")
        ratio = ours["per_core"] / base["per_core"]
        print(f"{kind:<10} {'ratio':<9} {'':>5} {'':>8} {ratio:>12.2f}x  (Rapport / baseline)")
    print("Rapport alone, answers in one group of scripts (what each costs):")
    for kind in ("rtl", "cjk", "emoji"):
        row = measure(render_transcript, transcript(kind, args.turns), args.seconds)
        pages, ms, per_core = row["pages"], row["ms"], row["per_core"]
        print(f"{kind:<10} {'Rapport':<9} {pages:>5.0f} {ms:>8.1f} {per_core:>13.1f}")
    print("peak RSS of a fresh process rendering the transcript 20 times:")
    for kind in ("latin", "mixed"):
        ours_mb = _probe_in_child("Rapport", kind, args.turns)
        base_mb = _probe_in_child("baseline", kind, args.turns)
        print(f"  {kind:<8} Rapport {ours_mb:.0f} MB, baseline {base_mb:.0f} MB")
    latin = measure(render_transcript, transcript("latin", args.turns), args.seconds)
    verdict = "met" if latin["per_core"] >= 100 else "NOT MET"
    print(
        f"target >= 100 pages/s per core, realistic (Latin) transcript: "
        f"{latin['per_core']:.0f}, {verdict}"
    )


if __name__ == "__main__":
    main()
