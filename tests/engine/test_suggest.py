"""Did-you-mean folds case and Turkish letters, so an operator without a Turkish
keyboard is pointed at the value as the marketplace spells it."""

from __future__ import annotations

from pazar.suggest import did_you_mean, nearest


def test_turkish_letters_typed_without_a_turkish_keyboard_find_their_value() -> None:
    values = ["Kırmızı", "Mavi", "Yeşil", "Siyah"]
    assert did_you_mean("Kirmizi", values) == "; did you mean 'Kırmızı'?"
    assert nearest("yesil", values) == "Yeşil"
    assert nearest("ISTANBUL", ["İstanbul", "Ankara"]) == "İstanbul"
    assert nearest("kadikoy", ["KADIKÖY", "ÜSKÜDAR"]) == "KADIKÖY"


def test_a_near_miss_still_gets_a_suggestion_and_nonsense_gets_none() -> None:
    assert nearest("Kirmzi", ["Kırmızı", "Mavi"]) == "Kırmızı"
    assert did_you_mean("zzz", ["Kırmızı", "Mavi"]) == ""
