"""Which visitors the split tests leave out of the counts: bots by their User-Agent, from the
maintained crawler-user-agents list plus words of kind; headless browsers are counted."""

from __future__ import annotations

import pytest
from flask import Flask

from dynamic.split_tests.assignment import is_bot

BOTS = [
    "",  # no agent at all
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/109.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Python/3.12 aiohttp/3.10.5",  # named by the list only
    "Go-http-client/2.0",
    "Java/17.0.2",  # not in the list: a word kept here
    "Mozilla/5.0 (compatible; NewFooBot/1.0)",  # not in the list yet: a word of kind
]
PEOPLE = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/485.0.0.40.105;FBDV/iPhone15,2;FBSN/iOS;FBLC/en_US]",
    # Headless browsers: real people use them through tools (the list calls them automation).
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) " + "x" * 8000 + " Googlebot/2.1",  # checked up to 512
]


def bot(agent: str) -> bool:
    with Flask(__name__).test_request_context(headers={"User-Agent": agent}):
        return is_bot()


@pytest.mark.parametrize("agent", BOTS)
def test_bots_are_left_out_of_the_counts(agent: str) -> None:
    assert bot(agent)


@pytest.mark.parametrize("agent", PEOPLE)
def test_browsers_are_counted(agent: str) -> None:
    assert not bot(agent)
    assert not bot(agent)  # and the same from the cache
