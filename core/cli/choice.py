"""click's ``Choice`` that names the nearest value of a misspelt one.

Every other refusal of a name in pazar says "did you mean …?" (flows, channels, statuses,
import columns); a choice option saying only "is not one of" left the operator to compare
seven names by eye (``pazar catalog import stock``).
"""

from __future__ import annotations

from typing import Any

import click

from pazar.suggest import did_you_mean


class Choice(click.Choice):
    """A choice whose refusal ends with the nearest choice, when one is close."""

    def get_invalid_choice_message(self, value: Any, ctx: click.Context | None) -> str:
        message = super().get_invalid_choice_message(value, ctx)
        hint = did_you_mean(str(value), [str(choice) for choice in self.choices])
        return message.rstrip(".") + hint if hint else message
