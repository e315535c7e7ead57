"""Intent matching on the shipped content/intents.yaml: what triggers, what must not."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

from content.intents import INTENTS_FILE, IntentRules, load_intents
from content.localized import Lang
from content.source import ContentError
from dialogs import intents as intents_module
from dialogs.intents import (
    IntentMatch,
    compile_rules,
    detect,
    guess_language,
    normalise,
    split_phrase,
    yes_no,
)


@pytest.fixture(scope="module")
def rules() -> IntentRules:
    return load_intents(INTENTS_FILE)


BACK_PAIN: list[tuple[str, Lang]] = [
    ("my back hurts", "en"),
    ("back pain", "en"),
    ("lower back is killing me after deadlifts", "en"),
    ("My lower back hurts after squats", "en"),
    ("I have had back pain since yesterday", "en"),
    ("I hurt my back deadlifting", "en"),
    ("pain in my lower back", "en"),
    ("my back is sore after rows", "en"),
    ("I think I tweaked my back", "en"),
    ("MY BACK HURTS!!!", "en"),
    ("mY bAcK hUrTs 😭", "en"),
    ("back's killing me", "en"),
    ("Backache after the gym", "en"),
    ("ugh, my lower back... it's aching", "en"),
    ("got a bad back since deadlifts", "en"),
    ("my back has been hurting all week", "en"),
    ("sharp pain in the lower back", "en"),
    ("Back is so sore today", "en"),
    ("No, my back hurts", "en"),
    ("I have no idea why, but my back hurts", "en"),
    ("my back and neck hurt", "en"),
    ("Rückenschmerzen", "de"),
    ("mein Rücken tut weh nach dem Kreuzheben", "de"),
    ("Kreuzschmerzen", "de"),
    ("Hexenschuss!", "de"),
    ("es zieht im unteren Rücken", "de"),
    ("hab Rücken", "de"),
    ("Ruecken tut weh", "de"),
    ("RÜCKENSCHMERZEN seit gestern", "de"),
    ("rueckenschmerzen!!!", "de"),
    ("ruckenschmerzen", "de"),
    ("mir tut der rücken so weh", "de"),
    ("Ich habe starke Schmerzen im Rücken", "de"),
    ("Rücken-Schmerzen nach dem Training", "de"),
    ("mein unterer Rücken ist total verspannt", "de"),
    ("ich hab mich beim Kreuzheben verhoben", "de"),
    ("Mein Kreuz tut weh", "de"),
    ("Schmerzen in der Lendenwirbelsäule", "de"),
    ("Ischias zwickt wieder", "de"),
    ("Mein Rücken tut aber echt weh", "de"),
    ("Nein, mein Rücken tut weh", "de"),
    ("Rücken tut sooo weh 😫😫", "de"),
]

# What these give instead of back_pain: nothing, or a plain "no" answer.
NOT_BACK_PAIN: list[tuple[str, str | None]] = [
    ("back to training", None),
    ("I'll be back", None),
    ("I'm back, what's next?", None),
    ("my knee hurts", None),
    ("my back is fine", None),
    ("no back pain anymore", "no"),
    ("my back doesn't hurt", None),
    ("my back doesn’t hurt anymore", None),
    ("I don't have any back pain", None),
    ("my knee hurts but my back is fine", None),
    ("the back of my knee hurts", None),
    ("back squats hurt my knees", None),
    ("my back squat went up 10 kg", None),
    ("back day today!", None),
    ("feedback please", None),
    ("hello", None),
    ("what's the weather", None),
    ("mein Rücken tut nicht weh", None),
    ("Mir tut der Rücken nicht mehr weh", None),
    ("keine Rückenschmerzen mehr", None),
    ("Ich habe keine Schmerzen im Rücken", None),
    ("Rückenübungen für Anfänger?", None),
    ("Ich habe heute Rücken trainiert", None),
    ("Rückentraining heute", None),
    ("ich komme zurück", None),
    ("Welche Übungen stärken den Rücken?", None),
]

EMERGENCY: list[tuple[str, Lang]] = [
    ("I have numbness in my groin", "en"),
    ("my saddle area is numb", "en"),
    ("can't feel anything around my genitals", "en"),
    ("numb around my back passage", "en"),
    ("I can't pee since this morning", "en"),
    ("I wet myself without noticing", "en"),
    ("I've lost control of my bladder", "en"),
    ("I can't control my bowels", "en"),
    ("both legs are getting weaker", "en"),
    ("numbness in both legs, getting worse", "en"),
    ("sudden incontinence and back pain", "en"),
    ("my back hurts and my bum is numb", "en"),  # emergency beats back_pain
    ("taub im Schritt", "de"),
    ("Ich bin im Schritt ganz taub", "de"),
    ("Gefühl wie in einer Reithose, alles taub", "de"),
    ("kann nicht mehr pinkeln", "de"),
    ("Ich kann den Stuhl nicht halten", "de"),
    ("Probleme mit der Blase seit gestern", "de"),
    ("beide Beine taub", "de"),
    ("beide Beine werden immer schwächer", "de"),
    ("Ich habe mich eingenässt", "de"),
    ("Kribbeln im Intimbereich", "de"),
    ("Taubheitsgefühl am After", "de"),
    ("Ich spüre nichts mehr im Schritt", "de"),
    ("Rückenschmerzen und ich kann nicht mehr pinkeln", "de"),
]

NOT_EMERGENCY: list[tuple[str, str | None]] = [
    ("my left leg is numb", None),
    ("my legs are sore after squats", None),
    ("my legs feel weak after leg day", None),
    ("my hands are numb after deadlifts", None),
    ("I need to pee after training", None),
    ("I can't sleep because my back hurts", "back_pain"),
    ("Meine Beine sind schwer nach dem Beintag", None),
    ("mein linkes Bein kribbelt", None),
    ("Ich muss mal aufs Klo", None),
    ("Ich kann nicht lange sitzen", None),
    ("Schritt für Schritt wieder ins Training", None),
    ("Mein Rücken tut weh, ich kann nicht schlafen", "back_pain"),
]


@pytest.mark.parametrize(("text", "lang"), BACK_PAIN)
def test_back_pain_triggers(rules: IntentRules, text: str, lang: Lang) -> None:
    assert detect(text, rules) == IntentMatch("back_pain", lang)


@pytest.mark.parametrize(("text", "expected"), NOT_BACK_PAIN)
def test_back_pain_does_not_trigger(rules: IntentRules, text: str, expected: str | None) -> None:
    match = detect(text, rules)
    assert (match.intent if match else None) == expected


@pytest.mark.parametrize(("text", "lang"), EMERGENCY)
def test_emergency_triggers(rules: IntentRules, text: str, lang: Lang) -> None:
    assert detect(text, rules) == IntentMatch("emergency", lang)


@pytest.mark.parametrize(("text", "expected"), NOT_EMERGENCY)
def test_emergency_does_not_trigger(rules: IntentRules, text: str, expected: str | None) -> None:
    match = detect(text, rules)
    assert (match.intent if match else None) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *[(word, True) for word in ("yes", "Y", "yeah", "yep", "sure", "Yes please!", "of course")],
        *[(word, True) for word in ("ja", "Jo", "jep", "klar", "na klar", "Genau.", "ja gerne")],
        *[(word, False) for word in ("no", "N", "nope", "nah", "No thanks", "not really")],
        *[(word, False) for word in ("nein", "ne", "nö", "Nee!", "noe", "eher nicht")],
        ("yes and no", None),
        ("not sure", None),
        ("ja, nein, vielleicht", None),
        ("maybe", None),
        ("", None),
        ("👍", None),
        ("no idea what you mean but that is a long message", None),
    ],
)
def test_yes_no(rules: IntentRules, text: str, expected: bool | None) -> None:
    assert yes_no(text, rules) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", IntentMatch("yes", "en")),
        ("nein danke", IntentMatch("no", "de")),
        ("ok", IntentMatch("yes", None)),  # in both lists, and nothing else to go by
        ("ok danke", IntentMatch("yes", "de")),
        ("ok thanks", IntentMatch("yes", "en")),
    ],
)
def test_answer_language(rules: IntentRules, text: str, expected: IntentMatch) -> None:
    assert detect(text, rules) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hallo, wie geht es dir?", "de"),
        ("ich komme zurück", "de"),
        ("Rückenübungen für Anfänger?", "de"),
        ("what's the weather like", "en"),
        ("hello, I am new here", "en"),
        ("🏋️💪", None),
        ("Kreuzheben deadlifts", None),
    ],
)
def test_guess_language(rules: IntentRules, text: str, expected: Lang | None) -> None:
    assert guess_language(text, rules) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rücken", "ruecken"),
        ("RUECKEN", "ruecken"),
        ("Ru\u0308cken", "ruecken"),  # u + combining diaeresis
        ("Größe STRAẞE", "groesse strasse"),
        ("  my   BACK!!!\thurts…  ", "my back hurts"),
        ("don't", "dont"),
        ("back's killing me", "back killing me"),
        ("Rücken-Schmerzen", "ruecken schmerzen"),
        ("😭😭 ouch 🏋️‍♀️", "ouch"),
        ("ｂａｃｋ", "back"),  # full-width letters, NFKC
        ("snake_case", "snake case"),
        ("🙂" * 3, ""),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_split_phrase() -> None:
    assert [(w.text, w.prefix) for w in split_phrase("Rücken-schmerz*")] == [
        ("ruecken", False),
        ("schmerz", True),
    ]
    for bad in ("", "!!!", "*", "sch*merz", "🙂 *"):
        with pytest.raises(ValueError):
            split_phrase(bad)


def test_long_and_emoji_input_is_fast(rules: IntentRules) -> None:
    compile_rules(rules)
    texts = [
        "my back doesn't hurt " * 500,
        "back " * 2000,
        "no back pain, " * 700,
        "😀" * 10_000,
        "x" * 10_000,
    ]
    for text in texts:
        started = time.perf_counter()
        detect(text, rules)
        yes_no(text, rules)
        guess_language(text, rules)
        assert time.perf_counter() - started < 0.5, text[:30]
    assert detect("😀" * 10_000, rules) is None
    assert detect("my back hurts " + "x" * 10_000, rules) == IntentMatch("back_pain", "en")


def test_rules_are_compiled_once(rules: IntentRules) -> None:
    assert compile_rules(rules) is compile_rules(rules)


def test_matcher_core_stays_pure() -> None:
    tree = ast.parse(Path(intents_module.__file__).read_text(encoding="utf-8"))
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        )
    }
    assert not imported & {"yaml", "asyncio", "sqlalchemy", "telegram"}


# -- loading ---------------------------------------------------------------------------

_VALID = """\
language_hints:
  de: [ich]
  en: [i]
