"""Without a browser, the browser tests skip, except with ``CI=true``, where they fail: CI must
never pass by skipping them."""

from __future__ import annotations

import pytest

from .browser import unavailable


def test_without_a_browser_ci_fails_and_a_laptop_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true: the browser tests must run"):
        unavailable("Chromium is missing at /nowhere")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="Chromium is missing"):
        unavailable("Chromium is missing at /nowhere")