negation:
  window: 3
  de: [nicht]
  en: [not]
breaks:
  de: [aber]
  en: [but]
intents:
  emergency:
    de: {phrases: [taub im schritt]}
    en: {phrases: [numb groin]}
  back_pain:
    negatable: true
    de:
      phrases: [rückenschmerz*]
    en:
      phrases: [back pain]
  "yes":
    de: {phrases: [ja]}
    en: {phrases: ["yes"]}
  "no":
    de: {phrases: [nein]}
    en: {phrases: ["no"]}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "intents.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_file_loads_and_matches(tmp_path: Path) -> None:
    rules = load_intents(_write(tmp_path, _VALID))
    assert detect("Rückenschmerzen", rules) == IntentMatch("back_pain", "de")
    assert detect("nicht rückenschmerzen", rules) is None


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("      phrases: [rückenschmerz*]", "      phrases: []", 18, "at least 1 item"),
        ("      phrases: [rückenschmerz*]", "      phrases: ['!!!']", 18, "no words left"),
        ("      phrases: [rückenschmerz*]", "      phrases: [rü*cken]", 18, "may only end"),
        ("  back_pain:", "  backpain:", 15, "Extra inputs are not permitted"),
        ('    en: {phrases: ["yes"]}', "    en: {phrases: [yes]}", 23, "valid string"),
        ("  en: [i]", "  en: [ich]", 1, "words in both languages"),
        ("  de: [nicht]", "  de: [nicht mehr]", 6, "single word"),
        ("    de: {phrases: [nein]}", "    de: {}", 25, "needs 'phrases' or 'near'"),
    ],
)
def test_broken_file_names_file_and_line(
    tmp_path: Path, old: str, new: str, line: int, message: str
) -> None:
    assert old in _VALID
    path = _write(tmp_path, _VALID.replace(old, new))
    with pytest.raises(ContentError) as error:
        load_intents(path)
    assert f"{path}:{line}:" in str(error.value)
    assert message in str(error.value)


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, _VALID.replace("  window: 3", "  window: [3"))
    with pytest.raises(ContentError, match=rf"{path}:\d+: invalid YAML"):
        load_intents(path)
